"""Runs: create (snapshot the schema), enqueue, pause, resume, cancel, retry failed rows, and the
row writes the workers make. Every state change is a conditional UPDATE, so two workers or a
redelivered message can never move a row or a run twice."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from decimal import Decimal
from itertools import groupby

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from generation import live
from generation.actors import generate_chunk
from generation.batch.services import (  # batch mode
    batch_cancel_run,
    batch_enqueue,
    batch_resume_open_jobs,
    is_batch_run,
)
from generation.models import Row, Run
from generation.pending_rows import pending_rows_insert
from generation.run_gates import run_gate_checked
from generation.worker.budget_holds import holds_clear_all
from generation.worker.row_writes import run_finish_if_done
from studio.models import DatasetSchema
from studio.schema import SchemaError, parse_spec

logger = logging.getLogger(__name__)

MSG_TOO_MANY_ROWS = "A run can have at most {limit} rows"
MSG_NOT_RESUMABLE = "Only a paused run can be resumed"
MSG_RAISE_BUDGET = (
    "This run stopped at its budget of {budget} USD ({spent} USD spent); raise the budget to go on"
)
MSG_BAD_BUDGET = "A budget is a positive amount of US dollars"
MSG_BAD_MODE = "Unknown run mode"


class RunError(Exception):
    """A run action that cannot be done now; the message is shown to the user."""


def _publish_after_commit(run: Run) -> None:
    """Every open page of the run shows its new state, once the action is committed: a
    rolled-back action publishes nothing, and a watcher never reads a state not yet
    visible. A publish that fails (Redis restarting) is logged, not raised: the action is
    done, and the pages catch up at the next update or when they reconnect."""
    run_id = run.pk
    transaction.on_commit(lambda: live.publish_rows_sync(run_id, []), robust=True)


def _chunks_of_pending(run_id: int) -> list[tuple[int, int]]:
    """(start, end) index ranges, one per chunk that still has pending rows."""
    size = settings.STUDIO_CHUNK_SIZE
    indices = Row.objects.filter(run_id=run_id, status=Row.Status.PENDING).values_list(
        "index", flat=True
    )
    return [
        (key * size, (key + 1) * size)
        for key, _ in groupby(sorted(indices), key=lambda index: index // size)
    ]


def run_enqueue_pending(*, run_id: int) -> int:
    """Send one message per chunk with pending rows, once the caller's transaction commits."""
    # --- batch mode: a batch run is filled in passes and provider batches, not chunks ---
    if is_batch_run(run_id):
        return batch_enqueue(run_id=run_id)
    chunks = _chunks_of_pending(run_id)

    def send() -> None:
        for start, end in chunks:
            generate_chunk.send(run_id, start, end)

    transaction.on_commit(send)
    return len(chunks)


@transaction.atomic
def run_create(
    *,
    schema: DatasetSchema,
    user: User | None,
    num_rows: int,
    seed: int | None = None,
    budget_usd: Decimal | None = None,
    fresh_samples: bool = False,
    mode: str = Run.Mode.ONLINE,
    gate: dict | None = None,
) -> Run:
    if budget_usd is not None and budget_usd <= 0:
        raise RunError(MSG_BAD_BUDGET)
    if mode not in Run.Mode.values:
        raise RunError(MSG_BAD_MODE)
    limit = settings.STUDIO_MAX_ROWS_PER_RUN
    if num_rows < 1 or num_rows > limit:
        raise RunError(MSG_TOO_MANY_ROWS.replace("{limit}", str(limit)))
    spec = parse_spec(schema.spec)  # a schema saved by an older version must still be valid
    run = Run.objects.create(
        project=schema.project,
        schema=schema,
        schema_name=schema.name,
        schema_version=schema.version,
        spec_snapshot=spec.model_dump(mode="json"),
        seed=seed if seed is not None else random.SystemRandom().randrange(2**31),
        num_rows=num_rows,
        budget_usd=budget_usd,
        fresh_samples=fresh_samples,
        mode=mode,
        status=Run.Status.RUNNING,
        created_by=user,
        started_at=timezone.now(),
    )
    if gate:  # a quality gate for when it ends (evaluation/gate/from_run.py)
        run.gate = run_gate_checked(run, gate)
        run.save(update_fields=["gate"])
    pending_rows_insert(run_id=run.pk, count=num_rows)
    run_enqueue_pending(run_id=run.pk)
    _publish_after_commit(run)
    return run


@transaction.atomic
def run_retry_failed(*, run: Run) -> int:
    """Put the failed rows back to pending and generate them again. Calls that had finished
    are answered from the ledger, so only what failed is paid for again."""
    count = Row.objects.filter(run=run, status=Row.Status.FAILED).update(
        status=Row.Status.PENDING, errors={}, finished_at=None
    )
    if count:
        Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING, finished_at=None)
        run_enqueue_pending(run_id=run.pk)
    run.refresh_from_db(fields=["status", "finished_at"])
    _publish_after_commit(run)
    return count


