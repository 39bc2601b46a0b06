"""Services mode as deployed: separate `manage.py rundramatiq` processes take the run's messages
from Redis and write rows to PostgreSQL while this process only enqueues. Includes the crash
test: a worker killed with SIGKILL mid-run, and the run still finishing with every row once."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import dramatiq
import pytest
from django.conf import settings
from django.db import connection

from generation.models import BudgetHold, LlmCall, Row, Run
from generation.services import run_create

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]
# Calls one worker process has in flight at most: its threads × this.
ROW_CONCURRENCY = 4
WORKER_THREADS = 2


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    # The worker must write to the test database this process created.
    db = connection.settings_dict
    env["DATABASE_URL"] = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    env["STUDIO_ROW_CONCURRENCY"] = str(ROW_CONCURRENCY)
    env["STUDIO_CHUNK_SIZE"] = "10"
    # A killed worker's messages come back after 2 s instead of the production 15 s.
    env["STUDIO_WORKER_HEARTBEAT_MS"] = "2000"
    return env


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    # To Dramatiq's main process only, as `docker compose stop` does: it passes one SIGTERM to
    # its worker processes. Sent to the whole group, a worker gets a second one from its main
    # process while it still waits to begin its graceful stop, and exits its main thread
    # without stopping its own threads (Dramatiq's "Killing worker process..."), so it hangs
    # until killed.
    if process.poll() is None:
        os.kill(process.pid, sig)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def start_worker() -> Iterator[Callable[[], subprocess.Popen]]:
    dramatiq.get_broker().flush_all()
    started: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "rundramatiq",
                "--processes",
                "1",
                "--threads",
                str(WORKER_THREADS),
                "--skip-logging",
            ],
            cwd=ROOT,
            env=_worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the test can kill all of it
        )
        started.append(process)
        return process

    yield start
    for process in started:
        _stop(process)
    dramatiq.get_broker().flush_all()


def _wait_for(condition: Callable[[], bool], seconds: float, process=None) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if process is not None and process.poll() is not None:
            raise AssertionError(process.stdout.read().decode()[-3000:])
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_separate_worker_process_generates_the_run(start_worker, qa_schema, owner, llm_server):
    assert not settings.EMBEDDED
    worker = start_worker()
    run = run_create(schema=qa_schema, user=owner, num_rows=12)
    _wait_for(lambda: Run.objects.get(pk=run.pk).status == Run.Status.FINISHED, 90, worker)
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 12
    assert len(llm_server.generation_requests()) == 12


def test_a_worker_killed_mid_run_loses_nothing_and_no_finished_call_is_paid_twice(
    start_worker, qa_schema, owner, llm_server
):
    llm_server.latency = 0.15
    first = start_worker()
    run = run_create(schema=qa_schema, user=owner, num_rows=60)
    _wait_for(lambda: run.rows.filter(status=Row.Status.GENERATED).count() >= 10, 60, first)

    os.killpg(first.pid, signal.SIGKILL)  # kill -9: no cleanup, messages left unacknowledged
    first.wait()
    killed_at = run.rows.filter(status=Row.Status.GENERATED).count()
    assert killed_at < 60, "the run finished before the kill; make it slower"
    recorded_before = set(LlmCall.objects.filter(run=run).values_list("key", flat=True))

    second = start_worker()  # takes over the killed worker's messages once its heartbeat is old
    _wait_for(lambda: Run.objects.get(pk=run.pk).status == Run.Status.FINISHED, 120, second)

    rows = list(run.rows.all())
    assert len(rows) == 60 and all(row.status == Row.Status.GENERATED for row in rows)
    calls = LlmCall.objects.filter(run=run)
    assert calls.count() == 60  # one recorded call per row, none twice
    assert recorded_before <= set(calls.values_list("key", flat=True))
    answers = {call.row_index: call.response_text for call in calls}
    assert all(row.values["question"] == answers[row.index] for row in rows)
    # Provider requests: one per row, plus at most the calls paid for but not in the ledger at
    # the kill (the one case a call can be asked twice): in flight or answered and waiting for
    # their commit, at most twice the process's calls in flight (generation/worker/call_slots.py).
    calls_in_flight = WORKER_THREADS * ROW_CONCURRENCY
    assert 60 <= len(llm_server.generation_requests()) <= 60 + 2 * calls_in_flight


def test_a_budgeted_run_whose_worker_is_killed_finishes_within_its_budget(
    start_worker, qa_schema, owner, llm_server, monkeypatch
):
    # The killed worker's budget holds lapse after one lease (the shortest allowed here) while
    # the next worker holds and settles its own.
    monkeypatch.setenv("STUDIO_BUDGET_HOLD_SECONDS", "10")
    llm_server.latency = 0.15
    budget = Decimal("0.05")  # far more than 60 answers cost: only the holds could stop it
    first = start_worker()
    run = run_create(schema=qa_schema, user=owner, num_rows=60, budget_usd=budget)
    _wait_for(lambda: run.rows.filter(status=Row.Status.GENERATED).count() >= 10, 60, first)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert BudgetHold.objects.filter(run=run).exists(), "the kill left no call in flight"

    second = start_worker()
    _wait_for(lambda: Run.objects.get(pk=run.pk).status == Run.Status.FINISHED, 120, second)

    run.refresh_from_db()
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 60
    calls = LlmCall.objects.filter(run=run)
    assert calls.count() == 60
    assert 0 < run.spent_usd == sum(call.cost_usd for call in calls) <= budget
    assert not BudgetHold.objects.filter(run=run).exists()
