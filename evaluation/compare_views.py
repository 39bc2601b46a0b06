"""Comparing two runs of a project: pick the other run, then both runs' evaluations side by
side (evaluation/run_comparison.py gathers them; the API returns the same data)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from evaluation import selectors
from evaluation.charts import grouped_histogram, horizontal_bars, stacked_bars
from evaluation.run_comparison import compare_runs
from generation.selectors import run_get_for_user
from studio.permissions import Action
from studio.signed_in import SignedInRequest

MSG_PICK_A_RUN = "Pick one of the project's other runs."


@login_required
def run_compare_pick(request: SignedInRequest, run_id: int) -> HttpResponse:
    """The project's other runs to compare with; ``?b=`` goes to the comparison."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    choices = selectors.runs_to_compare_with(run=run)
    error = ""
    if "b" in request.GET:
        picked = request.GET["b"]
        if picked.isdigit() and int(picked) in {other.pk for other in choices}:
            return redirect("run-compare", run.pk, int(picked))
        error = MSG_PICK_A_RUN
    context = {"run": run, "project": run.project, "choices": choices, "error": error}
    return render(
        request, "evaluation/run_compare_pick.html", context, status=400 if error else 200
    )


def _pairwise_chart(entry: dict[str, Any], a_id: int, b_id: int) -> dict[str, Any] | None:
    """Each run's wins, ties and losses as one bar split in three."""
    sides = [
        (f"Run #{run_id} ({side.upper()})", entry["pairwise"][side])
        for side, run_id in (("a", a_id), ("b", b_id))
    ]
    rows = [
        (label, [rates["a_win_rate"], rates["tie_rate"], rates["b_win_rate"]])
        for label, rates in sides
        if rates and rates["judged"]
    ]
    if not rows:
        return None
    stacked, height = stacked_bars(rows)
    return {"stacked": stacked, "height": height}


def _chart(entry: dict[str, Any], a_id: int, b_id: int) -> dict[str, Any] | None:
    """Both histograms over the same bins, or else the two means as bars; a pairwise judge's
    win rates."""
    if entry["pairwise"]:
        return _pairwise_chart(entry, a_id, b_id)
    if entry["present"] != "both":
        return None
    grouped = grouped_histogram(entry["histograms"]["a"], entry["histograms"]["b"])
    if grouped:
        return {"grouped": grouped}
    means = {f["name"]: f for f in entry["figures"]}["mean"]
    if means["a"] is None and means["b"] is None:
        return None
    bars, height = horizontal_bars(
        [(f"Run #{a_id} (A)", means["a"]), (f"Run #{b_id} (B)", means["b"])]
    )
    return {"means": bars, "height": height}


@login_required
def run_compare(request: SignedInRequest, run_id: int, other_run_id: int) -> HttpResponse:
    run, other = selectors.run_pair_get_for_user(
        user=request.user, run_id=run_id, other_run_id=other_run_id
    )
    comparison = compare_runs(a=run, b=other)
    for entry in comparison["evaluations"]:
        entry["chart"] = _chart(entry, run.pk, other.pk)
        entry["by_name"] = {f["name"]: f for f in entry["figures"]}
    context = {
        "run": run,
        "other": other,
        "project": run.project,
        "comparison": comparison,
        "sides": [("A", run), ("B", other)],
    }
    return render(request, "evaluation/run_compare.html", context)
