"""The quality gate pages: confirm and start "regenerate the rows below" or "reject the rows
below" an evaluation's threshold, showing how many rows it acts on."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from evaluation import selectors
from evaluation.gate.rules import MAX_ATTEMPTS, MIN_ATTEMPTS, gate_problem, threshold_text
from evaluation.gate.services import GateError, gate_regenerate, gate_reject, gate_rows_below
from evaluation.models import Evaluation, QualityGate
from studio.permissions import Action
from studio.signed_in import SignedInRequest


class AttemptsForm(forms.Form):
    max_attempts = forms.IntegerField(
        min_value=MIN_ATTEMPTS,
        max_value=MAX_ATTEMPTS,
        initial=2,
        label="At most this many times",
        help_text=f"Rounds of regeneration ({MIN_ATTEMPTS}–{MAX_ATTEMPTS}): a row still below "
        "after them stays as it is",
    )


def gate_context(evaluation: Evaluation) -> dict[str, Any]:
    """What the evaluation page shows of its quality gates."""
    return {
        "threshold": threshold_text(evaluation.settings),
        "problem": gate_problem(evaluation),
        "rows_below": gate_rows_below(evaluation=evaluation),
        "gates": list(selectors.gate_list(evaluation=evaluation)[:10]),
        "form": AttemptsForm(),
    }


def _page(request: SignedInRequest, evaluation: Evaluation, action: str, form: Any) -> HttpResponse:
    context = {
        "evaluation": evaluation,
        "run": evaluation.run,
        "project": evaluation.run.project,
        "action": action,
        "form": form,
        "gate": gate_context(evaluation),
    }
    return render(request, "evaluation/gate_confirm.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def gate_regenerate_page(request: SignedInRequest, evaluation_id: int) -> HttpResponse:
    evaluation = selectors.evaluation_get_for_user(
        user=request.user, evaluation_id=evaluation_id, action=Action.OPERATE_RUNS
    )
    form = AttemptsForm(request.POST if request.method == "POST" else request.GET or None)
    if request.method == "POST" and form.is_valid():
        try:
            gate_regenerate(
                evaluation=evaluation,
                user=request.user,
                max_attempts=form.cleaned_data["max_attempts"],
            )
        except GateError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Regenerating the rows below: their history is kept.")
            return redirect("evaluation-detail", evaluation.pk)
    return _page(request, evaluation, QualityGate.Action.REGENERATE, form)


@login_required
@require_http_methods(["GET", "POST"])
def gate_reject_page(request: SignedInRequest, evaluation_id: int) -> HttpResponse:
    evaluation = selectors.evaluation_get_for_user(
        user=request.user, evaluation_id=evaluation_id, action=Action.EVALUATE
    )
    form = forms.Form(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            gate = gate_reject(evaluation=evaluation, user=request.user)
        except GateError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, gate.message)
            return redirect("evaluation-detail", evaluation.pk)
    return _page(request, evaluation, QualityGate.Action.REJECT, form)
