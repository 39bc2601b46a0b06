"""The review table (``/runs/<id>/review/table/``): a run's rows filtered, sorted and paged by
the parameters in its URL (evaluation/table_forms.py), and bulk accept/reject of a selection or
of everything the filter shows, confirmed with the count and acted on within the snapshot the
reviewer saw (evaluation/bulk.py). Viewing needs VIEW; acting needs REVIEW_ROWS."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from evaluation import services, table_selectors
from evaluation.bulk import bulk_review
from evaluation.table_filter import CursorError
from evaluation.table_forms import TableFilterForm, filter_params
from generation.models import Row, Run
from generation.selectors import run_get_for_user
from studio.permissions import Action
from studio.signed_in import SignedInRequest

MAX_SELECTED = 500
DECISION_WORDS = {"accepted": "Accept", "rejected": "Reject"}


def _table_url(run: Run, params: dict[str, str], **extra: str) -> str:
    query = urlencode(params | extra)
    return reverse("run-review-table", args=[run.pk]) + (f"?{query}" if query else "")


def _form(run: Run, data: Any) -> tuple[TableFilterForm, Any]:
    context = table_selectors.table_context(run=run)
    return TableFilterForm(data, table=context), context


@login_required
def review_table(request: SignedInRequest, run_id: int) -> HttpResponse:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    form, context = _form(run, request.GET)
    params = filter_params(form)
    page_context: dict[str, Any] = {
        "run": run,
        "project": run.project,
        "form": form,
        "table": context,
        "params": params,
        "query": urlencode(params),
        "page": None,
    }
    if not form.is_valid():
        page_context["error"] = form.error_text()
        return render(request, "evaluation/review_table.html", page_context, status=400)
    table = form.table_filter()
    rows = table_selectors.table_rows(
        run=run, table=table, context=context, user_id=request.user.pk
    )
    try:
        page = table_selectors.table_page(
            rows=rows,
            table=table,
            after=form.cleaned_data["after"],
            before=form.cleaned_data["before"],
        )
    except CursorError as exc:
        page_context["error"] = str(exc)
        return render(request, "evaluation/review_table.html", page_context, status=400)
    scores = table_selectors.page_scores(rows=page.rows, evaluations=context.scored)
    columns = run.spec.output_columns()
    page_context |= {
        "page": page,
        "lines": [(row, _cells(row, columns), scores[row.pk]) for row in page.rows],
        "columns": columns,
        "next_url": _table_url(run, params, after=page.next_cursor) if page.next_cursor else "",
        "previous_url": (
            _table_url(run, params, before=page.previous_cursor) if page.previous_cursor else ""
        ),
        "first_url": _table_url(run, params),
    }
    return render(request, "evaluation/review_table.html", page_context)


def _cells(row: Row, columns: list[str]) -> list[str]:
    values = row.final_values
    return [
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        for value in (values.get(column, "") for column in columns)
    ]


def _decision_scope(data: Any) -> tuple[str, str]:
    """``bulk=rejected:filter`` (the table's buttons) or ``decision`` and ``scope``."""
    if data.get("bulk"):
        decision, _, scope = str(data["bulk"]).partition(":")
        return decision, scope
    return data.get("decision", ""), data.get("scope", "filter")


def _selected(data: Any) -> list[int]:
    ids = []
    for value in data.getlist("row")[:MAX_SELECTED]:
        try:
            ids.append(int(value))
        except ValueError:
            continue
    return ids


def _bulk_rows(
    request: SignedInRequest, run: Run, form: TableFilterForm, context: Any, scope: str
) -> Any:
    """The rows a bulk review names: the ticked ones, or everything the filter shows."""
    return table_selectors.bulk_target(
        run=run,
        table=form.table_filter(),
        context=context,
        user_id=request.user.pk,
        row_ids=_selected(request.POST) if scope == "selected" else None,
    )


@login_required
@require_POST
def review_table_bulk(request: SignedInRequest, run_id: int) -> HttpResponse:
    """Step one (no ``bound``): the confirmation, with the count and the snapshot bound.
    Step two (``bound`` sent back): the bulk review of exactly those rows."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.REVIEW_ROWS)
    form, context = _form(run, request.POST)
    params = filter_params(form)
    decision, scope = _decision_scope(request.POST)
    if not form.is_valid() or decision not in DECISION_WORDS:
        messages.error(request, form.error_text() if form.errors else "Accept or reject?")
        return redirect(_table_url(run, params))
    rows = _bulk_rows(request, run, form, context, scope)
    if not request.POST.get("bound"):
        bound = table_selectors.bound_now(run=run)
        return render(
            request,
            "evaluation/review_bulk_confirm.html",
            {
                "run": run,
                "project": run.project,
                "params": params,
                "decision": decision,
                "verb": DECISION_WORDS[decision],
                "scope": scope,
                "selected": _selected(request.POST),
                "count": rows.filter(bound.q()).count(),
                "bound": bound.sign(),
                "back": _table_url(run, params),
            },
        )
    return _bulk_apply(request, run, rows, decision, params)


def _bulk_apply(
    request: SignedInRequest, run: Run, rows: Any, decision: str, params: dict[str, str]
) -> HttpResponse:
    try:
        bound = table_selectors.bound_parse(run=run, text=request.POST["bound"])
        result = bulk_review(
            run=run, user=request.user, decision=decision, rows=rows.filter(bound.q())
        )
    except (table_selectors.BoundError, services.ReviewError) as exc:
        messages.error(request, str(exc))
        return redirect(_table_url(run, params))
    word = "Accepted" if decision == "accepted" else "Rejected"
    messages.success(
        request, f"{word} {result.count} row{'s' if result.count != 1 else ''}: undo puts them back"
    )
    return redirect(_table_url(run, params))


@login_required
@require_POST
def review_table_undo(request: SignedInRequest, run_id: int) -> HttpResponse:
    """Undo the user's last review action on the run (a whole bulk review at once)."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.REVIEW_ROWS)
    form, _ = _form(run, request.POST)
    try:
        action = services.review_undo(run=run, user=request.user)
    except services.ReviewError as exc:
        messages.error(request, str(exc))
    else:
        restored = getattr(action, "restored", 1)
        kept = getattr(action, "kept", 0)
        note = f"; {kept} changed since by someone else kept their change" if kept else ""
        messages.success(
            request, f"Undone: {restored} row{'s' if restored != 1 else ''} put back{note}"
        )
    return redirect(_table_url(run, filter_params(form)))
