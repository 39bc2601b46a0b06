"""What evaluation adds to generation's pages (generation/live/panels.py): the run page's
evaluations panel, kept live by the run's socket, and a row's scores in its detail panel."""

from __future__ import annotations

from django.template.loader import render_to_string

from evaluation.selectors import evaluation_list, row_scores
from generation.live.panels import register_row_panel, register_run_panel
from generation.models import Row, Run

RUN_PANEL_ID = "run-evaluations"


def run_evaluations_panel(run: Run, oob: bool) -> str:
    return render_to_string(
        "evaluation/partials/run_evaluations.html",
        {"run": run, "project": run.project, "evaluations": evaluation_list(run=run), "oob": oob},
    )


def row_scores_panel(row: Row) -> str:
    scores = row_scores(row=row)
    if not scores:
        return ""
    return render_to_string("evaluation/partials/row_scores.html", {"scores": scores})


def register() -> None:
    register_run_panel(RUN_PANEL_ID, run_evaluations_panel)
    register_row_panel("scores", row_scores_panel)
