"""What evaluation adds to generation's pages (generation/live/panels.py): the run page's
evaluations panel, kept live by the run's socket, and a row's scores in its detail panel."""

from __future__ import annotations

from collections.abc import Sequence

from django.template.loader import render_to_string

from evaluation.models import Score
from evaluation.selectors import evaluation_list, row_scores
from generation.live.panels import register_row_badges, register_row_panel, register_run_panel
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


def row_score_badges(rows: Sequence[Row]) -> dict[int, list[str]]:
    """A badge per current evaluation on each row's card: its name, score and pass/fail."""
    scores = (
        Score.objects.filter(row_id__in=[row.pk for row in rows], evaluation__is_current=True)
        .select_related("evaluation")
        .only("row_id", "value", "passed", "error", "evaluation__name")
        .order_by("evaluation__name")
    )
    badges: dict[int, list[str]] = {}
    for score in scores:
        badges.setdefault(score.row_id, []).append(
            render_to_string("evaluation/partials/score_badge.html", {"score": score})
        )
    return badges


def register() -> None:
    register_run_panel(RUN_PANEL_ID, run_evaluations_panel)
    register_row_panel("scores", row_scores_panel)
    register_row_badges("scores", row_score_badges)
