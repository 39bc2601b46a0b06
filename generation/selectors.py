"""Read access to runs and rows, always through the user's role in the project (the action a
request needs is named by its caller: studio/permissions.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Case, Count, Q, QuerySet, Sum, Value, When
from django.http import Http404
from django.utils import timezone

from generation.models import LlmCall, Row, RowVersion, Run
from generation.worker.budget_holds import holds_live_total
from studio.models import Project
from studio.permissions import Action
from studio.selectors import AnyUser, authorize, project_list_for_user


def run_list(*, project: Project) -> QuerySet[Run]:
    return project.runs.select_related("project").order_by("-created_at")


def run_get_for_user(*, user: AnyUser, run_id: int, action: Action) -> Run:
    run = Run.objects.filter(pk=run_id).select_related("project").first()
    if run is None:
        raise Http404("No such run")
    authorize(user=user, project=run.project, action=action, missing="No such run")
    return run


def row_get_for_user(*, user: AnyUser, row_id: int, action: Action) -> Row:
    row = Row.objects.filter(pk=row_id).select_related("run", "run__project").first()
    if row is None:
        raise Http404("No such row")
    authorize(user=user, project=row.run.project, action=action, missing="No such row")
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
        run.rows.exclude(status=Row.Status.PENDING)
        .defer("prompts", "calls")  # the detail panel's, and large
        .order_by("-finished_at", "-index")[:limit]
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

    @property
    def generated_percent(self) -> float:
        return round(100 * self.generated / self.total, 2) if self.total else 0

    @property
    def failed_percent(self) -> float:
        return round(100 * self.failed / self.total, 2) if self.total else 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


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


# ---- the live run page ------------------------------------------------------------------------

# Rows per minute are measured over this recent window while a run is going.
RATE_WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class RunOutlook:
    """How fast a run goes, when it will be done, and how much of its budget it has used."""

    rows_per_minute: float | None
    eta_seconds: int | None
    budget_percent: int | None
    # What the calls in flight hold of the budget at most (generation/worker/budget_holds.py).
    held_usd: Decimal = Decimal(0)
    budget_left: Decimal | None = None

    @property
    def eta_display(self) -> str:
        if self.eta_seconds is None:
            return ""
        minutes, seconds = divmod(self.eta_seconds, 60)
        hours, minutes = divmod(minutes, 60)
        if hours:
            return f"{hours} h {minutes:02d} min"
        if minutes:
            return f"{minutes} min {seconds:02d} s"
        return f"{seconds} s"


def run_outlook(*, run: Run, counters: RunCounters, now: datetime | None = None) -> RunOutlook:
    """While a run goes: its rate over the last minute and the time left at that rate. After:
    its average rate over the whole run."""
    now = now or timezone.now()
    rate: float | None = None
    eta: int | None = None
    if run.is_active:
        since = now - RATE_WINDOW
        if run.started_at is not None and run.started_at > since:
            since = run.started_at
        elapsed = (now - since).total_seconds()
        recent = run.rows.filter(finished_at__gte=since).count()
        if recent and elapsed > 0:
            rate = recent * 60 / elapsed
            eta = int(round(counters.pending * 60 / rate))
    elif run.started_at is not None and counters.done:
        end = run.finished_at or now
        elapsed = (end - run.started_at).total_seconds()
        rate = counters.done * 60 / elapsed if elapsed > 0 else None
    budget_percent = None
    if run.budget_usd:
        budget_percent = min(100, int(100 * run.spent_usd / run.budget_usd))
    return RunOutlook(
        rows_per_minute=rate,
        eta_seconds=eta,
        budget_percent=budget_percent,
        held_usd=run_budget_held(run=run, now=now),
        budget_left=max(Decimal(0), run.budget_usd - run.spent_usd) if run.budget_usd else None,
    )


def run_budget_held(*, run: Run, now: datetime | None = None) -> Decimal:
    """What the calls in flight of a going run with a budget hold of it at most (their worst
    cost until their real cost is known; generation/worker/budget_holds.py). 0 for any other run."""
    if not (run.budget_usd and run.is_active):
        return Decimal(0)
    return holds_live_total(run.pk, now)


@dataclass(frozen=True)
class LlmColumnCall:
    """What one LLM column of one row asked and got: the row's detail panel."""

    column: str
    model: str
    prompt: str | None
    raw: str | None
    attempts: int | None
    cost_usd: str | None
    from_ledger: bool
    error: str | None


