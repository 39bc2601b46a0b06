"""The evaluation pages: create one, its summary with charts and its scores, cancel, re-run."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from evaluation import selectors
from evaluation.charts import histogram_bars, horizontal_bars, labels_crowded
from evaluation.forms import EvaluationForm
from evaluation.gate_views import gate_context
from evaluation.kinds import KINDS
from evaluation.metrics.agreement import agreement
from evaluation.models import Evaluation
from evaluation.scoring.services import (
    EvaluationError,
    EvaluationInvalid,
    evaluation_cancel,
    evaluation_create,
    evaluation_rerun,
)
from generation.selectors import run_get_for_user
from studio.permissions import Action
from studio.signed_in import SignedInRequest

SCORES_PER_PAGE = 50
PAIRWISE_FLIPS = "Position flips"  # evaluation/kinds/pairwise_judge.py's figure


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_new(request: SignedInRequest, run_id: int) -> HttpResponse:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.EVALUATE)
    columns = run.spec.output_columns()
    form = EvaluationForm(
        request.POST or None,
        columns=columns,
        credentials=run.project.credentials.order_by("name"),
    )
    if request.method == "POST" and form.is_valid():
        try:
            evaluation = evaluation_create(
                run=run,
                user=request.user,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                settings=form.settings(),
                target=form.target(),
            )
        except EvaluationInvalid as exc:
            for message in exc.messages:
                field, _, text = message.partition(": ")
                if field in form.fields and text:
                    form.add_error(field, text)
                else:
                    form.add_error(None, message)
        else:
            messages.success(request, "Evaluation started: scores appear as chunks finish.")
            return redirect("evaluation-detail", evaluation.pk)
    context = {
        "run": run,
        "project": run.project,
        "form": form,
        "kinds": KINDS.values(),
    }
    return render(request, "evaluation/evaluation_form.html", context)


def _float(raw: str | None) -> float | None:
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


def _pairwise_rates(evaluation: Evaluation, summary: dict) -> tuple[dict | None, dict]:
    """A pairwise judge's win (column A), tie and loss (column B wins) rates, its mean being
    only A's share of the points, and the summary's other figures to list."""
    rates = summary.get("pairwise") or {}
    figures = summary.get("figures") or {}
    if not rates.get("judged"):
        return None, figures
    settings = evaluation.settings or {}
    columns = {"column_a": settings.get("column"), "column_b": settings.get("column_b")}
    return {**rates, **columns}, {k: v for k, v in figures.items() if k == PAIRWISE_FLIPS}


def _charts(summary: dict) -> dict[str, object]:
    """The summary's charts: the histogram, bars per criterion and per sampler value."""
    criteria = summary.get("criteria") or {}
    histogram = histogram_bars(summary.get("histogram") or [])
    return {
        "histogram": histogram,
        "histogram_crowded": labels_crowded(histogram),
        "criteria_bars": horizontal_bars(list(criteria.items())) if criteria else None,
        "breakdowns": [
            (column, horizontal_bars([(g["value"], g["mean"]) for g in groups]), groups)
            for column, groups in (summary.get("by_column") or {}).items()
            if any(g["mean"] is not None for g in groups)
        ],
    }


@login_required
def evaluation_detail(request: SignedInRequest, evaluation_id: int) -> HttpResponse:
    evaluation = selectors.evaluation_get_for_user(
        user=request.user, evaluation_id=evaluation_id, action=Action.VIEW
    )
    kind = KINDS.get(evaluation.kind)
    summary = evaluation.summary or {}
    low, high = _float(request.GET.get("low")), _float(request.GET.get("high"))
    outcome = request.GET.get("outcome", "")
    cluster = _int(request.GET.get("cluster"))
    scores = selectors.score_list(
        evaluation=evaluation,
        low=low,
        high=high,
        passed={"passed": True, "not_passed": False}.get(outcome),
        failed=True if outcome == "failed" else None,
        cluster=cluster,
    )
    page = Paginator(scores, SCORES_PER_PAGE).get_page(request.GET.get("page"))
    # A kind whose figures are the result (coverage) leaves every row without a number.
    scoreless = bool(
        kind
        and kind.is_dataset_level
        and evaluation.status == Evaluation.Status.DONE
        and not summary.get("scored")
        and not summary.get("failed")
    )
    pairs = selectors.judge_agreement_pairs(evaluation=evaluation)
    pairwise, figures = _pairwise_rates(evaluation, summary)
    context = {
        "evaluation": evaluation,
        "run": evaluation.run,
        "project": evaluation.run.project,
        "kind": kind,
        "summary": summary,
        **_charts(summary),
        "value_unit": kind.value_unit(evaluation.settings) if kind and kind.value_unit else "",
        "agreement": agreement(pairs) if pairs else None,
        "pairwise": pairwise,
        "figures": figures,
        "page": page,
        "scoreless": scoreless,
        "filters": {
            "low": request.GET.get("low", ""),
            "high": request.GET.get("high", ""),
            "outcome": outcome,
            "cluster": cluster,
        },
        "history": selectors.evaluation_history(evaluation=evaluation),
        "gate": gate_context(evaluation),
        "evaluations": selectors.evaluation_list(run=evaluation.run),
    }
    return render(request, "evaluation/evaluation_detail.html", context)


@login_required
@require_POST
def evaluation_action(request: SignedInRequest, evaluation_id: int, action: str) -> HttpResponse:
    evaluation = selectors.evaluation_get_for_user(
        user=request.user, evaluation_id=evaluation_id, action=Action.EVALUATE
    )
    try:
        if action == "cancel":
            evaluation_cancel(evaluation=evaluation)
            messages.success(request, "Evaluation cancelled.")
        elif action == "rerun":
            evaluation = evaluation_rerun(evaluation=evaluation, user=request.user)
            messages.success(request, f"Version {evaluation.version} is being scored.")
        else:
            return HttpResponse("Unknown action", status=400)
    except EvaluationError as exc:
        messages.error(request, str(exc))
    return redirect("evaluation-detail", evaluation.pk)
