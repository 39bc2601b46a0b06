"""A chunk whose message fails every attempt does not leave its run "running" forever: its rows
end failed with the error's kind, and the run ends "finished with failures"."""

from __future__ import annotations

import pytest

from generation import actors
from generation.models import Row, Run
from generation.services import run_create
from generation.worker.chunk_giveup import error_kind
from tests.fixtures import drain


@pytest.mark.django_db(transaction=True)
def test_a_chunk_that_fails_every_attempt_fails_its_rows_and_ends_the_run(
    worker, qa_schema, owner, llm_server, monkeypatch
):
    async def always_broken(run_id: int, start: int, end: int) -> None:
        raise RecursionError("maximum recursion depth exceeded in /srv/secret/path.py")

    monkeypatch.setattr(actors, "fill_chunk", always_broken)
    # The real actor retries five times with backoff (minutes); here it gives up at once.
    monkeypatch.setitem(actors.generate_chunk.options, "max_retries", 0)
    run = run_create(schema=qa_schema, user=owner, num_rows=3)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    rows = list(run.rows.all())
    assert [row.status for row in rows] == [Row.Status.FAILED] * 3
    message = rows[0].errors["worker"]
    assert "RecursionError, 1 attempt)" in message
    assert "/srv/secret" not in message


@pytest.mark.parametrize(
    ("traceback_text", "kind"),
    [
        ('Traceback...\n  File "x.py"\nRecursionError: maximum depth\n', "RecursionError"),
        ("...\nhttpx2.ConnectError: refused", "ConnectError"),
        ("", "unknown error"),
        (None, "unknown error"),
        ("...\n<weird line", "unknown error"),
    ],
)
def test_the_reason_names_the_error_kind_only(traceback_text, kind):
    assert error_kind(traceback_text) == kind
