"""One pass of a batch run: fill every pending row as far as the ledger allows.

Rows are filled by the ordinary engine, in slices (seed data is loaded per slice), with bounded
concurrency, checking before each row that the run still runs (pause and cancel take effect
between rows). A row whose every call is answered (by the ledger, or failed by the last
batches) is written like an online row; a row that hit a ledger miss stays pending and its
request is returned, deferred, for the next batch."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from django.conf import settings

from generation import live
from generation.batch.calls import Deferred, DeferredCall, DeferToBatch
from generation.engine import fill_row
from generation.models import BatchJob, BatchRequest, Row, Run
from generation.seeds.data import SeedData
from generation.seeds.loading import load_seed_data
from generation.worker.db_thread import DbThread
from generation.worker.llm_calls import CallContext
from generation.worker.online_call import BudgetReached
from generation.worker.row_writes import (
    row_store_outcome,
    run_fail_pending,
    run_is_running,
    run_stop_at_budget,
)
from studio.models import ProviderCredential
from studio.schema import SchemaError, SchemaSpec

# Rows whose seed data is loaded at once; a pass goes through all pending rows slice by slice.
PASS_SLICE_ROWS = 500


@dataclass
class PassOutcome:
    # False: the run was not running, or stopped (pause, cancel, budget) during the pass.
    completed: bool = False
    deferred: dict[str, DeferredCall] = field(default_factory=dict)
    stored: int = 0
    # The collected jobs whose errors this pass applied (closed by the caller once it is done).
    consumed_job_ids: list[int] = field(default_factory=list)


@dataclass
class _Loaded:
    run: Run
    spec: SchemaSpec
    rows: list[tuple[int, int]]  # (pk, index) of the pending rows, in index order
    credentials: dict[int, ProviderCredential]
    errors: dict[str, str]
    collected_job_ids: list[int]


def _load(run_id: int) -> _Loaded | None:
    run = Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).first()
    if run is None:
        return None
    rows = list(
        run.rows.filter(status=Row.Status.PENDING).order_by("index").values_list("pk", "index")
    )
    credentials = {c.pk: c for c in ProviderCredential.objects.filter(project_id=run.project_id)}
    collected = list(
        BatchJob.objects.filter(run_id=run_id, status=BatchJob.Status.COLLECTED).values_list(
            "pk", flat=True
        )
    )
    errors = dict(
        BatchRequest.objects.filter(job_id__in=collected)
        .exclude(error="")
        .values_list("key", "error")
    )
    try:
        spec = run.spec
    except SchemaError as exc:  # saved before a check refused it: no pass could fill a row
        run_fail_pending(run_id=run_id, problems=exc.messages)
        return None
    return _Loaded(run, spec, rows, credentials, errors, collected)


async def fill_pass(run_id: int) -> PassOutcome:
    db = DbThread()
    context: CallContext | None = None
    outcome = PassOutcome()
    try:
        loaded = await db.run(_load, run_id)
        if loaded is None:
            return outcome
        run = loaded.run
        misses = DeferToBatch(errors=loaded.errors)
        context = CallContext(
            credentials=loaded.credentials,
            db=db,
            # As chunk_filler: equal seeds share answers unless the run asked for fresh samples.
            sample_prefix=(f"run:{run_id}" if run.fresh_samples else f"run-seed:{run.seed}"),
            project_id=run.project_id,
            run_id=run_id,
            on_miss=misses,
        )
        outcome.completed = await _fill_rows(loaded, db, context, outcome)
        outcome.deferred = dict(misses.deferred)
        outcome.consumed_job_ids = loaded.collected_job_ids
        return outcome
    finally:
        if context is not None:
            await context.aclose()
        db.close()


async def _fill_rows(
    loaded: _Loaded, db: DbThread, context: CallContext, outcome: PassOutcome
) -> bool:
    """Fill the pending rows slice by slice, counting those stored in ``outcome``. False when
    the run stopped (pause, cancel, budget) during the pass."""
    run = loaded.run
    semaphore = asyncio.Semaphore(settings.STUDIO_ROW_CONCURRENCY)
    stopped = False

    async def fill_one(row_id: int, index: int, seeds: SeedData) -> None:
        nonlocal stopped
        async with semaphore:
            if stopped or not await db.run(run_is_running, run.pk):
                stopped = True
                return
            try:
                filled = await fill_row(
                    loaded.spec, seed=run.seed, row_index=index, call_llm=context, seeds=seeds
                )
            except Deferred:
                return  # the row waits for the next batch
            except BudgetReached:  # only online (simulator) calls check it here
                stopped = True
                if await db.run(run_stop_at_budget, run.pk):
                    await live.publish_rows(run.pk, [])
                return
            if await db.run(row_store_outcome, row_id=row_id, outcome=filled):
                outcome.stored += 1
                await live.publish_rows(run.pk, [row_id])

    for start in range(0, len(loaded.rows), PASS_SLICE_ROWS):
        part = loaded.rows[start : start + PASS_SLICE_ROWS]
        seeds = await db.run(_slice_seeds, loaded, [index for _, index in part])
        await asyncio.gather(*(fill_one(pk, index, seeds) for pk, index in part))
        if stopped:
            break
    return not stopped


def _slice_seeds(loaded: _Loaded, row_indices: list[int]) -> SeedData:
    run = loaded.run
    return load_seed_data(
        project_id=run.project_id, spec=loaded.spec, seed=run.seed, row_indices=row_indices
    )
