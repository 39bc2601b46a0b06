"""A worker whose live update cannot be published (the channel layer's Redis restarting) goes on
filling its chunk: the rows are committed already, and a chunk failed by a courtesy message
would drop its calls in flight, paid for, and pay for them again when retried."""

import asyncio

import dramatiq
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from generation import live
from generation.models import LlmCall, Row, Run
from generation.services import run_create
from generation.worker.chunk_filler import fill_chunk

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_chunk_goes_on_when_its_live_updates_cannot_be_published(
    qa_schema, owner, llm_server, monkeypatch
):
    published = []

    async def broken_publish(run_id, row_ids):
        published.append(row_ids)
        raise RedisConnectionError("Connection closed by server.")

    monkeypatch.setattr(live, "publish_rows", broken_publish)
    run = run_create(schema=qa_schema, user=owner, num_rows=12)
    dramatiq.get_broker().flush_all()  # no worker here: the chunk is filled below

    asyncio.run(asyncio.wait_for(fill_chunk(run.pk, 0, 12), timeout=60))

    assert published, "no live update was tried"
    assert run.rows.filter(status=Row.Status.GENERATED).count() == 12
    assert Run.objects.get(pk=run.pk).status == Run.Status.FINISHED
    assert LlmCall.objects.filter(run=run).count() == 12
