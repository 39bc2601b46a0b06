"""Review and export pages."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from evaluation import selectors, services
from evaluation.formats import jsonl_lines
from evaluation.forms import HubPushForm, ReviewForm
from evaluation.streaming import streaming_lines
from generation.live.panels import with_badges
from generation.selectors import row_get_for_user, run_counters, run_get_for_user
from studio.permissions import Action
from studio.signed_in import SignedInRequest


@login_required
@require_POST
def row_review(request: SignedInRequest, row_id: int) -> HttpResponse:
    row = row_get_for_user(user=request.user, row_id=row_id, action=Action.REVIEW_ROWS)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Unknown review decision", status=400)
    try:
        row = services.row_review(
            row=row, user=request.user, decision=form.cleaned_data["decision"]
        )
    except services.ReviewError as exc:
        return HttpResponse(str(exc), status=400)
    if request.htmx:
        with_badges([row])
        context = {
            "row": row,
            "columns": row.run.spec.output_columns(),
            "project": row.run.project,  # its role decides the review buttons
        }
        return render(request, "generation/partials/row.html", context)
    return redirect("run-detail", row.run_id)


@login_required
@require_http_methods(["GET", "POST"])
def run_export(request: SignedInRequest, run_id: int) -> HttpResponse:
    run = run_get_for_user(
        user=request.user,
        run_id=run_id,
        action=Action.PUSH_TO_HUB if request.method == "POST" else Action.VIEW,
    )
    form = HubPushForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.hub_export_create(run=run, user=request.user, **form.cleaned_data)
        except services.ExportError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Push queued. Its status updates below.")
            return redirect("run-export", run.pk)
    context = {
        "run": run,
        "project": run.project,
        "counters": run_counters(run=run),
        "form": form,
        "exports": selectors.hub_export_list(run=run),
    }
    return render(request, "evaluation/run_export.html", context)


@login_required
def hub_exports_partial(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    context = {"run": run, "exports": selectors.hub_export_list(run=run)}
    return render(request, "evaluation/partials/hub_exports.html", context)


@login_required
def export_jsonl(request: HttpRequest, run_id: int) -> StreamingHttpResponse:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    which = request.GET.get("rows", "accepted")
    review = None if which == "all" else "accepted"
    response = streaming_lines(
        request,
        jsonl_lines(selectors.export_records(run=run, review=review)),
        content_type="application/x-ndjson; charset=utf-8",
    )
    filename = f"run-{run.pk}-{'all' if review is None else 'accepted'}.jsonl"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
