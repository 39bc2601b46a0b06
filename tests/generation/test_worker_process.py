"""Services mode as deployed: a separate `manage.py rundramatiq` process takes the run's
messages from Redis and writes rows to PostgreSQL while this process only enqueues."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dramatiq
import pytest
from django.conf import settings
from django.db import connection

from generation.models import Row, Run
from generation.services import run_create

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_process():
    dramatiq.get_broker().flush_all()
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "studio.settings"
    # The worker must write to the test database this process created.
    db = connection.settings_dict
    env["DATABASE_URL"] = (
        f"postgres://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "rundramatiq",
            "--processes",
            "1",
            "--threads",
            "2",
            "--skip-logging",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    dramatiq.get_broker().flush_all()


def test_a_separate_worker_process_generates_the_run(worker_process, qa_schema, owner, llm_server):
    assert not settings.EMBEDDED
    run = run_create(schema=qa_schema, user=owner, num_rows=12)
    deadline = time.monotonic() + 90
    while run.status != Run.Status.FINISHED:
        assert worker_process.poll() is None, worker_process.stdout.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the worker process did not finish the run"
        time.sleep(0.3)
        run.refresh_from_db()
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 12
    assert len(llm_server.generation_requests()) == 12
