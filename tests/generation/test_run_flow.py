"""Runs end to end in services mode: Dramatiq on Redis, PostgreSQL, the real openai SDK against
the local fake provider."""

import time

import pytest

from generation import services
from generation.models import LlmCall, Row, Run
from generation.selectors import run_counters, run_error_summary
from studio.models import ProviderCredential
from studio.services import credential_create, credential_update, schema_create
from tests.fixtures import drain, qa_spec

pytestmark = pytest.mark.django_db(transaction=True)


def start(schema, owner, rows, **kwargs):
    return services.run_create(schema=schema, user=owner, num_rows=rows, **kwargs)


def test_every_row_is_generated_once_with_its_own_prompt(worker, qa_schema, owner, llm_server):
    run = start(qa_schema, owner, 30)
    drain(worker)
    run.refresh_from_db()
    rows = list(run.rows.all())
    assert run.status == Run.Status.FINISHED
    assert [row.status for row in rows] == [Row.Status.GENERATED] * 30
    for row in rows:
        assert row.values["topic"] in row.values["question"]
        assert row.prompts["question"] == f"Write a question about {row.values['topic']}"
    assert len(llm_server.generation_requests()) == 30
    assert LlmCall.objects.filter(run=run).count() == 30
    counters = run_counters(run=run)
    assert (counters.generated, counters.pending, counters.failed) == (30, 0, 0)
    assert counters.cost_usd > 0  # gpt-4o-mini has a price in the table


def test_a_wrong_key_fails_the_rows_with_the_providers_message_and_retry_works_after_fixing_it(
    worker, project, owner, llm_server
):
    llm_server.valid_keys = {"sk-right-key-9999"}
    credential = credential_create(
        project=project,
        name="bad",
        provider=ProviderCredential.Provider.OPENAI_COMPATIBLE,
        base_url=llm_server.openai_base_url,
        api_key="sk-wrong-key-0000",
    )
    schema = schema_create(project=project, user=owner, name="QA", data=qa_spec(credential.pk))
    run = start(schema, owner, 3)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.rows.filter(status=Row.Status.FAILED).count() == 3
    [(message, count)] = run_error_summary(run=run)
    assert "Incorrect API key provided" in message and count == 3
    assert len(llm_server.generation_requests()) == 3  # 401 is not retried
    assert not LlmCall.objects.exists()  # failed calls are not in the ledger

    credential_update(credential=credential, api_key="sk-right-key-9999")
    assert services.run_retry_failed(run=run) == 3
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 3
    assert all(not row.errors for row in run.rows.all())


def test_transient_server_errors_are_retried_and_the_row_succeeds(
    worker, qa_schema, owner, llm_server, settings
):
    llm_server.fail_next(2, status=500)
    run = start(qa_schema, owner, 2)
    drain(worker)
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 2
    assert len(llm_server.generation_requests()) == 4


def test_a_finished_call_is_never_paid_for_twice(worker, qa_schema, owner, llm_server):
    run = start(qa_schema, owner, 10)
    drain(worker)
    before = len(llm_server.generation_requests())
    original = dict(run.rows.values_list("index", "values"))
    # As if a worker died after its calls finished but before the rows were written.
    run.rows.update(status=Row.Status.FAILED)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FAILED)
    services.run_retry_failed(run=run)
    drain(worker)
    assert len(llm_server.generation_requests()) == before
    assert dict(run.rows.values_list("index", "values")) == original
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 10


def test_two_rows_with_the_same_prompt_are_two_samples(
    worker, project, owner, openai_credential, llm_server
):
    spec = qa_spec(openai_credential.pk)
    spec["columns"][0]["values"] = ["space"]
    schema = schema_create(project=project, user=owner, name="one topic", data=spec)
    start(schema, owner, 3)
    drain(worker)
    assert len(llm_server.generation_requests()) == 3
    assert LlmCall.objects.count() == 3


def test_cancel_stops_a_run_between_rows(worker, qa_schema, owner, llm_server, settings):
    llm_server.latency = 0.2
    run = start(qa_schema, owner, 200)
    deadline = time.monotonic() + 10
    while not run.rows.filter(status=Row.Status.GENERATED).exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    services.run_cancel(run=run)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    assert run.rows.filter(status=Row.Status.PENDING).count() > 0


def test_pause_then_resume_finishes_the_run(worker, qa_schema, owner, llm_server):
    llm_server.latency = 0.05
    run = start(qa_schema, owner, 60)
    services.run_pause(run=run)
    drain(worker)
    paused_done = run.rows.exclude(status=Row.Status.PENDING).count()
    assert paused_done < 60
    services.run_resume(run=run)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 60


