"""Run pages: start, watch, control; and the schema preview."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import escape
from django.views.decorators.http import require_POST

from generation import live, services
from generation.connection_check import ConnectionCheckFailed, credential_check_connection
from generation.forms import BudgetForm, PreviewForm, RetryMatchingForm, RunStartForm
from generation.live.fragments import ERRORS_SHOWN, run_page_context
from generation.live.panels import row_panels, run_panels, with_badges
from generation.preview import preview_rows
from generation.selectors import (
    row_get_for_user,
    row_history,
    row_list,
    row_list_recent,
    row_llm_calls,
    row_other_errors,
    run_error_summary,
    run_get_for_user,
    run_lines,
    run_list_for_board,
)
from studio.form_validation import form_messages
from studio.forms import build_column_formset, spec_from_formset
from studio.permissions import Action
from studio.schema import SchemaError
from studio.selectors import credential_get_for_user, project_get_for_user, schema_get_for_user
from studio.services import schema_validate
from studio.signed_in import SignedInRequest


@login_required
@require_POST
def run_create(request: SignedInRequest, schema_id: int) -> HttpResponse:
    schema = schema_get_for_user(user=request.user, schema_id=schema_id, action=Action.OPERATE_RUNS)
    form = RunStartForm(request.POST)
    if not form.is_valid():
        for message in form_messages(form):
            messages.error(request, message)
        return redirect("schema-edit", schema.pk)
    try:
        run = services.run_create(schema=schema, user=request.user, **form.cleaned_data)
    except (services.RunError, SchemaError) as exc:
        messages.error(request, str(exc))
        return redirect("schema-edit", schema.pk)
    return redirect("run-detail", run.pk)


@login_required
def run_detail(request: SignedInRequest, run_id: int) -> HttpResponse:
    """The live page. Rendered whole from the database, so a plain reload shows the truth; the
    websocket then replaces the same fragments as the run goes."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    context = run_page_context(run=run, columns=run.spec.output_columns()) | {
        "project": run.project,
        "error_summary": run_error_summary(run=run, limit=ERRORS_SHOWN),
        "rows": with_badges(row_list_recent(run=run, limit=live.LIVE_ROWS_SHOWN)),
        "panels": run_panels(run).values(),
    }
    return render(request, "generation/run_detail.html", context)


@login_required
def row_detail(request: SignedInRequest, row_id: int) -> HttpResponse:
    """One row's prompts, raw answers, attempts and errors: the run page's side panel (htmx),
    or a page of its own."""
    row = row_get_for_user(user=request.user, row_id=row_id, action=Action.VIEW)
    calls = row_llm_calls(row=row)
    context = {
        "row": row,
        "run": row.run,
        "project": row.run.project,
        "llm_calls": calls,
        "other_errors": row_other_errors(row=row, calls=calls),
        "in_panel": bool(request.htmx),
        "panels": row_panels(row),
        "versions": row_history(row=row),
    }
    if request.htmx:
        return render(request, "generation/partials/row_detail.html", context)
    return render(request, "generation/row_detail.html", context)


@login_required
def run_board(request: SignedInRequest, project_id: int | None = None) -> HttpResponse:
    """Runs with their status and progress, for the dashboard (all the user's projects) and a
    project page. It polls itself while a run in it is going, and stops when none is."""
    project = None
    if project_id is not None:
        project = project_get_for_user(user=request.user, project_id=project_id, action=Action.VIEW)
    runs = run_list_for_board(user=request.user, project=project, limit=live.STATUS_RUNS_SHOWN)
    lines = run_lines(runs=runs)
    context = {
        "lines": lines,
        "project": project,
        "polling": any(line.run.is_active for line in lines),
        "poll_seconds": live.STATUS_POLL_SECONDS,
    }
    return render(request, "generation/partials/run_board.html", context)


