"""Preview: a few rows filled by the same engine and call path a run uses, nothing stored but
the ledger entries of the calls (they were paid for)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from generation.engine import RowOutcome, fill_row
from generation.seeds.data import SeedData
from generation.seeds.loading import load_seed_data
from generation.worker.db_thread import DbThread
from generation.worker.llm_calls import CallContext
from studio.models import Project
from studio.schema import SchemaSpec

MAX_PREVIEW_ROWS = 10


@dataclass
class PreviewRow:
    index: int
    outcome: RowOutcome


def preview_rows(*, project: Project, spec: SchemaSpec, count: int) -> list[PreviewRow]:
    count = max(1, min(count, MAX_PREVIEW_ROWS))
    credentials = {c.pk: c for c in project.credentials.all()}
    seed = random.SystemRandom().randrange(2**31)
    seeds = load_seed_data(
        project_id=project.pk, spec=spec, seed=seed, row_indices=list(range(count))
    )
    return asyncio.run(_preview(project.pk, spec, credentials, seeds, seed, count))


async def _preview(
    project_id: int, spec: SchemaSpec, credentials: dict, seeds: SeedData, seed: int, count: int
) -> list[PreviewRow]:
    db = DbThread()
    context = CallContext(
        credentials=credentials, db=db, sample_prefix=f"preview:{seed}", project_id=project_id
    )
    try:
        outcomes = await asyncio.gather(
            *(
                fill_row(spec, seed=seed, row_index=i, call_llm=context, seeds=seeds)
                for i in range(count)
            )
        )
    finally:
        await context.aclose()
        await asyncio.get_running_loop().run_in_executor(None, db.close)
    return [PreviewRow(i, outcome) for i, outcome in enumerate(outcomes)]
