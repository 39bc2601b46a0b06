"""Read access to a batch run's provider batches, for the run page and the API."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, Sum

from generation.models import BatchJob, Run


@dataclass(frozen=True)
class BatchSummary:
    jobs: int
    open_jobs: int
    requests: int
    open_requests: int  # sent or about to be sent, answers not collected yet
    succeeded: int
    failed: int
    # The provider's word for the newest open batch ("in_progress", "finalizing", ...).
    provider_status: str
    # The last transient problem (a state read that failed, a send to retry), if any.
    error: str

    @property
    def waiting(self) -> bool:
        return self.open_jobs > 0


def run_batch_summary(*, run: Run) -> BatchSummary | None:
    """None for an online run."""
    if run.mode != Run.Mode.BATCH:
        return None
    jobs = BatchJob.objects.filter(run=run)
    agg = jobs.aggregate(
        jobs=Count("pk"),
        open_jobs=Count("pk", filter=Q(status__in=BatchJob.OPEN)),
        requests=Sum("request_count"),
        open_requests=Sum("request_count", filter=Q(status__in=BatchJob.OPEN)),
        succeeded=Sum("succeeded_count", filter=~Q(status__in=BatchJob.OPEN)),
        failed=Sum("failed_count", filter=~Q(status__in=BatchJob.OPEN)),
    )
    newest_open = jobs.filter(status__in=BatchJob.OPEN).order_by("-created_at").first()
    return BatchSummary(
        jobs=agg["jobs"] or 0,
        open_jobs=agg["open_jobs"] or 0,
        requests=agg["requests"] or 0,
        open_requests=agg["open_requests"] or 0,
        succeeded=agg["succeeded"] or 0,
        failed=agg["failed"] or 0,
        provider_status=(newest_open.provider_status or newest_open.status) if newest_open else "",
        error=newest_open.error if newest_open else "",
    )
