"""A run's budget holds across worker processes: every call in flight holds the most it can cost
in the database, so workers that do not share memory cannot together spend past the budget."""

import asyncio
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from generation import services
from generation.models import BudgetHold, LlmCall, Row, Run
from generation.worker.budget_holds import holds_live_total
from generation.worker.chunk_filler import fill_chunk
from generation.worker.chunk_store import ChunkStore
from generation.worker.db_thread import DbThread
from generation.worker.row_writes import ChunkWrites, chunk_writes_apply, run_finish_if_done
from studio.services import schema_create
from tests.fixtures import qa_spec

pytestmark = pytest.mark.django_db(transaction=True)


def _fill_in_threads(run, ranges):
    """Each range filled on a thread with an event loop of its own: nothing in memory is shared
    between them, as between two worker processes (each has its own database connection)."""
    errors = []

    def fill(start, end):
        try:
            asyncio.run(fill_chunk(run.pk, start, end))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=fill, args=r) for r in ranges]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors


def test_two_workers_filling_one_run_stop_together_at_its_budget(
    project, owner, openai_credential, llm_server, settings
):
    settings.STUDIO_ROW_CONCURRENCY = 30
    llm_server.latency = 0.3  # every row's call is out before any is answered
    spec = qa_spec(openai_credential.pk)
    # A short max_tokens: an answer costs most of what a call may cost at worst (here about
    # $0.000006 of at most $0.000007), so the budget covers about 14 calls; each worker alone
    # could send 30.
    spec["columns"][1]["max_tokens"] = 8
    schema = schema_create(project=project, user=owner, name="QA", data=spec)
    budget = Decimal("0.0001")
    run = services.run_create(
        schema=schema, user=owner, num_rows=60, budget_usd=budget, fresh_samples=True
    )
    _fill_in_threads(run, [(0, 30), (30, 60)])

    run.refresh_from_db()
    assert run.status == Run.Status.BUDGET_REACHED
    assert 0 < run.spent_usd <= budget
    assert run.spent_usd == sum(c.cost_usd for c in LlmCall.objects.filter(run=run))
    done = run.rows.filter(status=Row.Status.GENERATED).count()
    assert done >= 10  # the budget was used, not refused up front
    assert run.rows.filter(status=Row.Status.FAILED).count() == 0
    assert len(llm_server.generation_requests()) == done  # no call was paid and thrown away
    assert not BudgetHold.objects.filter(run=run).exists()  # every hold settled


def _hold(run, amount, *, seconds):
    return BudgetHold.objects.create(
        run=run, amount_usd=Decimal(amount), expires_at=timezone.now() + timedelta(seconds=seconds)
    )


def test_holds_are_granted_in_order_while_spend_and_every_workers_holds_fit(qa_schema, owner):
    run = services.run_create(schema=qa_schema, user=owner, num_rows=1, budget_usd=Decimal("1"))
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING, spent_usd=Decimal("0.2"))
    _hold(run, "0.3", seconds=60)  # another worker's call in flight
    _hold(run, "0.5", seconds=-1)  # a dead worker's, expired: no longer counted

    def ask(amounts, **writes):
        done = chunk_writes_apply(
            run_id=run.pk,
            project_id=run.project_id,
            writes=ChunkWrites(holds=[Decimal(a) for a in amounts], **writes),
        )
        return done.held

    first, second, third = ask(["0.25", "0.25", "0.1"])
    assert first.granted and second.granted and not third.granted and third.running
    assert BudgetHold.objects.get(pk=first.hold_id).amount_usd == Decimal("0.25")

    # The first call is answered for 0.05: its cost is spent and its hold gone in one flush,
    # so 0.2 is left for the next (0.25 + 0.3 still held).
    (row,) = run.rows.all()
    record = {
        "project_id": run.project_id,
        "key": "k" * 64,
        "run_id": run.pk,
        "provider": "openai_compatible",
        "model": "m",
        "request": {},
        "response_text": "a",
        "cost_usd": Decimal("0.05"),
        "row_index": row.index,
    }
    (too_much,) = ask(["0.2000001"], records=[record], settled=[first.hold_id])
    assert not too_much.granted
    run.refresh_from_db()
    assert run.spent_usd == Decimal("0.25")
    assert not BudgetHold.objects.filter(pk=first.hold_id).exists()
    (fits,) = ask(["0.2"])
    assert fits.granted

    Run.objects.filter(pk=run.pk).update(status=Run.Status.PAUSED)
    (paused,) = ask(["0.01"])
    assert not paused.running and not paused.granted


