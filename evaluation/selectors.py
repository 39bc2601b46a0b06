"""Evaluations and their scores; rows as exported records; the export history of a run."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Case, Q, QuerySet, Value, When
from django.http import Http404

from evaluation.models import Evaluation, HubExport, QualityGate, ReviewAction, Score
from evaluation.table_filter import (
    TableFilter,
    after_q,
    before_q,
    filter_q,
    ordering,
    parse_cursor,
    table_annotations,
)
from evaluation.table_selectors import sort_cursor
from generation.models import Row, Run
from generation.selectors import run_get_for_user
from studio.permissions import Action
from studio.selectors import AnyUser, authorize


def export_rows(*, run: Run, review: str | None = Row.Review.ACCEPTED) -> QuerySet[Row]:
    rows = run.rows.filter(status=Row.Status.GENERATED)
    if review:
        rows = rows.filter(review_status=review)
    return rows.order_by("index")


def export_records(*, run: Run, review: str | None = Row.Review.ACCEPTED) -> Iterator[dict]:
    """The output columns of each exported row (a seed table's fields, not its column's name),
    a reviewer's edit taking precedence."""
    columns = run.spec.output_columns()
    for values, edited in (
        export_rows(run=run, review=review)
        .values_list("values", "edited_values")
        .iterator(chunk_size=1000)
    ):
        final = edited if edited is not None else values
        yield {name: final.get(name) for name in columns}


def hub_export_list(*, run: Run) -> QuerySet[HubExport]:
    return run.hub_exports.order_by("-created_at")


def hub_export_get_for_user(*, user: AnyUser, export_id: int, action: Action) -> HubExport:
    export = HubExport.objects.filter(pk=export_id).select_related("run", "run__project").first()
    if export is None:
        raise Http404("No such export")
    authorize(user=user, project=export.run.project, action=action, missing="No such export")
    return export


# --- evaluations ----------------------------------------------------------------------------


def evaluation_get_for_user(*, user: AnyUser, evaluation_id: int, action: Action) -> Evaluation:
    evaluation = (
        Evaluation.objects.filter(pk=evaluation_id).select_related("run", "run__project").first()
    )
    if evaluation is None:
        raise Http404("No such evaluation")
    authorize(
        user=user, project=evaluation.run.project, action=action, missing="No such evaluation"
    )
    return evaluation


def evaluation_list(*, run: Run) -> list[Evaluation]:
    """What the run shows: each line's current version, and any version being scored (a
    re-run in progress next to the version it will replace), newest first."""
    return list(
        run.evaluations.filter(Q(is_current=True) | Q(status__in=Evaluation.ACTIVE)).order_by(
            "-created_at"
        )
    )


def evaluation_history(*, evaluation: Evaluation) -> list[Evaluation]:
    """Every version of the evaluation's line, newest first."""
    return list(
        Evaluation.objects.filter(
            run_id=evaluation.run_id, name=evaluation.name, kind=evaluation.kind
        ).order_by("-version")
    )


def score_list(
    *,
    evaluation: Evaluation,
    low: float | None = None,
    high: float | None = None,
    passed: bool | None = None,
    failed: bool | None = None,
    cluster: int | None = None,
) -> QuerySet[Score]:
    """Scores with their rows, filtered by a value range (an index range scan), pass/fail or
    the duplicate cluster (a dataset-level kind's detail) they belong to."""
    scores = Score.objects.filter(evaluation=evaluation).select_related("row")
    if low is not None:
        scores = scores.filter(value__gte=low)
    if high is not None:
        scores = scores.filter(value__lte=high)
    if passed is not None:
        scores = scores.filter(passed=passed)
    if failed is not None:
        scores = scores.exclude(error="") if failed else scores.filter(error="")
    if cluster is not None:
        scores = scores.filter(detail__cluster=cluster)
    return scores.order_by("row__index")


def row_scores(*, row: Row) -> list[Score]:
    """The row's scores in the run's current evaluations."""
    return list(
        Score.objects.filter(row=row, evaluation__is_current=True)
        .select_related("evaluation")
        .order_by("evaluation__name")
    )


def judge_agreement_pairs(*, evaluation: Evaluation) -> list[tuple[bool, bool]]:
    """(judge passed, human accepted) for each row both decided."""
    rows = Score.objects.filter(
        evaluation=evaluation,
        passed__isnull=False,
        row__review_status__in=[Row.Review.ACCEPTED, Row.Review.REJECTED],
    ).values_list("passed", "row__review_status")
    return [(bool(passed), review == Row.Review.ACCEPTED) for passed, review in rows]


# --- comparing two runs ---------------------------------------------------------------------

MSG_OTHER_PROJECT = "No such run in this project: runs are compared within one project."
COMPARE_CHOICES = 100


