"""A run whose chunk messages the broker lost (a Redis restarted without persistence, a killed
worker's prefetched messages) is sent again by the workers' stalled-run sweeper, from the
database, once it has made no progress for STUDIO_STALLED_RUN_SECONDS; a run that moves, or
that is not running, is left alone; one sweep per stall, whichever worker makes it; and the
sweeper goes on after the database was restarted under it. Time is passed in, never waited."""

from datetime import timedelta

import dramatiq
import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from generation.models import Row, Run
from generation.services import run_create, run_pause
from generation.worker.stalled_runs import StalledRunSweeper, stalled_runs_sweep, sweep_once
from tests.fixtures import drain

pytestmark = pytest.mark.django_db(transaction=True)


def _stall() -> timedelta:
    return timedelta(seconds=settings.STUDIO_STALLED_RUN_SECONDS)


@pytest.fixture
def lost_run(qa_schema, owner):
    """A running run of 12 rows whose messages the broker lost before any worker took one."""
    broker = dramatiq.get_broker()
    broker.flush_all()
    run = run_create(schema=qa_schema, user=owner, num_rows=12)
    broker.flush_all()  # as a Redis restarted without persistence does
    yield run
    broker.flush_all()


def test_a_run_whose_messages_were_lost_is_sent_again_once_stalled_and_finishes(
    lost_run, llm_server
):
    broker = dramatiq.get_broker()
    started = Run.objects.get(pk=lost_run.pk).started_at
    assert stalled_runs_sweep(now=started + _stall() - timedelta(seconds=1)) == []
    assert broker.client.llen(f"{broker.namespace}:generation") == 0

    later = started + _stall() + timedelta(seconds=1)
    assert stalled_runs_sweep(now=later) == [lost_run.pk]
    # A second worker sweeping at the same moment finds it claimed: sent once, not twice.
    assert stalled_runs_sweep(now=later) == []
    assert broker.client.llen(f"{broker.namespace}:generation") == 1  # 12 rows: one chunk

    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        drain(worker)
    finally:
        worker.stop()
    run = Run.objects.get(pk=lost_run.pk)
    assert run.status == Run.Status.FINISHED
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 12
    assert len(llm_server.generation_requests()) == 12  # nothing asked twice


def test_the_sweep_counts_as_progress_so_the_next_waits_a_whole_threshold(lost_run):
    started = Run.objects.get(pk=lost_run.pk).started_at
    first = started + _stall() + timedelta(seconds=1)
    assert stalled_runs_sweep(now=first) == [lost_run.pk]
    # Its chunk was lost again (no worker here): swept again only a whole threshold later.
    assert stalled_runs_sweep(now=first + _stall() - timedelta(seconds=1)) == []
    assert stalled_runs_sweep(now=first + _stall() + timedelta(seconds=1)) == [lost_run.pk]


def test_a_run_whose_rows_still_finish_is_not_swept(lost_run):
    started = Run.objects.get(pk=lost_run.pk).started_at
    moved = started + _stall()  # a row finished long after the run started
    Row.objects.filter(run=lost_run, index=0).update(status=Row.Status.GENERATED, finished_at=moved)
    assert stalled_runs_sweep(now=moved + _stall() - timedelta(seconds=1)) == []
    assert stalled_runs_sweep(now=moved + _stall() + timedelta(seconds=1)) == [lost_run.pk]


def test_a_paused_run_is_not_swept(lost_run):
    run_pause(run=lost_run)
    far = timezone.now() + 10 * _stall()
    assert stalled_runs_sweep(now=far) == []
    assert dramatiq.get_broker().client.llen(f"{dramatiq.get_broker().namespace}:generation") == 0


def test_a_run_with_nothing_pending_left_is_finished_by_the_sweep(lost_run):
    # Every row was written, but the message that would have finished the run was lost.
    Row.objects.filter(run=lost_run).update(
        status=Row.Status.GENERATED, finished_at=Run.objects.get(pk=lost_run.pk).started_at
    )
    far = timezone.now() + 10 * _stall()
    assert stalled_runs_sweep(now=far) == [lost_run.pk]
    assert Run.objects.get(pk=lost_run.pk).status == Run.Status.FINISHED


def test_the_sweeper_goes_on_after_the_database_dropped_its_connection(
    lost_run, monkeypatch, caplog
):
    # As in production, the connection is kept between sweeps (CONN_MAX_AGE > 0).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 60)
    connection.close()  # the next query connects with that age
    Run.objects.filter(pk=lost_run.pk).update(started_at=timezone.now() - 2 * _stall())
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    db = connection.settings_dict
    admin = f"postgresql://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    with psycopg.connect(admin, autocommit=True) as other:  # a restart ends every session
        other.execute("SELECT pg_terminate_backend(%s)", [pid])

    assert sweep_once() == []  # the dropped connection fails this sweep: logged, not raised
    assert "stalled-run sweep failed" in caplog.text
    assert sweep_once() == [lost_run.pk]  # the next one reconnects


def test_the_sweeper_thread_sweeps_every_interval_until_the_worker_stops(lost_run, monkeypatch):
    monkeypatch.setattr(settings, "STUDIO_STALLED_RUN_CHECK_SECONDS", 0.01)
    monkeypatch.setattr(settings, "STUDIO_STALLED_RUN_SECONDS", 1)
    Run.objects.filter(pk=lost_run.pk).update(started_at=timezone.now() - timedelta(hours=1))
    sweeper = StalledRunSweeper()
    broker = dramatiq.get_broker()
    sweeper.after_worker_boot(broker, None)
    try:
        for _ in range(500):
            if Run.objects.get(pk=lost_run.pk).swept_at is not None:
                break
            sweeper._stop.wait(0.01)
    finally:
        sweeper.before_worker_shutdown(broker, None)
    assert Run.objects.get(pk=lost_run.pk).swept_at is not None
    assert sweeper._thread is None