def row_llm_calls(*, row: Row) -> list[LlmColumnCall]:
    calls = []
    for column in row.run.spec.llm_columns():
        name = column.name
        call = (row.calls or {}).get(name) or {}
        prompt = (row.prompts or {}).get(name)
        error = (row.errors or {}).get(name)
        if not (call or prompt or error):
            continue
        calls.append(
            LlmColumnCall(
                column=name,
                model=column.model,
                prompt=prompt,
                raw=call.get("raw"),
                attempts=call.get("attempts"),
                cost_usd=call.get("cost_usd"),
                from_ledger=bool(call.get("from_ledger")),
                error=error,
            )
        )
    return calls


def row_other_errors(*, row: Row, calls: list[LlmColumnCall]) -> dict[str, str]:
    """Errors of the row's columns that are not LLM columns (templates, seed data)."""
    llm = {call.column for call in calls}
    return {name: message for name, message in (row.errors or {}).items() if name not in llm}


# ---- run status on the dashboard and the project page ------------------------------------------

# A finished run has every row generated: its rows need no counting.
_SETTLED = (Run.Status.FINISHED,)


@dataclass(frozen=True)
class RunLine:
    run: Run
    done: int
    failed: int

    @property
    def total(self) -> int:
        return self.run.num_rows

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def failed_percent(self) -> float:
        return round(100 * self.failed / self.total, 2) if self.total else 0

    @property
    def generated_percent(self) -> float:
        return round(100 * (self.done - self.failed) / self.total, 2) if self.total else 0


def run_lines(*, runs: list[Run]) -> list[RunLine]:
    """Each run with its progress, counted in one grouped query (on the run/status index) for
    the runs that can still change."""
    counting = [run.pk for run in runs if run.status not in _SETTLED]
    counts: dict[int, dict[str, int]] = {}
    if counting:
        for run_id, status, count in (
            Row.objects.filter(run_id__in=counting)
            .values_list("run_id", "status")
            .annotate(count=Count("id"))
            .order_by()
        ):
            counts.setdefault(run_id, {})[status] = count
    lines = []
    for run in runs:
        if run.pk in counts:
            by_status = counts[run.pk]
            failed = by_status.get(Row.Status.FAILED, 0)
            done = failed + by_status.get(Row.Status.GENERATED, 0)
        elif run.status in _SETTLED:
            failed, done = 0, run.num_rows
        else:
            failed = done = 0
        lines.append(RunLine(run=run, done=done, failed=failed))
    return lines


def run_list_for_board(*, user: AnyUser, project: Project | None = None, limit: int) -> list[Run]:
    """The runs a member follows: those still going first, then the newest."""
    projects = project_list_for_user(user=user)
    runs = Run.objects.filter(project__in=projects).select_related("project")
    if project is not None:
        runs = runs.filter(project=project)
    going = Q(status__in=(*Run.ACTIVE, Run.Status.PAUSED, Run.Status.BUDGET_REACHED))
    return list(
        runs.annotate(going=Case(When(going, then=Value(0)), default=Value(1))).order_by(
            "going", "-created_at"
        )[:limit]
    )


def row_history(*, row: Row) -> list[RowVersion]:
    """The row's earlier values, newest first (generation/regeneration.py)."""
    return list(row.versions.select_related("created_by").order_by("-attempt"))