@transaction.atomic
def run_pause(*, run: Run) -> None:
    Run.objects.filter(pk=run.pk, status__in=Run.ACTIVE).update(status=Run.Status.PAUSED)
    run.refresh_from_db(fields=["status"])
    _publish_after_commit(run)


@transaction.atomic
def run_resume(*, run: Run) -> None:
    current = Run.objects.select_for_update().get(pk=run.pk)
    if current.status == Run.Status.BUDGET_REACHED:
        raise RunError(
            MSG_RAISE_BUDGET.replace("{budget}", f"{current.budget_usd:.4f}").replace(
                "{spent}", f"{current.spent_usd:.4f}"
            )
        )
    if not Run.objects.filter(pk=run.pk, status=Run.Status.PAUSED).update(
        status=Run.Status.RUNNING
    ):
        raise RunError(MSG_NOT_RESUMABLE)
    run_enqueue_pending(run_id=run.pk)
    run.refresh_from_db(fields=["status"])
    _publish_after_commit(run)


@transaction.atomic
def run_set_budget(*, run: Run, budget_usd: Decimal | None) -> None:
    """Change the budget (None removes it). Raising the budget of a run that stopped at its
    budget sets it going again."""
    if budget_usd is not None and budget_usd <= 0:
        raise RunError(MSG_BAD_BUDGET)
    current = Run.objects.select_for_update().get(pk=run.pk)
    raised = budget_usd is None or (
        current.budget_usd is not None and budget_usd > current.budget_usd
    )
    Run.objects.filter(pk=run.pk).update(budget_usd=budget_usd)
    if current.status == Run.Status.BUDGET_REACHED and raised:
        Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
        run_enqueue_pending(run_id=run.pk)
    run.refresh_from_db(fields=["budget_usd", "status"])
    _publish_after_commit(run)


@transaction.atomic
def run_cancel(*, run: Run) -> None:
    stoppable = (*Run.ACTIVE, Run.Status.PAUSED, Run.Status.BUDGET_REACHED)
    Run.objects.filter(pk=run.pk, status__in=stoppable).update(
        status=Run.Status.CANCELLED, finished_at=timezone.now()
    )
    run.refresh_from_db(fields=["status", "finished_at"])
    if run.status == Run.Status.CANCELLED:
        batch_cancel_run(run_id=run.pk)  # batch mode: cancel its provider batches
    _publish_after_commit(run)


def run_resume_unfinished(*, only_worker: bool = False) -> int:
    """Re-enqueue the pending rows of every running run; called at start-up, because a worker
    that died mid-run may have taken its messages with it. Safe to call twice: rows are
    written only while pending.

    ``only_worker``: this process is the only one that generates (embedded mode), and it has
    not started any call yet, so every budget hold was left by a process that is gone: they
    are dropped instead of keeping their share of budgets until they expire."""
    if only_worker:
        holds_clear_all()
    count = 0
    running = set(Run.objects.filter(status=Run.Status.RUNNING).values_list("pk", flat=True))
    for run_id in sorted(running):
        with transaction.atomic():
            if run_enqueue_pending(run_id=run_id) == 0:
                run_finish_if_done(run_id=run_id)
            count += 1
    # --- batch mode: runs that are not running may still have provider batches to collect
    # (paused, stopped at the budget) or to cancel (cancelled): poll them again.
    with transaction.atomic():
        count += batch_resume_open_jobs(exclude_run_ids=running)
    if count:
        logger.info("Resumed %d unfinished run(s)", count)
    return count


# The run controls of the run page and the API, by the name in their URL.
RUN_ACTIONS: dict[str, Callable[..., object]] = {
    "pause": run_pause,
    "resume": run_resume,
    "cancel": run_cancel,
    "retry-failed": run_retry_failed,
}

__all__ = [
    "RUN_ACTIONS",
    "RunError",
    "SchemaError",
    "run_cancel",
    "run_create",
    "run_enqueue_pending",
    "run_pause",
    "run_resume",
    "run_resume_unfinished",
    "run_retry_failed",
    "run_retry_failed_matching",
    "run_set_budget",
]


@transaction.atomic
def run_retry_failed_matching(*, run: Run, message: str) -> int:
    """Retry only the failed rows with ``message`` among their errors (one line of the run
    page's errors panel), as ``run_retry_failed`` retries them all."""
    failed = Row.objects.filter(run=run, status=Row.Status.FAILED).values_list("pk", "errors")
    row_ids = [pk for pk, errors in failed.iterator() if message in (errors or {}).values()]
    count = 0
    for start in range(0, len(row_ids), 1000):  # SQLite bounds the parameters of a query
        count += Row.objects.filter(
            pk__in=row_ids[start : start + 1000], status=Row.Status.FAILED
        ).update(status=Row.Status.PENDING, errors={}, finished_at=None)
    if count:
        Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING, finished_at=None)
        run_enqueue_pending(run_id=run.pk)
    run.refresh_from_db(fields=["status", "finished_at"])
    _publish_after_commit(run)
    return count
