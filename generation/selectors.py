"""Read access to runs and rows, always through the project membership of the user."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404

from generation.models import LlmCall, Row, Run
from studio.models import Project
from studio.selectors import AnyUser, project_list_for_user


def run_list(*, project: Project) -> QuerySet[Run]:
    return project.runs.select_related("project").order_by("-created_at")


def run_get_for_user(*, user: AnyUser, run_id: int) -> Run:
    run = (
        Run.objects.filter(pk=run_id, project__in=project_list_for_user(user=user))
        .select_related("project")
        .first()
    )
    if run is None:
        raise Http404("No such run")
    return run


def row_get_for_user(*, user: AnyUser, row_id: int) -> Row:
    row = (
        Row.objects.filter(pk=row_id, run__project__in=project_list_for_user(user=user))
        .select_related("run", "run__project")
        .first()
    )
    if row is None:
        raise Http404("No such row")
    return row


def row_list(*, run: Run, status: str | None = None, review: str | None = None) -> QuerySet[Row]:
    rows = run.rows.all()
    if status:
        rows = rows.filter(status=status)
    if review:
        rows = rows.filter(review_status=review)
    return rows.order_by("index")


def row_list_recent(*, run: Run, limit: int) -> list[Row]:
    """The newest finished rows first, as the live page shows them."""
    return list(
        run.rows.exclude(status=Row.Status.PENDING).order_by("-finished_at", "-index")[:limit]
    )


@dataclass(frozen=True)
class RunCounters:
    total: int
    pending: int
    generated: int
    failed: int
    accepted: int
    rejected: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal

    @property
    def done(self) -> int:
        return self.generated + self.failed

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0


def run_counters(*, run: Run) -> RunCounters:
    agg = run.rows.aggregate(
        total=Count("id"),
        pending=Count("id", filter=Q(status=Row.Status.PENDING)),
        generated=Count("id", filter=Q(status=Row.Status.GENERATED)),
        failed=Count("id", filter=Q(status=Row.Status.FAILED)),
        accepted=Count("id", filter=Q(review_status=Row.Review.ACCEPTED)),
        rejected=Count("id", filter=Q(review_status=Row.Review.REJECTED)),
    )
    spent = LlmCall.objects.filter(run=run).aggregate(
        input_tokens=Sum("input_tokens"), output_tokens=Sum("output_tokens"), cost=Sum("cost_usd")
    )
    return RunCounters(
        **agg,
        input_tokens=spent["input_tokens"] or 0,
        output_tokens=spent["output_tokens"] or 0,
        cost_usd=spent["cost"] or Decimal(0),
    )


def run_error_summary(*, run: Run, limit: int = 5) -> list[tuple[str, int]]:
    """The most frequent error messages of the run's failed rows, with counts."""
    counts: dict[str, int] = {}
    for errors in run.rows.filter(status=Row.Status.FAILED).values_list("errors", flat=True):
        for message in (errors or {}).values():
            counts[message] = counts.get(message, 0) + 1
    return sorted(counts.items(), key=lambda item: -item[1])[:limit]


@dataclass(frozen=True)
class ColumnCost:
    column: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


def run_cost_by_column(*, run: Run) -> list[ColumnCost]:
    """What each LLM column of the run has cost, from the ledger (re-asks included)."""
    rows = (
        LlmCall.objects.filter(run=run)
        .values("column")
        .annotate(
            calls=Count("id"),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            cost_usd=Sum("cost_usd"),
        )
        .order_by("column")
    )
    return [ColumnCost(**row) for row in rows]
