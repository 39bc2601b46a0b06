"""The web side of batch mode: what ``generation.services`` calls to set a batch run going,
resume it after a restart, and cancel its batches. Messages are sent once the caller's
transaction commits."""

from __future__ import annotations

from django.db import transaction

from generation.batch.actors import batch_cancel, batch_pass, batch_poll
from generation.models import BatchJob, Row, Run


def batch_enqueue(*, run_id: int) -> int:
    """Set a batch run going: poll its open batches if it has any, else start a pass over its
    pending rows. Returns 0 when there is nothing to do (no pending row, no open batch), else 1
    (the "chunks" ``run_enqueue_pending`` reports)."""
    has_open = BatchJob.objects.filter(run_id=run_id, status__in=BatchJob.OPEN).exists()
    if not has_open and not Row.objects.filter(run_id=run_id, status=Row.Status.PENDING).exists():
        return 0

    def send() -> None:
        if has_open:
            batch_poll.send(run_id)
        else:
            batch_pass.send(run_id)

    transaction.on_commit(send)
    return 1


def batch_resume_open_jobs(*, exclude_run_ids: set[int] | frozenset[int] = frozenset()) -> int:
    """Poll again the open batches of runs that are not running (paused, cancelled, stopped at
    their budget): a restarted worker must still collect what was paid for, and cancel what a
    cancelled run left. Running runs are resumed by ``run_enqueue_pending``. Returns how many
    runs."""
    run_ids = set(
        BatchJob.objects.filter(status__in=BatchJob.OPEN).values_list("run_id", flat=True)
    ) - set(exclude_run_ids)

    def send() -> None:
        for run_id in sorted(run_ids):
            batch_poll.send(run_id)

    transaction.on_commit(send)
    return len(run_ids)


def batch_cancel_run(*, run_id: int) -> None:
    """After a run is cancelled: cancel its open batches at the provider (in a worker)."""
    if BatchJob.objects.filter(run_id=run_id, status__in=BatchJob.OPEN).exists():
        transaction.on_commit(lambda: batch_cancel.send(run_id))


def is_batch_run(run_id: int) -> bool:
    return Run.objects.filter(pk=run_id, mode=Run.Mode.BATCH).exists()
