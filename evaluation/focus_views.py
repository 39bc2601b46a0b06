"""Focus mode: one row at a time, decided, edited and undone with the keyboard
(static/js/focus.js) or the buttons. Every change goes through services.row_review_change or
services.review_undo; every response is the focus fragment (htmx) or a redirect to the page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import push_url

from evaluation import selectors, services, table_selectors
from evaluation.panels import row_scores_panel
from evaluation.review_values import (
    EditError,
    column_infos,
    display_text,
    parse_edit,
    shown_values,
)
from evaluation.row_regeneration import llm_column_names
from evaluation.table_filter import TableFilter
from evaluation.table_forms import TableFilterForm
from generation.models import Row, RowVersion, Run
from generation.selectors import row_history, run_get_for_user
from studio.permissions import Action
from studio.signed_in import SignedInRequest

DEFAULT_FILTER = "pending"
# Focus mode walking the review table's filter and order (evaluation/table_views.py).
TABLE = "table"

# A row being regenerated polls for its new values every second, at most this many times
# (then it says to reload): bounded, whatever happens to the workers.
MAX_POLLS = 300


def _filter(data: Any) -> str:
    review = data.get("review", DEFAULT_FILTER)
    if review == TABLE:
        return TABLE
    return review if review in selectors.REVIEW_FILTERS else DEFAULT_FILTER


def _table(request: SignedInRequest, run: Run, review: str) -> selectors.FocusTable | None:
    """The review table's filter and order (``review=table``, its parameters in ``tq``); a
    broken one falls back to every row in index order."""
    if review != TABLE:
        return None
    data = request.POST if request.method == "POST" else request.GET
    query = str(data.get("tq", ""))[:2000]
    context = table_selectors.table_context(run=run)
    form = TableFilterForm(QueryDict(query), table=context)
    table = form.table_filter() if form.is_valid() else TableFilter()
    return selectors.FocusTable(table, request.user.pk, context.duplicate_ids, query)


def _index(value: object) -> int | None:
    try:
        index = int(str(value))
    except (TypeError, ValueError):
        return None
    return index if 0 <= index < 2**31 else None


def _focus_url(
    run: Run, review: str, index: int | None, table: selectors.FocusTable | None = None
) -> str:
    query = {"review": review} | ({"row": str(index)} if index is not None else {})
    query |= {"tq": table.query} if table is not None else {}
    return f"{reverse('run-review', args=[run.pk])}?{urlencode(query)}"


def _history(row: Row) -> list[RowVersion]:
    """The row's earlier versions, newest first, each with ``shown``: the values of the
    columns regenerated after it (what changed), printed as focus mode prints values."""
    versions = row_history(row=row)
    for version in versions:
        version.shown = [  # type: ignore[attr-defined]
            (name, display_text(version.values[name]))
            for name in version.columns
            if name in version.values
        ]
    return versions


def _context(
    run: Run, review: str, row: Row | None, table: selectors.FocusTable | None, **extra: Any
) -> dict[str, Any]:
    context: dict[str, Any] = {
        "run": run,
        "project": run.project,
        "review": review,
        "tq": table.query if table is not None else "",
        "filters": list(selectors.REVIEW_FILTERS),
        "row": row,
        "left": selectors.focus_rows(run=run, review=review, table=table).count(),
        "activity": selectors.review_activity(run=run, limit=15),
        "error": "",
        "error_column": "",
    } | extra
    if row is not None:
        previous, following = selectors.focus_neighbours(
            run=run, review=review, index=row.index, table=table
        )
        edit_error = {context["error_column"]: context["error"]} if context["error_column"] else {}
        values = shown_values(column_infos(run.spec), row.values, row.edited_values)
        for value in values:
            value.error = edit_error.get(value.name, "")
            value.prompt = row.prompts.get(value.name)
            if value.error:
                value.edit_text = extra.get("typed", value.edit_text)
        poll = context.get("poll", 0)
        context |= {
            "previous": previous,
            "following": following,
            "values": values,
            "scores": row_scores_panel(row),
            "history": _history(row),
            "llm_columns": llm_column_names(run.spec),
            "polling": row.status == Row.Status.PENDING and poll < MAX_POLLS,
            "next_poll": poll + 1,
        }
    return context


def _respond(
    request: SignedInRequest, run: Run, review: str, index: int | None, **extra: Any
) -> HttpResponse:
    table = _table(request, run, review)
    row = selectors.focus_row(run=run, review=review, index=index, table=table)
    if not request.htmx and request.method == "POST" and "error" not in extra:
        return redirect(_focus_url(run, review, row.index if row else None, table))
    context = _context(run, review, row, table, **extra)
    if not request.htmx:
        return render(request, "evaluation/review_focus.html", context)
    response = render(request, "evaluation/partials/focus.html", context)
    return push_url(response, _focus_url(run, review, row.index if row else None, table))


@login_required
def review_focus(request: SignedInRequest, run_id: int) -> HttpResponse:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.REVIEW_ROWS)
    poll = _index(request.GET.get("poll")) or 0
    return _respond(request, run, _filter(request.GET), _index(request.GET.get("row")), poll=poll)


def _posted_row(run: Run, data: Any) -> Row | None:
    index = _index(data.get("row"))
    if index is None:
        return None
    return selectors.focus_row(run=run, review="all", index=index)


@login_required
@require_POST
def review_focus_decide(request: SignedInRequest, run_id: int) -> HttpResponse:
    """Decide the row and move on to the next row of the filter."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.REVIEW_ROWS)
    review, row = _filter(request.POST), _posted_row(run, request.POST)
    decision = request.POST.get("decision", "")
    if row is None:
        return _respond(request, run, review, None, error="That row is not in this run")
    try:
        services.row_review_change(row=row, user=request.user, decision=decision)
    except services.ReviewError as exc:
        return _respond(request, run, review, row.index, error=str(exc))
    table = _table(request, run, review)
    _, following = selectors.focus_neighbours(run=run, review=review, index=row.index, table=table)
    return _respond(request, run, review, following if following is not None else row.index)


@login_required
@require_POST
def review_focus_edit(request: SignedInRequest, run_id: int) -> HttpResponse:
    """Save one column's edited value; a value that does not parse or follow the column's
    schema is shown back with the reason next to the field, and nothing is saved."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.REVIEW_ROWS)
    review, row = _filter(request.POST), _posted_row(run, request.POST)
    if row is None:
        return _respond(request, run, review, None, error="That row is not in this run")
    column, typed = request.POST.get("column", ""), request.POST.get("value", "")
    infos = column_infos(run.spec)
    try:
        if column not in infos:
            raise EditError(f"'{column}' is not an output column of this run")
        value = parse_edit(infos[column], row.values.get(column), typed)
        services.row_review_change(row=row, user=request.user, edits={column: value})
    except (EditError, services.ReviewError) as exc:
        return _respond(
            request, run, review, row.index, error=str(exc), error_column=column, typed=typed
        )
    return _respond(request, run, review, row.index)


@login_required
@require_POST
def review_focus_undo(request: SignedInRequest, run_id: int) -> HttpResponse:
    """Undo the user's last action on the run and show the row it changed."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.REVIEW_ROWS)
    review = _filter(request.POST)
    try:
        action = services.review_undo(run=run, user=request.user)
    except services.ReviewError as exc:
        return _respond(request, run, review, _index(request.POST.get("row")), error=str(exc))
    index = action.row.index if action.row is not None else None
    return _respond(request, run, review, index, notice=f"Undone: {action.get_kind_display()}")
