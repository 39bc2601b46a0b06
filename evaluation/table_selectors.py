"""The review table's rows: a ``TableFilter`` applied to a run, one page at a time by keyset
cursors (no OFFSET), and the snapshot bound a bulk review acts within."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core import signing
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from evaluation.models import Evaluation, Score
from evaluation.table_filter import (
    SORT_KEY,
    TableFilter,
    after_q,
    before_q,
    cursor_text,
    filter_q,
    ordering,
    parse_cursor,
    table_annotations,
)
from evaluation.table_forms import TableContext
from generation.models import Row, Run

BOUND_SALT = "review-table-bound"
MSG_BAD_BOUND = "The confirmation is broken or from another run: open the table and try again"


def table_context(*, run: Run) -> TableContext:
    evaluations = list(
        run.evaluations.filter(is_current=True, status=Evaluation.Status.DONE).order_by(
            "name", "pk"
        )
    )
    return TableContext.of(run, evaluations)


def table_rows(
    *, run: Run, table: TableFilter, context: TableContext, user_id: int | None
) -> QuerySet[Row]:
    """The run's rows the filter shows, in its order."""
    rows = Row.objects.filter(run=run).annotate(**table_annotations(table))
    q = filter_q(table, user_id=user_id, duplicate_ids=context.duplicate_ids)
    return rows.filter(q).order_by(*ordering(table.sort))


@dataclass
class TablePage:
    rows: list[Row]
    count: int
    next_cursor: str = ""
    previous_cursor: str = ""
    scores: dict[int, list[Score | None]] = field(default_factory=dict)


def sort_cursor(table: TableFilter, row: Row) -> str:
    """The row's place in the table's order (the row annotated by ``table_rows``)."""
    by = table.sort.by
    value = row.index if by == "index" else row.finished_at if by == "time" else None
    if by in ("score", "length"):
        value = getattr(row, SORT_KEY)
    return cursor_text(table.sort, value, row.index)


def table_page(
    *, rows: QuerySet[Row], table: TableFilter, after: str = "", before: str = ""
) -> TablePage:
    """One page of ``rows`` after or before a cursor (CursorError for a broken one), with the
    filter's count: two queries, whatever the page."""
    size, sort = table.page_size, table.sort
    shown = rows.select_related("reviewed_by")
    if before:
        found = list(
            shown.filter(before_q(sort, parse_cursor(sort, before))).order_by(
                *ordering(sort, reverse=True)
            )[: size + 1]
        )
        more_before, found = len(found) > size, found[:size][::-1]
        more_after = True
    else:
        if after:
            shown = shown.filter(after_q(sort, parse_cursor(sort, after)))
        found = list(shown[: size + 1])
        more_after, found = len(found) > size, found[:size]
        more_before = bool(after)
    page = TablePage(rows=found, count=rows.count())
    if found and more_after:
        page.next_cursor = sort_cursor(table, found[-1])
    if found and more_before:
        page.previous_cursor = sort_cursor(table, found[0])
    return page


def page_scores(*, rows: list[Row], evaluations: list[Evaluation]) -> dict[int, list[Any]]:
    """Each row's score in each evaluation (None where it has none): one query."""
    by_id = {evaluation.pk: evaluation for evaluation in evaluations}
    found = {}
    for score in Score.objects.filter(
        row_id__in=[row.pk for row in rows], evaluation__in=evaluations
    ):
        score.evaluation = by_id[score.evaluation_id]  # the badge shows its name
        found[(score.row_id, score.evaluation_id)] = score
    return {row.pk: [found.get((row.pk, e.pk)) for e in evaluations] for row in rows}


# --- the snapshot a bulk review acts within ------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """The rows as they were when the reviewer saw the count: none newer than ``max_pk``,
    none finished or reviewed after ``at``."""

    run_id: int
    max_pk: int
    at: datetime

    def q(self) -> Q:
        return (
            Q(pk__lte=self.max_pk)
            & (Q(finished_at__isnull=True) | Q(finished_at__lte=self.at))
            & (Q(reviewed_at__isnull=True) | Q(reviewed_at__lte=self.at))
        )

    def sign(self) -> str:
        return signing.dumps(
            {"run": self.run_id, "pk": self.max_pk, "at": self.at.isoformat()}, salt=BOUND_SALT
        )


class BoundError(ValueError):
    pass


def bound_now(*, run: Run) -> Bound:
    max_pk = Row.objects.filter(run=run).aggregate(top=Max("pk"))["top"] or 0
    return Bound(run.pk, max_pk, timezone.now())


def bound_parse(*, run: Run, text: str) -> Bound:
    try:
        data = signing.loads(text, salt=BOUND_SALT)
        bound = Bound(int(data["run"]), int(data["pk"]), datetime.fromisoformat(data["at"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise BoundError(MSG_BAD_BOUND) from None
    if bound.run_id != run.pk:
        raise BoundError(MSG_BAD_BOUND)
    return bound


def bulk_target(
    *,
    run: Run,
    table: TableFilter,
    context: TableContext,
    user_id: int | None,
    row_ids: list[int] | None = None,
) -> QuerySet[Row]:
    """The generated rows a bulk review names: those of ``row_ids`` the filter shows, or
    every row it shows (the snapshot bound is the caller's)."""
    rows = table_rows(run=run, table=table, context=context, user_id=user_id)
    if row_ids is not None:
        rows = rows.filter(pk__in=row_ids)
    return rows.filter(status=Row.Status.GENERATED)
