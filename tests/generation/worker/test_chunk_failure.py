"""A chunk whose row fails unexpectedly (the limiter's Redis or the database went away mid-call)
fails as a whole so that Dramatiq retries it, but only after its other rows are done: their
calls in flight were paid for, and a chunk that dropped them would pay for them again. A database
that drops the chunk's connection for a moment does not fail it at all."""

import asyncio

import dramatiq
import psycopg
import pytest
from django.db import connection

from generation.models import LlmCall, Row
from generation.services import run_create
from generation.worker import chunk_filler
from generation.worker.chunk_filler import fill_chunk

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_row_that_breaks_fails_the_chunk_after_its_other_rows_are_stored(
    qa_schema, owner, llm_server, monkeypatch
):
    llm_server.latency = 0.2  # the other rows' calls are in flight when row 0 breaks
    real_fill_row = chunk_filler.fill_row

    async def fill_row(spec, *, row_index, **kwargs):
        if row_index == 0:
            raise ConnectionError("Connection closed by server.")
        return await real_fill_row(spec, row_index=row_index, **kwargs)

    monkeypatch.setattr(chunk_filler, "fill_row", fill_row)
    run = run_create(schema=qa_schema, user=owner, num_rows=12)
    dramatiq.get_broker().flush_all()  # no worker here: the chunk is filled below

    with pytest.raises(ConnectionError):
        asyncio.run(fill_chunk(run.pk, 0, 12))

    statuses = dict(run.rows.values_list("index", "status"))
    assert statuses[0] == Row.Status.PENDING  # left for the retry
    assert all(statuses[i] == Row.Status.GENERATED for i in range(1, 12))
    assert LlmCall.objects.filter(run=run).count() == 11  # every paid call recorded
    assert len(llm_server.generation_requests()) == 11


def test_a_chunk_rides_out_a_database_restart_without_paying_a_call_twice(
    qa_schema, owner, llm_server, monkeypatch
):
    """The database drops the chunk's connection (as a PostgreSQL restart does) while its calls
    are in flight: the flush that records them is tried again on a new connection."""
    llm_server.latency = 0.3
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        own = cursor.fetchone()[0]
    db = connection.settings_dict
    admin = f"postgresql://{db['USER'] or 'postgres'}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    real_fill_row = chunk_filler.fill_row
    dropped = []

    async def fill_row(spec, *, row_index, **kwargs):
        if row_index == 0:  # every row has started; their calls go out now
            with psycopg.connect(admin, autocommit=True) as other:
                dropped.extend(
                    other.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid NOT IN (%s, pg_backend_pid())",
                        [own],
                    ).fetchall()
                )
        return await real_fill_row(spec, row_index=row_index, **kwargs)

    monkeypatch.setattr(chunk_filler, "fill_row", fill_row)
    run = run_create(schema=qa_schema, user=owner, num_rows=12)
    dramatiq.get_broker().flush_all()

    asyncio.run(asyncio.wait_for(fill_chunk(run.pk, 0, 12), timeout=60))

    assert dropped, "no connection of the chunk was dropped"
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 12
    assert LlmCall.objects.filter(run=run).count() == 12
    assert len(llm_server.generation_requests()) == 12  # none paid twice
