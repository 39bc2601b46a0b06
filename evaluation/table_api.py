"""REST endpoints of the review table: a run's rows with the table's filters (the same
parameters as the page's URL, evaluation/table_forms.py), paged by keyset cursors, and bulk
review of a filter or of listed rows within a snapshot bound (evaluation/bulk.py)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from django.http import QueryDict
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from evaluation import table_selectors
from evaluation.bulk import bulk_review
from evaluation.table_filter import CursorError
from evaluation.table_forms import TableFilterForm
from generation.api import RowOut
from generation.models import Run
from generation.selectors import run_get_for_user
from studio.api_input import InputSchema
from studio.permissions import Action
from studio.signed_in import SignedInRequest

router = Router(tags=["review and export"])
MAX_ROW_IDS = 5000


class TableQuery(Schema):
    """The table's filters; each current evaluation adds ``s<id>_min``, ``s<id>_max`` and
    ``s<id>_pass`` (pass/fail), read like the others."""

    status: str | None = None
    review: str | None = None
    q: str | None = None
    column: str | None = None
    value: str | None = None
    duplicates: str | None = None
    edited: str | None = None
    sort: str | None = None
    size: int | None = None
    after: str | None = None
    before: str | None = None


class TablePageOut(Schema):
    count: int
    next: str = Field(description="Pass as `after` for the next page; empty on the last")
    previous: str = Field(description="Pass as `before` for the previous page")
    bound: str = Field(description="The snapshot to pass to a bulk review of these rows")
    items: list[RowOut]


class BulkIn(InputSchema):
    decision: Literal["accepted", "rejected"]
    filter: dict[str, str] | None = Field(
        default=None, description="The table's filter parameters (as in the GET)"
    )
    row_ids: list[int] | None = Field(default=None, max_length=MAX_ROW_IDS)
    bound: str | None = Field(
        default=None, description="From the GET: rows newer or changed since are left alone"
    )


class BulkOut(Schema):
    count: int
    batch: UUID


def _form(run: Run, data: QueryDict) -> tuple[TableFilterForm, Any]:
    context = table_selectors.table_context(run=run)
    form = TableFilterForm(data, table=context)
    if not form.is_valid():
        raise HttpError(422, form.error_text())
    return form, context


@router.get("/runs/{run_id}/review/table", response=TablePageOut)
def table_rows(request: SignedInRequest, run_id: int, filters: Query[TableQuery]) -> Any:
    """The run's rows the filters show, one page (``size`` 25, 50 or 100) after or before a
    cursor, with the count of all of them and the bound a bulk review of them needs."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    form, context = _form(run, request.GET)
    table = form.table_filter()
    rows = table_selectors.table_rows(
        run=run, table=table, context=context, user_id=request.user.pk
    )
    bound = table_selectors.bound_now(run=run)
    try:
        page = table_selectors.table_page(
            rows=rows,
            table=table,
            after=form.cleaned_data["after"],
            before=form.cleaned_data["before"],
        )
    except CursorError as exc:
        raise HttpError(422, str(exc)) from None
    return {
        "count": page.count,
        "next": page.next_cursor,
        "previous": page.previous_cursor,
        "bound": bound.sign(),
        "items": page.rows,
    }


@router.post("/runs/{run_id}/review/bulk", response=BulkOut)
def bulk(request: SignedInRequest, run_id: int, payload: BulkIn) -> Any:
    """Accept or reject the listed rows, or every row the filter shows, within ``bound`` (or
    the rows as they are now); one undo (``/review/undo``) puts them all back. 400 when no
    row matches."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.REVIEW_ROWS)
    data = QueryDict(mutable=True)
    data.update(payload.filter or {})
    form, context = _form(run, data)
    try:
        bound = (
            table_selectors.bound_parse(run=run, text=payload.bound)
            if payload.bound
            else table_selectors.bound_now(run=run)
        )
    except table_selectors.BoundError as exc:
        raise HttpError(400, str(exc)) from None
    rows = table_selectors.bulk_target(
        run=run,
        table=form.table_filter(),
        context=context,
        user_id=request.user.pk,
        row_ids=payload.row_ids,
    )
    result = bulk_review(
        run=run, user=request.user, decision=payload.decision, rows=rows.filter(bound.q())
    )
    return {"count": result.count, "batch": result.batch}