@login_required
def run_rows(request: SignedInRequest, run_id: int) -> HttpResponse:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    status = request.GET.get("status") or None
    review = request.GET.get("review") or None
    page = Paginator(row_list(run=run, status=status, review=review), 50).get_page(
        request.GET.get("page")
    )
    context = {
        "run": run,
        "project": run.project,
        "page": page,
        "rows": with_badges(list(page.object_list)),
        "columns": run.spec.output_columns(),
        "status": status or "",
        "review": review or "",
    }
    return render(request, "generation/run_rows.html", context)


@login_required
@require_POST
def run_action(request: SignedInRequest, run_id: int, action: str) -> HttpResponse:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.OPERATE_RUNS)
    handler = services.RUN_ACTIONS.get(action)
    if handler is None:
        return HttpResponse(status=404)
    try:
        handler(run=run)  # publishes the new state to every open page once committed
    except services.RunError as exc:
        messages.error(request, str(exc))
    if request.htmx:
        # Every open page, this one included, learns the new state over its websocket.
        return HttpResponse(status=204)
    return redirect("run-detail", run.pk)


@login_required
@require_POST
def run_retry_matching(request: SignedInRequest, run_id: int) -> HttpResponse:
    """The errors panel's "retry these": the failed rows with one error message."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.OPERATE_RUNS)
    form = RetryMatchingForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Say which error message to retry.", status=400)
    services.run_retry_failed_matching(run=run, message=form.cleaned_data["message"])
    if request.htmx:
        return HttpResponse(status=204)  # every open page learns the new state by websocket
    return redirect("run-detail", run.pk)


@login_required
@require_POST
def run_budget(request: SignedInRequest, run_id: int) -> HttpResponse:
    """Change the budget. Answers htmx with 204 (the websocket brings the new state) or with
    the error text to show beside the form."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.CHANGE_BUDGET)
    form = BudgetForm(request.POST)
    error = " ".join(form_messages(form))
    if form.is_valid():
        try:
            services.run_set_budget(run=run, budget_usd=form.cleaned_data["budget_usd"])
        except services.RunError as exc:
            error = str(exc)
        else:
            if request.htmx:
                return HttpResponse(status=204)
            return redirect("run-detail", run.pk)
    if request.htmx:
        return HttpResponse(escape(error))  # swapped into the page as HTML
    messages.error(request, error)
    return redirect("run-detail", run.pk)


@login_required
@require_POST
def schema_preview(request: SignedInRequest, project_id: int) -> HttpResponse:
    """Preview the schema as it is in the editor, saved or not."""
    project = project_get_for_user(user=request.user, project_id=project_id, action=Action.DESIGN)
    formset = build_column_formset(project=project, data=request.POST)
    count_form = PreviewForm({"count": request.POST.get("preview_count") or 3})
    count = (count_form.cleaned_data.get("count") or 3) if count_form.is_valid() else 3
    problems: list[str] = []
    rows = []
    if not formset.is_valid():
        problems = [str(e) for e in formset.non_form_errors()] or [
            "Fix the highlighted fields first."
        ]
    else:
        try:
            spec = schema_validate(project=project, data=spec_from_formset(formset))
        except SchemaError as exc:
            problems = exc.messages
        else:
            rows = preview_rows(project=project, spec=spec, count=count)
    context = {"problems": problems, "rows": rows}
    return render(request, "generation/partials/preview.html", context)


@login_required
@require_POST
def credential_test(request: SignedInRequest, credential_id: int) -> HttpResponse:
    """'Test connection': one cheap call; the result (or the provider's error) as a fragment."""
    credential = credential_get_for_user(
        user=request.user, credential_id=credential_id, action=Action.MANAGE_CREDENTIALS
    )
    try:
        message, ok = credential_check_connection(credential=credential), True
    except ConnectionCheckFailed as exc:
        message, ok = str(exc), False
    context = {"message": message, "ok": ok}
    return render(request, "generation/partials/connection_result.html", context)
