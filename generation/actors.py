"""Dramatiq actors: thin wrappers that hand ids to services. Any of them may run twice."""

from __future__ import annotations

import dramatiq

from generation import live
from generation.worker.chunk_filler import fill_chunk
from generation.worker.chunk_giveup import chunk_give_up, error_kind

# A chunk is small; an hour is a generous bound for one with slow, rate-limited calls.
CHUNK_TIME_LIMIT_MS = 60 * 60 * 1000


@dramatiq.actor(
    queue_name="generation",
    max_retries=5,
    time_limit=CHUNK_TIME_LIMIT_MS,
    # Its rows end failed with the reason once every retry failed: a run never stays "running".
    on_retry_exhausted="chunk_retries_exhausted",
)
async def generate_chunk(run_id: int, start: int, end: int) -> None:
    # Async: it runs on the worker process's event loop (Dramatiq's AsyncIO middleware), shared
    # with the other chunks of the process (generation/worker/loop.py).
    await fill_chunk(run_id, start, end)


@dramatiq.actor(queue_name="generation", max_retries=3)
def chunk_retries_exhausted(message: dict, retry_info: dict) -> None:
    run_id, start, end = message["args"]
    options = message.get("options", {})
    if chunk_give_up(
        run_id=run_id,
        start=start,
        end=end,
        attempts=options.get("retries", retry_info.get("retries", 0) + 1),
        kind=error_kind(options.get("traceback")),
    ):
        live.publish_rows_sync(run_id, [])


# --- batch mode: its actors live in generation/batch/actors.py; importing them here registers
# them wherever Django-Dramatiq discovers this module, and lets services send them from here.
from generation.batch.actors import batch_cancel, batch_pass, batch_poll  # noqa: E402

__all__ = [
    "batch_cancel",
    "batch_pass",
    "batch_poll",
    "chunk_retries_exhausted",
    "generate_chunk",
]
