"""The writes a worker makes while filling rows. Each is a conditional UPDATE, so a second
worker or a redelivered message finds nothing left to change."""

from __future__ import annotations

from django.utils import timezone

from generation.engine import RowOutcome
from generation.models import Row, Run


def run_is_running(run_id: int) -> bool:
    return Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).exists()


def row_store_outcome(*, row_id: int, outcome: RowOutcome) -> bool:
    """Write a filled row if it is still pending; False when another worker already did."""
    updated = Row.objects.filter(pk=row_id, status=Row.Status.PENDING).update(
        status=Row.Status.FAILED if outcome.failed else Row.Status.GENERATED,
        values=outcome.values,
        errors=outcome.errors,
        prompts=outcome.prompts,
        calls=outcome.calls,
        input_tokens=outcome.input_tokens,
        output_tokens=outcome.output_tokens,
        cost_usd=outcome.cost_usd,
        latency_ms=outcome.latency_ms,
        finished_at=timezone.now(),
    )
    return updated == 1


def run_finish_if_done(*, run_id: int) -> bool:
    """Close a running run that has no pending rows left; True if this call closed it."""
    if Row.objects.filter(run_id=run_id, status=Row.Status.PENDING).exists():
        return False
    failed = Row.objects.filter(run_id=run_id, status=Row.Status.FAILED).exists()
    return (
        Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).update(
            status=Run.Status.FAILED if failed else Run.Status.FINISHED,
            finished_at=timezone.now(),
        )
        == 1
    )


def run_stop_at_budget(run_id: int) -> bool:
    """Stop a running run whose budget is spent; its pending rows wait for a raised budget."""
    return (
        Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).update(
            status=Run.Status.BUDGET_REACHED
        )
        == 1
    )