def test_a_run_without_a_budget_holds_nothing_and_a_finished_run_drops_stale_holds(
    qa_schema, owner
):
    run = services.run_create(schema=qa_schema, user=owner, num_rows=1)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    (answer,) = chunk_writes_apply(
        run_id=run.pk, project_id=run.project_id, writes=ChunkWrites(holds=[Decimal("5")])
    ).held
    assert answer.granted and answer.hold_id is None
    assert not BudgetHold.objects.exists()

    _hold(run, "0.3", seconds=600)  # left by a worker killed mid-call
    run.rows.update(status=Row.Status.GENERATED)
    assert run_finish_if_done(run_id=run.pk)
    assert not BudgetHold.objects.exists()


def test_a_call_that_fails_gives_its_hold_back(
    project, owner, openai_credential, llm_server, settings
):
    settings.STUDIO_ROW_CONCURRENCY = 1  # one call at a time: the failures come first
    llm_server.fail_next(3, status=400)  # a bad request: failed at once, never paid
    spec = qa_spec(openai_credential.pk)
    spec["columns"][1]["max_tokens"] = 8
    schema = schema_create(project=project, user=owner, name="QA", data=spec)
    run = services.run_create(
        schema=schema, user=owner, num_rows=30, budget_usd=Decimal("0.0001"), fresh_samples=True
    )
    _fill_in_threads(run, [(0, 30)])

    run.refresh_from_db()
    assert run.status == Run.Status.BUDGET_REACHED  # not finished: its holds are not cleared
    assert run.rows.filter(status=Row.Status.FAILED).count() == 3
    assert not BudgetHold.objects.exists()
    # What the failed calls held went back to the budget: it paid for as many answers as the
    # budget holds (each at most $0.000007, so at least 14), failures or not.
    assert run.rows.filter(status=Row.Status.GENERATED).count() >= 14


def test_an_embedded_restart_drops_the_holds_its_dead_process_left(qa_schema, owner):
    run = services.run_create(schema=qa_schema, user=owner, num_rows=1, budget_usd=Decimal("1"))
    Run.objects.filter(pk=run.pk).update(status=Run.Status.PAUSED)
    _hold(run, "0.3", seconds=600)  # a call in flight when the process was killed

    services.run_resume_unfinished()  # services mode: other workers may have calls in flight
    assert BudgetHold.objects.count() == 1
    services.run_resume_unfinished(only_worker=True)  # embedded mode: the only worker restarts
    assert not BudgetHold.objects.exists()


def test_a_slow_call_keeps_its_hold_past_one_lease_and_a_stopped_chunk_lets_its_holds_lapse(
    project, owner, openai_credential, llm_server, settings
):
    settings.STUDIO_BUDGET_HOLD_SECONDS = 0.6  # renewed every 0.2 s
    llm_server.latency = 1.5  # the call is out for more than two leases
    schema = schema_create(
        project=project, user=owner, name="QA", data=qa_spec(openai_credential.pk)
    )
    run = services.run_create(
        schema=schema, user=owner, num_rows=1, budget_usd=Decimal("1"), fresh_samples=True
    )
    worker = threading.Thread(target=_fill_in_threads, args=(run, [(0, 1)]))
    worker.start()
    try:
        deadline = timezone.now() + timedelta(seconds=5)
        while not BudgetHold.objects.filter(run=run).exists() and timezone.now() < deadline:
            threading.Event().wait(0.02)
        taken = BudgetHold.objects.get(run=run)
        threading.Event().wait(1.1)  # the first lease ran out 0.5 s ago; the call is still out
        assert worker.is_alive()
        assert holds_live_total(run.pk) == taken.amount_usd
        assert BudgetHold.objects.get(pk=taken.pk).expires_at > taken.expires_at
    finally:
        worker.join(30)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert not BudgetHold.objects.exists()

    # A chunk that stops with a call out (cancelled, or its process dying) renews nothing more.
    other = services.run_create(
        schema=schema, user=owner, num_rows=1, budget_usd=Decimal("1"), fresh_samples=True
    )

    async def hold_then_stop():
        # On a worker the loop and the chunk's database connections outlive the chunk.
        db = DbThread()
        store = ChunkStore(db, other.pk, project_id=other.project_id)

        def expiry(hold_id):
            return BudgetHold.objects.get(pk=hold_id).expires_at

        try:
            answer = await store.hold(Decimal("0.01"))
            await asyncio.sleep(0.45)  # renewed twice
            renewed = await db.run(expiry, answer.hold_id)
            await store.aclose()
            await asyncio.sleep(0.45)
            return await db.run(expiry, answer.hold_id), renewed, answer.hold_id
        finally:
            db.close()

    after, renewed, hold_id = asyncio.run(hold_then_stop())
    assert after == renewed
    threading.Event().wait(0.3)  # a lease after the last renewal
    assert holds_live_total(other.pk) == 0