def test_run_keeps_its_schema_snapshot_when_the_schema_changes(worker, qa_schema, owner):
    from studio.services import schema_update

    run = start(qa_schema, owner, 1)
    spec = dict(qa_schema.spec)
    spec["columns"] = [dict(c) for c in spec["columns"]]
    spec["columns"][1]["prompt"] = "Something else about {{ topic }}"
    schema_update(schema=qa_schema, data=spec)
    drain(worker)
    run.refresh_from_db()
    assert run.spec_snapshot["columns"][1]["prompt"] == "Write a question about {{ topic }}"
    assert run.rows.get().prompts["question"].startswith("Write a question about")


def test_a_run_whose_messages_were_lost_is_resumed_at_start_up(
    qa_schema, owner, llm_server, transactional_db
):
    import dramatiq

    run = start(qa_schema, owner, 7)
    dramatiq.get_broker().flush_all()  # the worker died and took the messages with it
    assert run.rows.filter(status=Row.Status.PENDING).count() == 7

    broker = dramatiq.get_broker()
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        assert services.run_resume_unfinished() == 1
        drain(worker)
    finally:
        worker.stop()
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 7


def test_a_budget_stops_the_run_before_it_spends_more_and_raising_it_resumes(
    worker, qa_schema, owner, llm_server
):
    from decimal import Decimal

    budget = Decimal("0.0008")
    run = start(qa_schema, owner, 150, budget_usd=budget)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.BUDGET_REACHED
    assert 0 < run.spent_usd <= budget
    done = run.rows.filter(status=Row.Status.GENERATED).count()
    assert 0 < done < 150
    assert run.rows.filter(status=Row.Status.FAILED).count() == 0  # stopped, not failed
    assert run.spent_usd == sum(c.cost_usd for c in LlmCall.objects.filter(run=run))

    with pytest.raises(services.RunError, match="raise the budget to go on"):
        services.run_resume(run=run)
    services.run_set_budget(run=run, budget_usd=Decimal("1"))
    assert run.status == Run.Status.RUNNING
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 150
    assert len(llm_server.generation_requests()) == 150  # nothing asked twice


def test_fresh_samples_ask_again_where_a_rerun_would_reuse_answers(
    worker, qa_schema, owner, llm_server
):
    first = start(qa_schema, owner, 4, seed=7)
    drain(worker)
    start(qa_schema, owner, 4, seed=7)  # same seed: the same calls, answered by the ledger
    drain(worker)
    assert len(llm_server.generation_requests()) == 4
    start(qa_schema, owner, 4, seed=7, fresh_samples=True)
    drain(worker)
    assert len(llm_server.generation_requests()) == 8
    assert first.rows.filter(status=Row.Status.GENERATED).count() == 4


def test_every_call_slot_of_a_worker_comes_back_after_retried_and_failed_calls(
    worker, qa_schema, owner, llm_server, settings
):
    from generation.worker import loop as worker_loop

    settings.STUDIO_ROW_CONCURRENCY = 2  # × 2 worker threads: 4 calls in flight per process
    settings.STUDIO_CHUNK_SIZE = 5
    # A slot is given back when its answer arrives and again (as a no-op) when the call ends,
    # fails or is retried: answers that are errors, unreadable or refused each take that path.
    llm_server.fail_next(3, status=503, headers={"retry-after": "0"})
    llm_server.broken_json_next(2)
    llm_server.fail_next(1, status=400, message="Bad request: this row fails")
    run = start(qa_schema, owner, 12)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED  # ended, with one failed row to retry
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 11
    assert run.rows.filter(status=Row.Status.FAILED).count() == 1
    # Every place is free again, none twice: a slot given back twice would let more calls out.
    assert worker_loop._shared.slots.available() == (4, 8)
    assert llm_server.max_in_flight <= 4


def test_the_chunks_of_a_worker_share_its_calls_in_flight_and_its_clients(
    worker, qa_schema, owner, llm_server, settings
):
    from generation.worker import loop as worker_loop

    settings.STUDIO_ROW_CONCURRENCY = 3  # × 2 worker threads: 6 calls in flight per process
    settings.STUDIO_CHUNK_SIZE = 10
    llm_server.latency = 0.05
    run = start(qa_schema, owner, 60)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 60
    # Six chunks, one bound: never more than the process's slots at the provider, and the
    # slots were used (rows of a chunk wait ready while others' calls are out).
    assert 4 <= llm_server.max_in_flight <= 6
    # One client for the one credential, kept across the six chunks.
    assert len(worker_loop._shared.providers) == 1
