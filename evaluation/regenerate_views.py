"""Regenerating a row from review: in focus mode (a confirmation in the focus fragment, then
the row polls until its new values are there) and from the row's page. Both name the columns
that will be regenerated (those asked and their dependants) and the budget left before the
POST; both go through row_regeneration.row_regenerate. Spending money: OPERATE_RUNS."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from evaluation.focus_views import _filter, _index, _respond
from evaluation.row_regeneration import RegenerationPlan, regeneration_plan, row_regenerate
from evaluation.services import ReviewError
from generation.models import Row, Run
from generation.selectors import row_get_for_user, run_get_for_user
from generation.services import RunError
from studio.permissions import Action
from studio.signed_in import SignedInRequest

MSG_STARTED = "Regenerating {columns} of row #{index}: the new values appear here when done"
MSG_STARTED_PAGE = "Regenerating {columns} of row #{index}: reload this page to see the new values"


def _columns(data: Any) -> list[str] | None:
    """The columns asked for (``column``, repeatable); None for every model column."""
    names = [name for name in data.getlist("column") if name]
    return names or None


def _row_at(run: Run, data: Any) -> Row | None:
    """The run's row at the posted index, exactly (not the filter's first row instead)."""
    index = _index(data.get("row"))
    return None if index is None else run.rows.filter(index=index).first()


def _started(plan: RegenerationPlan, message: str = MSG_STARTED) -> str:
    return message.format(columns=", ".join(plan.columns), index=plan.row.index)


@login_required
@require_http_methods(["GET", "POST"])
def review_focus_regenerate(request: SignedInRequest, run_id: int) -> HttpResponse:
    """GET: the confirmation in focus mode; POST: regenerate, and show the row pending."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.OPERATE_RUNS)
    data = request.POST if request.method == "POST" else request.GET
    review, row = _filter(data), _row_at(run, data)
    if row is None:
        return _respond(request, run, review, None, error="That row is not in this run")
    columns = _columns(data)
    try:
        if request.method == "GET":
            plan = regeneration_plan(row=row, columns=columns)
            return _respond(request, run, review, row.index, confirm=plan, asked=columns or [])
        plan = row_regenerate(row=row, user=request.user, columns=columns)
    except (RunError, ReviewError) as exc:
        return _respond(request, run, review, row.index, error=str(exc))
    return _respond(request, run, review, row.index, notice=_started(plan))


@login_required
@require_http_methods(["GET", "POST"])
def row_regenerate_page(request: SignedInRequest, row_id: int) -> HttpResponse:
    """The row page's regeneration: GET the confirmation, POST to regenerate and go back."""
    row = row_get_for_user(user=request.user, row_id=row_id, action=Action.OPERATE_RUNS)
    data = request.POST if request.method == "POST" else request.GET
    columns = _columns(data)
    plan, error = None, ""
    try:
        if request.method == "POST":
            done = row_regenerate(row=row, user=request.user, columns=columns)
            messages.success(request, _started(done, MSG_STARTED_PAGE))
            return redirect("row-detail", row.pk)
        plan = regeneration_plan(row=row, columns=columns)
    except (RunError, ReviewError) as exc:
        error = str(exc)
    context = {
        "row": row,
        "run": row.run,
        "project": row.run.project,
        "plan": plan,
        "asked": columns or [],
        "error": error,
    }
    return render(request, "evaluation/row_regenerate.html", context, status=400 if error else 200)
