"""The run's state as a chunk sees it (generation/worker/chunk_store.py): calls go on with the state
read last while a newer one is read, so pause and cancel are seen within one read, and no call
waits for the database unless what it knows is too old."""

import asyncio

import pytest

from generation import services
from generation.models import Run
from generation.worker import chunk_store
from generation.worker.chunk_store import ChunkStore
from generation.worker.db_thread import DbThread

pytestmark = pytest.mark.django_db(transaction=True)


def _without_waiting(coro):
    """The coroutine's result if it finishes without waiting for anything, else fail."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise AssertionError("it waited")


def _set_status(run_id, status):
    Run.objects.filter(pk=run_id).update(status=status)


def _on_a_store(schema, owner, scenario):
    """Run ``scenario(store, db, run_id)`` on the chunk store of a new running run."""
    run = services.run_create(schema=schema, user=owner, num_rows=1)
    _set_status(run.pk, Run.Status.RUNNING)

    async def main():
        db = DbThread()
        store = ChunkStore(db, run.pk, project_id=run.project_id)
        try:
            await scenario(store, db, run.pk)
        finally:
            await store.aclose()
            db.close()

    asyncio.run(main())


def test_a_stale_state_is_read_again_while_calls_go_on_with_the_known_one(
    qa_schema, owner, monkeypatch
):
    monkeypatch.setattr(chunk_store, "STATE_STALE_LIMIT_SECONDS", 5.0)

    async def scenario(store, db, run_id):
        assert (await store.state()).running  # nothing known yet: it waits for a read
        await db.run(_set_status, run_id, Run.Status.PAUSED)
        assert _without_waiting(store.state()).running  # read under 0.1 s ago
        await asyncio.sleep(chunk_store.STATE_MAX_AGE_SECONDS + 0.05)
        # Older than that: the call goes on with what is known, and a read is on its way.
        assert _without_waiting(store.state()).running
        for _ in range(100):
            await asyncio.sleep(0.01)
            if not _without_waiting(store.state()).running:
                break
        else:
            raise AssertionError("the pause was never read")
        assert _without_waiting(store.state()).status == Run.Status.PAUSED

    _on_a_store(qa_schema, owner, scenario)


def test_a_state_older_than_the_stale_limit_is_waited_for(qa_schema, owner, monkeypatch):
    monkeypatch.setattr(chunk_store, "STATE_STALE_LIMIT_SECONDS", 0.2)

    async def scenario(store, db, run_id):
        assert (await store.state()).running
        await db.run(_set_status, run_id, Run.Status.CANCELLED)
        await asyncio.sleep(0.25)
        with pytest.raises(AssertionError, match="it waited"):
            _without_waiting(store.state())
        assert not (await store.state()).running  # read after asking: the cancel is seen

    _on_a_store(qa_schema, owner, scenario)
