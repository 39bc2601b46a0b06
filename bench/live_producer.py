"""The services mode's producer (``bench.live --produce``): no worker runs; this process finishes
the run's rows at exactly the target rate through the workers' own write path, so the live path
is measured alone."""

from __future__ import annotations

import asyncio
import os
import time


def produce(run_id: int, rate: float, seconds: float) -> None:
    """Finish pending rows of ``run_id`` at ``rate`` a second through the workers' write path."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from generation import live
    from generation.engine import RowOutcome
    from generation.models import Row, Run
    from generation.worker.db_thread import DbThread
    from generation.worker.row_writes import ChunkWrites, chunk_writes_apply

    async def run() -> None:
        db = DbThread()
        project_id = await db.run(lambda: Run.objects.get(pk=run_id).project_id)
        pending = await db.run(
            lambda: list(
                Row.objects.filter(run_id=run_id, status=Row.Status.PENDING)
                .order_by("index")
                .values_list("pk", flat=True)[: int(rate * seconds) + 1]
            )
        )
        start = time.monotonic()
        for number, row_id in enumerate(pending):
            delay = start + number / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            outcome = RowOutcome(
                values={"topic": "space", "question": f"Synthetic answer {number} about space"},
                prompts={"question": "Write a question about space"},
                calls={"question": {"raw": "Synthetic answer", "attempts": 1}},
                input_tokens=7,
                output_tokens=9,
                latency_ms=50,
            )
            writes = ChunkWrites(outcomes=[(row_id, outcome)])
            done = await db.run(
                chunk_writes_apply, run_id=run_id, project_id=project_id, writes=writes
            )
            if done.stored:
                await live.publish_rows(run_id, done.stored)
        db.close()

    asyncio.run(run())