def run_pair_get_for_user(*, user: AnyUser, run_id: int, other_run_id: int) -> tuple[Run, Run]:
    """Both runs, each viewable by the user, and in the same project: nothing is compared
    across projects, even by someone who may view both (a 404 either way, so an id of another
    project reveals nothing)."""
    run = run_get_for_user(user=user, run_id=run_id, action=Action.VIEW)
    other = run_get_for_user(user=user, run_id=other_run_id, action=Action.VIEW)
    if other.project_id != run.project_id:
        raise Http404(MSG_OTHER_PROJECT)
    return run, other


def runs_to_compare_with(*, run: Run) -> list[Run]:
    """The project's other runs, those of the same schema first, newest first."""
    return list(
        Run.objects.filter(project_id=run.project_id)
        .exclude(pk=run.pk)
        .annotate(same=Case(When(schema_id=run.schema_id, then=Value(0)), default=Value(1)))
        .order_by("same", "-created_at")[:COMPARE_CHOICES]
    )


def current_evaluations(*, run: Run) -> list[Evaluation]:
    """The run's finished current versions, by name."""
    return list(
        run.evaluations.filter(is_current=True, status=Evaluation.Status.DONE).order_by(
            "name", "kind"
        )
    )


def scores_by_index(*, evaluation: Evaluation) -> Iterator[tuple[int, float | None]]:
    """(row index, value) in index order, streamed."""
    return (
        Score.objects.filter(evaluation=evaluation)
        .order_by("row__index")
        .values_list("row__index", "value")
        .iterator(chunk_size=5000)
    )


def score_details(*, evaluation: Evaluation) -> Iterator[dict]:
    return (
        Score.objects.filter(evaluation=evaluation, error="")
        .values_list("detail", flat=True)
        .iterator(chunk_size=5000)
    )


def row_ids_by_index(*, run: Run, indexes: list[int]) -> dict[int, int]:
    return dict(run.rows.filter(index__in=indexes).values_list("index", "pk"))


def gate_list(*, evaluation: Evaluation) -> QuerySet[QualityGate]:
    """The quality gates run on this evaluation, newest first."""
    return (
        QualityGate.objects.filter(evaluation=evaluation)
        .select_related("created_by")
        .order_by("-created_at")
    )


# Focus mode's filters (``?review=``): which generated rows it walks, in index order.
REVIEW_FILTERS: dict[str, Q] = {
    "pending": Q(review_status=Row.Review.UNREVIEWED),
    "accepted": Q(review_status=Row.Review.ACCEPTED),
    "rejected": Q(review_status=Row.Review.REJECTED),
    "edited": Q(edited_values__isnull=False),
    "all": Q(),
}


@dataclass(frozen=True)
class FocusTable:
    """The review table's filter and order, for focus mode to walk (``review=table``)."""

    table: TableFilter
    user_id: int | None
    duplicate_ids: list[int]
    # The table's own URL parameters, urlencoded: carried along as ``tq``.
    query: str


def focus_rows(*, run: Run, review: str, table: FocusTable | None = None) -> QuerySet[Row]:
    rows = run.rows.filter(status=Row.Status.GENERATED)
    if table is not None:
        q = filter_q(table.table, user_id=table.user_id, duplicate_ids=table.duplicate_ids)
        rows = rows.annotate(**table_annotations(table.table)).filter(q)
        return rows.order_by(*ordering(table.table.sort))
    return rows.filter(REVIEW_FILTERS[review]).order_by("index")


def focus_row(
    *, run: Run, review: str, index: int | None, table: FocusTable | None = None
) -> Row | None:
    """The row at ``index`` (whatever the filter: the reviewer just acted on it; pending too,
    while it is regenerated), or the first row of the filter."""
    shown = run.rows.filter(status__in=[Row.Status.GENERATED, Row.Status.PENDING])
    if index is not None:
        row = shown.select_related("reviewed_by").filter(index=index).first()
        if row is not None:
            return row
    return focus_rows(run=run, review=review, table=table).select_related("reviewed_by").first()


def focus_neighbours(
    *, run: Run, review: str, index: int, table: FocusTable | None = None
) -> tuple[int | None, int | None]:
    """The indexes of the filter's rows just before and after ``index`` in its order (keyset,
    no offset; the row itself may have left the filter, just decided)."""
    rows = focus_rows(run=run, review=review, table=table)
    if table is None:
        indexes = rows.values_list("index", flat=True)
        previous = indexes.filter(index__lt=index).order_by("-index").first()
        following = indexes.filter(index__gt=index).first()
        return previous, following
    sort = table.table.sort
    here = run.rows.annotate(**table_annotations(table.table)).filter(index=index).first()
    if here is None:
        return None, None
    cursor = parse_cursor(sort, sort_cursor(table.table, here))
    before = rows.filter(before_q(sort, cursor)).order_by(*ordering(sort, reverse=True))
    after = rows.filter(after_q(sort, cursor))
    return (
        before.values_list("index", flat=True).first(),
        after.values_list("index", flat=True).first(),
    )


def review_activity(*, run: Run, limit: int = 50) -> list[ReviewAction]:
    """The run's latest review actions, newest first: its activity log."""
    return list(
        ReviewAction.objects.filter(run=run)
        .select_related("user", "row")
        .order_by("-created_at", "-pk")[:limit]
    )
