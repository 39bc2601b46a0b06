"""The review table's filter as data (``TableFilter``) and what it means for the database: the
``Q`` of the rows it shows, the sort key, and keyset cursors ("after this row" / "before this
row") for every sort, so no page needs an OFFSET. No queries run here: the selectors apply it
(evaluation/table_selectors.py), the form parses it from the URL (evaluation/table_forms.py)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, Subquery, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Length

from evaluation.models import Score
from generation.models import Row

STATUSES = ("pending", "generated", "failed")
REVIEWS = ("unreviewed", "accepted", "rejected", "mine")
PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
MAX_SEARCH = 200
SORT_KEY = "table_sort_key"
SEARCH_TEXT = "table_search_text"


@dataclass(frozen=True)
class ScoreFilter:
    """Rows with a score of ``evaluation_id`` in [low, high] and/or that passed (or failed)."""

    evaluation_id: int
    low: float | None = None
    high: float | None = None
    passed: bool | None = None

    @property
    def active(self) -> bool:
        return self.low is not None or self.high is not None or self.passed is not None


@dataclass(frozen=True)
class Sort:
    """``by`` is "index", "time", "score" (of ``target``, an evaluation id) or "length" (of
    ``target``, a column); ties are broken by the row index in the same direction."""

    by: str = "index"
    target: str = ""
    descending: bool = False

    def param(self) -> str:
        name = f"{self.by}:{self.target}" if self.target else self.by
        return f"-{name}" if self.descending else name


@dataclass(frozen=True)
class TableFilter:
    status: str = ""
    review: str = ""
    scores: tuple[ScoreFilter, ...] = ()
    duplicates: bool | None = None
    search: str = ""
    column: str = ""
    value: str = ""
    edited: bool | None = None
    sort: Sort = field(default_factory=Sort)
    page_size: int = DEFAULT_PAGE_SIZE

    def with_sort(self, sort: Sort) -> TableFilter:
        return replace(self, sort=sort)


def filter_q(table: TableFilter, *, user_id: int | None, duplicate_ids: list[int]) -> Q:
    """The rows of a run the filter shows (the run itself is the caller's filter).
    ``duplicate_ids``: the run's current duplicates evaluations, for the duplicates flag.
    A search needs ``table_annotations(table)`` on the queryset."""
    q = Q()
    if table.status:
        q &= Q(status=table.status)
    if table.review == "mine":
        q &= Q(reviewed_by_id=user_id) & ~Q(review_status=Row.Review.UNREVIEWED)
    elif table.review:
        q &= Q(review_status=table.review)
    for score in table.scores:
        if score.active:
            q &= Q(Exists(_score_rows(score)))
    if table.duplicates is not None:
        in_cluster = Exists(
            Score.objects.filter(
                row=OuterRef("pk"),
                evaluation_id__in=duplicate_ids,
                detail__cluster_size__gt=1,
            )
        )
        q &= Q(in_cluster) if table.duplicates else ~Q(in_cluster)
    if table.search:
        q &= Q(**{f"{SEARCH_TEXT}__icontains": table.search[:MAX_SEARCH]})
    if table.column and table.value:
        q &= Q(values__contains={table.column: table.value})
    if table.edited is not None:
        q &= Q(edited_values__isnull=not table.edited)
    return q


def _score_rows(score: ScoreFilter) -> Any:
    scores = Score.objects.filter(row=OuterRef("pk"), evaluation_id=score.evaluation_id)
    if score.low is not None:
        scores = scores.filter(value__gte=score.low)
    if score.high is not None:
        scores = scores.filter(value__lte=score.high)
    if score.passed is not None:
        scores = scores.filter(passed=score.passed)
    return scores


def table_annotations(table: TableFilter) -> dict[str, Any]:
    """What ``filter_q`` and ``ordering`` refer to: the searched text and the sort key."""
    found: dict[str, Any] = {}
    if table.search:
        found[SEARCH_TEXT] = Cast(Coalesce("edited_values", "values"), TextField())
    sort = table.sort
    if sort.by == "score":
        found[SORT_KEY] = Subquery(
            Score.objects.filter(row=OuterRef("pk"), evaluation_id=int(sort.target)).values(
                "value"
            )[:1]
        )
    elif sort.by == "length":
        found[SORT_KEY] = Length(KeyTextTransform(sort.target, Coalesce("edited_values", "values")))
    return found


def key_name(sort: Sort) -> str:
    return {"index": "index", "time": "finished_at"}.get(sort.by, SORT_KEY)


def ordering(sort: Sort, *, reverse: bool = False) -> list[Any]:
    """The sort key (missing values last) then the index; ``reverse`` walks it backwards."""
    descending = sort.descending != reverse
    key = F(key_name(sort))
    if sort.by == "index":
        return [key.desc() if descending else key.asc()]
    nulls = {"nulls_first": True} if reverse else {"nulls_last": True}
    first = key.desc(**nulls) if descending else key.asc(**nulls)
    return [first, F("index").desc() if descending else F("index").asc()]


# --- keyset cursors ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A row's place in the sort: its key value (None when it has none) and its index."""

    value: float | datetime | None
    index: int


class CursorError(ValueError):
    pass


def cursor_text(sort: Sort, value: object, index: int) -> str:
    if sort.by == "index":
        return str(index)
    if value is None:
        return f"~{index}"
    shown = value.isoformat() if isinstance(value, datetime) else repr(float(str(value)))
    return f"{shown}~{index}"


MSG_BROKEN_CURSOR = "That page link is broken: start again from the first page"


def parse_cursor(sort: Sort, text: str) -> Cursor:
    """A cursor as ``cursor_text`` wrote it; CursorError for anything else."""
    try:
        return _parse_cursor(sort, text)
    except (ValueError, OverflowError):
        raise CursorError(MSG_BROKEN_CURSOR) from None


def _parse_cursor(sort: Sort, text: str) -> Cursor:
    if sort.by == "index":
        return Cursor(None, _index(text))
    shown, _, index = text.rpartition("~")
    if not shown:
        return Cursor(None, _index(index))
    if sort.by == "time":
        return Cursor(datetime.fromisoformat(shown), _index(index))
    value = float(shown)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(shown)
    return Cursor(value, _index(index))


def _index(text: str) -> int:
    index = int(text)
    if not 0 <= index < 2**31:
        raise ValueError(text)
    return index


def after_q(sort: Sort, cursor: Cursor) -> Q:
    """The rows after ``cursor`` in the sort (missing values last)."""
    index_after = Q(index__lt=cursor.index) if sort.descending else Q(index__gt=cursor.index)
    if sort.by == "index":
        return index_after
    key = key_name(sort)
    if cursor.value is None:
        return Q(**{f"{key}__isnull": True}) & index_after
    beyond = "lt" if sort.descending else "gt"
    return (
        Q(**{f"{key}__{beyond}": cursor.value})
        | (Q(**{key: cursor.value}) & index_after)
        | Q(**{f"{key}__isnull": True})
    )


def before_q(sort: Sort, cursor: Cursor) -> Q:
    """The rows before ``cursor`` in the sort."""
    index_before = Q(index__gt=cursor.index) if sort.descending else Q(index__lt=cursor.index)
    if sort.by == "index":
        return index_before
    key = key_name(sort)
    if cursor.value is None:
        return Q(**{f"{key}__isnull": False}) | (Q(**{f"{key}__isnull": True}) & index_before)
    within = "gt" if sort.descending else "lt"
    return Q(**{f"{key}__{within}": cursor.value}) | (Q(**{key: cursor.value}) & index_before)
