"""The steps of a batch run, each one Dramatiq message (``generation.batch.actors``): a *pass*
(fill what the ledger can, send the rest as batches) and a *poll* (read the open batches,
collect the ended ones, then start the next pass). Each step returns what should come next; the
actor sends it. Both steps are idempotent: after a crash either may run again, or twice."""

from __future__ import annotations

import asyncio
import enum
import logging

from generation import live
from generation.batch.job_creation import jobs_create
from generation.batch.jobs import job_poll, job_submit, jobs_cancel
from generation.batch.limits import setting
from generation.batch.passes import fill_pass
from generation.models import BatchJob, Run
from generation.worker.row_writes import run_finish_if_done, run_stop_at_budget

logger = logging.getLogger(__name__)


class Next(enum.Enum):
    STOP = "stop"
    POLL = "poll"  # poll again after the poll delay
    PASS = "pass"  # start the next pass now


def poll_delay_ms() -> int:
    """``STUDIO_BATCH_POLL_SECONDS`` (default 30 s): how often open batches are read."""
    return max(1, int(setting("STUDIO_BATCH_POLL_SECONDS", 30) * 1000))


def _publish(run_id: int) -> None:
    try:
        live.publish_rows_sync(run_id, [])
    except Exception:  # a live update must never break the run
        logger.warning("Could not publish the state of run %s", run_id, exc_info=True)


def pass_step(run_id: int) -> Next:
    outcome = asyncio.run(fill_pass(run_id))
    if not outcome.completed:
        return Next.STOP  # not running (paused, cancelled, budget): a resume starts a pass
    # The errors of the collected jobs have failed their rows; a later retry asks again.
    BatchJob.objects.filter(
        pk__in=outcome.consumed_job_ids, status=BatchJob.Status.COLLECTED
    ).update(status=BatchJob.Status.DONE)
    if not outcome.deferred:
        if run_finish_if_done(run_id=run_id):
            _publish(run_id)
        return Next.STOP
    created = jobs_create(run_id=run_id, deferred=outcome.deferred.values())
    for job_id in created.job_ids:
        job_submit(job_id)
    if created.job_ids:
        _publish(run_id)  # the run page shows what it waits for
        return Next.POLL
    if created.over_budget:
        if run_stop_at_budget(run_id):
            _publish(run_id)
        return Next.STOP
    if created.open_elsewhere:
        return Next.POLL  # another run's batch holds these calls: wait for it, then pass again
    return Next.STOP  # this run's own open batches hold them: their poll carries on


def poll_step(run_id: int) -> Next:
    run = Run.objects.filter(pk=run_id).only("status").first()
    if run is None:
        return Next.STOP
    if run.status == Run.Status.CANCELLED:
        jobs_cancel(run_id=run_id)
    closed = False
    for job in BatchJob.objects.filter(run_id=run_id, status__in=BatchJob.OPEN).only(
        "pk", "status"
    ):
        try:
            if job.status == BatchJob.Status.IN_PROGRESS:
                closed |= job_poll(job.pk)
            else:  # pending, or a send whose worker may have died: job_submit claims or skips
                job_submit(job.pk)
        except Exception:
            # One job's unexpected failure must not end the polling of the run's others (after
            # Dramatiq's retries the loop would be gone until a restart): log, poll again.
            logger.exception("Batch job %s of run %s: poll failed", job.pk, run_id)
    if closed:
        _publish(run_id)
    if BatchJob.objects.filter(run_id=run_id, status__in=BatchJob.OPEN).exists():
        return Next.POLL
    if Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).exists():
        return Next.PASS
    return Next.STOP


__all__ = ["Next", "pass_step", "poll_delay_ms", "poll_step"]
