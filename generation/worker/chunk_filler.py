"""Fill one chunk of a run's rows: the work of one Dramatiq message.

Rows are filled concurrently (bounded), each row's columns by the engine; their reads and writes
are grouped by the chunk's ``ChunkStore``. Before each row the run's status is looked at (read at
most ``STATE_MAX_AGE_SECONDS`` before, or being read again: ``ChunkStore.state``), so pause and
cancel take effect between rows. A row is
written only while it is still pending, so a redelivered message or a second worker changes
nothing (but a second copy running at the same time pays for the calls of its rows in flight
again: the ledger only answers calls recorded before)."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass

from django.conf import settings

from generation import live
from generation.engine import fill_row
from generation.models import Row, Run
from generation.regeneration_samples import regenerated_samples
from generation.seeds.data import SeedData
from generation.seeds.loading import load_seed_data
from generation.worker.call_slots import CallSlots
from generation.worker.chunk_store import ChunkStore
from generation.worker.db_thread import DbThread
from generation.worker.llm_calls import CallContext
from generation.worker.loop import call_slots
from generation.worker.online_call import BudgetReached, RunStopped
from generation.worker.row_writes import run_fail_pending, run_finish_if_done, run_stop_at_budget
from studio.models import ProviderCredential
from studio.schema import SchemaError, SchemaSpec

# Chunks in the order they started in this process.
_chunk_order = itertools.count()


class _SpecUnusable(Exception):
    """The run's schema snapshot does not validate any more: no retry could fill a row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems)
        self.problems = problems


@dataclass
class _Chunk:
    run: Run
    spec: SchemaSpec
    rows: list[Row]
    credentials: dict[int, ProviderCredential]
    seeds: SeedData
    # Regenerated rows: row index → column → attempt (generation/regeneration.py).
    samples: dict[int, dict[str, int]]


def _load_chunk(run_id: int, start: int, end: int) -> _Chunk | None:
    run = Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).first()
    if run is None:
        return None
    # run_id too: the related manager sets each row's run from it, and a deferred run_id would
    # cost one query per row.
    rows = list(
        run.rows.filter(index__gte=start, index__lt=end, status=Row.Status.PENDING).only(
            "pk", "index", "run_id"
        )
    )
    credentials = {c.pk: c for c in ProviderCredential.objects.filter(project_id=run.project_id)}
    try:
        spec = run.spec
    except SchemaError as exc:
        raise _SpecUnusable(exc.messages) from None
    seeds = load_seed_data(
        project_id=run.project_id, spec=spec, seed=run.seed, row_indices=[r.index for r in rows]
    )
    samples = regenerated_samples(run_id=run.pk, row_ids=[r.pk for r in rows])
    return _Chunk(run, spec, rows, credentials, seeds, samples)


async def fill_chunk(run_id: int, start: int, end: int) -> None:
    db = DbThread()
    store: ChunkStore | None = None
    context: CallContext | None = None
    try:
        chunk = await _chunk_to_fill(db, run_id, start, end)
        if chunk is None:
            return
        # The run's project's ledger: its answers are shared with no other project.
        store = ChunkStore(db, run_id, project_id=chunk.run.project_id)
        context = _call_context(chunk, db, store)
        await _fill_rows(chunk, db, store, context)
        if await db.run(run_finish_if_done, run_id=run_id):
            await live.publish_rows_from_worker(run_id, [])
    finally:
        if store is not None:
            await store.aclose()
        if context is not None:
            await context.aclose()
        db.close()


async def _chunk_to_fill(db: DbThread, run_id: int, start: int, end: int) -> _Chunk | None:
    """The chunk's pending rows and what filling them takes; None when there is nothing to
    fill (the run is not running, or has no pending row here: finished when it is done; or its
    schema no longer validates: its pending rows fail)."""
    try:
        chunk = await db.run(_load_chunk, run_id, start, end)
    except _SpecUnusable as exc:
        if await db.run(run_fail_pending, run_id=run_id, problems=exc.problems):
            await live.publish_rows(run_id, [])
        return None
    if chunk is None or not chunk.rows:
        if chunk is not None and await db.run(run_finish_if_done, run_id=run_id):
            await live.publish_rows_from_worker(run_id, [])
        return None
    return chunk


def _call_context(chunk: _Chunk, db: DbThread, store: ChunkStore) -> CallContext:
    run = chunk.run
    return CallContext(
        credentials=chunk.credentials,
        db=db,
        # Equal seeds share answers (a re-run is free) unless the run asked for fresh samples.
        sample_prefix=f"run:{run.pk}" if run.fresh_samples else f"run-seed:{run.seed}",
        project_id=run.project_id,
        run_id=run.pk,
        store=store,
        # Calls in flight are bounded, rows are not: every row of the chunk renders its prompts
        # and looks up the ledger while others' calls are in flight, so a finished call's slot
        # goes at once to a row that is ready to send. On a worker the bound is the process's,
        # shared with its other chunks (worker_loop).
        call_slots=call_slots() or CallSlots(settings.STUDIO_ROW_CONCURRENCY),
        # The oldest chunk's rows first: chunks sharing the slots finish one after the other,
        # not all at once (call_slots.py).
        slot_order=next(_chunk_order),
        row_samples=chunk.samples,
    )


async def _fill_rows(chunk: _Chunk, db: DbThread, store: ChunkStore, context: CallContext) -> None:
    """Fill every row of the chunk at once (the calls are bounded by the context), each while
    the run is running; a row stopped by a pause, a cancel or the budget stays pending."""
    run_id = chunk.run.pk

    async def fill_one(row: Row) -> None:
        if not (await store.state()).running:
            return
        try:
            outcome = await fill_row(
                chunk.spec,
                seed=chunk.run.seed,
                row_index=row.index,
                call_llm=context,
                seeds=chunk.seeds,
            )
        except RunStopped:
            return
        except BudgetReached:
            if await db.run(run_stop_at_budget, run_id):
                await live.publish_rows_from_worker(run_id, [])
            return
        await store.store_row(row.pk, outcome)

    # A row that fails unexpectedly (the limiter's Redis or the database went away) fails the
    # chunk, so that Dramatiq retries it, but only once the other rows are done: their calls in
    # flight are paid for, and dropped with the chunk they would be paid again.
    results = await asyncio.gather(*(fill_one(row) for row in chunk.rows), return_exceptions=True)
    await store.aclose()
    for result in results:
        if isinstance(result, BaseException):
            raise result
