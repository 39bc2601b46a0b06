"""Regenerate some columns of some rows of a run that has ended, through the same engine as the
run: the rows go back to pending and are filled again by the chunk filler (its limiter, budget,
ledger). What they were is kept first as a ``RowVersion``, whose attempt number gives the
regenerated columns a fresh sample key (``CallContext.sample_key``): the ledger does not give the
old answer again, while a redelivered message of the same attempt is answered by it, not paid
twice. The other columns ask the sample they had: the ledger answers them, free."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max

from generation.actors import generate_chunk
from generation.models import Row, RowVersion, Run
from generation.services import RunError, _chunks_of_pending, _publish_after_commit
from generation.worker.chunk_filler import fill_chunk
from studio.schema import SchemaSpec

MSG_RUN_NOT_ENDED = (
    "Run {run} is {status}: only the rows of a run that has ended can be regenerated"
)
MSG_BUDGET_SPENT = (
    "This run has spent its budget ({spent} of {budget} USD): raise the budget to regenerate rows"
)
MSG_BATCH = "The rows of a batch-mode run cannot be regenerated yet"
MSG_UNKNOWN_COLUMN = "Run {run} has no column '{column}'"
MSG_NO_LLM_COLUMN = "Nothing to regenerate: no model writes {columns} nor a column they depend on"
MSG_NO_COLUMNS = "Name at least one column to regenerate"
REGENERABLE = (Run.Status.FINISHED, Run.Status.FAILED)
MANUAL = "manual"


def regeneration_columns(spec: SchemaSpec, names: Iterable[str]) -> list[str]:
    """The columns to regenerate for ``names`` (columns or the fields they provide): those, and
    every column that depends on them, directly or not, in the schema's order. Raises
    ``KeyError`` with the unknown name."""
    providers = spec.providers()
    chosen: set[str] = set()
    for name in names:
        column = providers.get(name, name)
        spec.column(column)  # KeyError when unknown
        chosen.add(column)
    for level in spec.levels():
        for column in level:
            if spec.depends_on(column) & chosen:
                chosen.add(column)
    return [c.name for c in spec.columns if c.name in chosen]


def gate_columns(spec: SchemaSpec, names: Iterable[str]) -> list[str]:
    """The columns a quality gate regenerates for an evaluation reading ``names``: the nearest
    model columns they come from (themselves, when a model writes them), with their dependants.
    Raises RunError when no model writes any of them (regenerating would give the same values)."""
    providers = spec.providers()
    llm = {c.name for c in spec.llm_columns()}
    chosen: set[str] = set()
    seen: set[str] = set()
    todo = [providers.get(name, name) for name in names]
    while todo:
        column = todo.pop()
        if column in seen:
            continue
        seen.add(column)
        if column in llm:
            chosen.add(column)  # its own inputs stay: the nearest answer is asked again
        else:
            todo.extend(spec.depends_on(column))
    if not chosen:
        raise RunError(MSG_NO_LLM_COLUMN.replace("{columns}", ", ".join(sorted(set(names)))))
    return regeneration_columns(spec, sorted(chosen))


def check_regenerable(run: Run) -> None:
    """RunError when the run's rows cannot be regenerated now (still going, cancelled, batch
    mode, or its budget spent)."""
    if run.mode == Run.Mode.BATCH:
        raise RunError(MSG_BATCH)
    if run.status not in REGENERABLE:
        raise RunError(
            MSG_RUN_NOT_ENDED.replace("{run}", str(run.pk)).replace(
                "{status}", run.get_status_display().lower()
            )
        )
    if run.budget_usd is not None and run.spent_usd >= run.budget_usd:
        raise RunError(
            MSG_BUDGET_SPENT.replace("{spent}", f"{run.spent_usd:.4f}").replace(
                "{budget}", f"{run.budget_usd:.4f}"
            )
        )


def _resolve_columns(run: Run, columns: Iterable[str]) -> list[str]:
    names = list(columns)
    if not names:
        raise RunError(MSG_NO_COLUMNS)
    try:
        return regeneration_columns(run.spec, names)
    except KeyError as exc:
        raise RunError(
            MSG_UNKNOWN_COLUMN.replace("{run}", str(run.pk)).replace("{column}", str(exc.args[0]))
        ) from None


def _keep_versions(
    rows: list[Row],
    columns: list[str],
    *,
    user: User | None,
    reason: str,
    scores: Mapping[int, dict[str, Any]],
) -> None:
    """A ``RowVersion`` of each row as it is, numbered after the row's last one."""
    latest = dict(
        RowVersion.objects.filter(row__in=rows)
        .values("row_id")
        .annotate(last=Max("attempt"))
        .values_list("row_id", "last")
    )
    RowVersion.objects.bulk_create(
        RowVersion(
            row=row,
            attempt=latest.get(row.pk, 0) + 1,
            columns=columns,
            values=row.values,
            errors=row.errors,
            edited_values=row.edited_values,
            review_status=row.review_status,
            scores=scores.get(row.pk, {}),
            reason=reason[:300],
            created_by=user,
        )
        for row in rows
    )


@transaction.atomic
def rows_regenerate(
    *,
    run: Run,
    row_ids: Iterable[int],
    columns: Iterable[str],
    user: User | None,
    reason: str = MANUAL,
    scores: Mapping[int, dict[str, Any]] | None = None,
    enqueue: bool = True,
) -> int:
    """Put the given rows of an ended run back to pending for ``columns`` (and their
    dependants), each keeping what it was as a ``RowVersion`` with ``scores[row id]`` (the
    scores those values had) and ``reason``; the run runs again until they are filled. With
    ``enqueue`` their chunks are sent to the workers; without, the caller fills them
    (``rows_fill_now``). The number of rows reopened; RunError when the run cannot."""
    locked = Run.objects.select_for_update().get(pk=run.pk)
    check_regenerable(locked)
    regenerated = _resolve_columns(locked, columns)
    rows = list(
        Row.objects.select_for_update()
        .filter(run=locked, pk__in=list(row_ids))
        .exclude(status=Row.Status.PENDING)
        .order_by("pk")
    )
    if not rows:
        return 0
    _keep_versions(rows, regenerated, user=user, reason=reason, scores=scores or {})
    Row.objects.filter(pk__in=[row.pk for row in rows]).update(
        status=Row.Status.PENDING,
        errors={},
        finished_at=None,
        edited_values=None,
        review_status=Row.Review.UNREVIEWED,
        reviewed_by=None,
        reviewed_at=None,
    )
    Run.objects.filter(pk=locked.pk).update(status=Run.Status.RUNNING, finished_at=None)
    if enqueue:
        chunks = _chunks_of_pending(locked.pk)
        transaction.on_commit(lambda: [generate_chunk.send(locked.pk, s, e) for s, e in chunks])
    run.refresh_from_db(fields=["status", "finished_at"])
    _publish_after_commit(run)
    return len(rows)


def rows_fill_now(*, run_id: int) -> None:
    """Fill the run's pending rows here and now, chunk after chunk, as a worker's chunks would
    (the chunk filler: same limiter, budget, ledger): for a quality gate's step, which scores
    them next. Rows written already are skipped, so it may run twice or beside a worker."""
    for start, end in _chunks_of_pending(run_id):
        asyncio.run(fill_chunk(run_id, start, end))
