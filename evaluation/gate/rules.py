"""What "below" means for an evaluation: the threshold its kind's settings give a row to pass."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from evaluation.kinds import KINDS
from evaluation.models import Evaluation
from generation.models import Row

MIN_ATTEMPTS = 1
MAX_ATTEMPTS = 5


def threshold_text(settings: dict[str, Any]) -> str | None:
    """The pass rule of an evaluation's settings, as people read it ("0.8", "length 20–100");
    None when its rows have no pass/fail."""
    for key in ("threshold", "pass_threshold"):
        value = settings.get(key)
        if isinstance(value, int | float):
            return f"{value:g}"
    low, high = settings.get("min_length"), settings.get("max_length")
    unit = settings.get("unit") or "characters"
    if high is not None:
        return f"the range {low or 0}–{high} {unit}"
    if low is not None:
        return f"{low} {unit}"
    return None


def gate_problem(evaluation: Evaluation) -> str | None:
    """Why no quality gate can act on this evaluation's rows; None when one can."""
    kind = KINDS.get(evaluation.kind)
    if kind is None or kind.is_dataset_level:
        return (
            f"Evaluation '{evaluation.name}' scores the whole set, not each row: no row is below it"
        )
    if threshold_text(evaluation.settings) is None:
        return (
            f"Evaluation '{evaluation.name}' has no threshold, so no row is below it: "
            "create one with a threshold (its pass mark) to act on the rows below"
        )
    return None


def gate_reason(evaluation: Evaluation) -> str:
    """Why a gate acts on a row: "quality gate: <evaluation> below <threshold>"."""
    threshold = str(threshold_text(evaluation.settings))
    where = "outside" if threshold.startswith("the range") else "below"
    return f"quality gate: {evaluation.name} {where} {threshold}"


def rows_below(evaluation: Evaluation) -> QuerySet[Row]:
    """The generated rows this evaluation scored and failed (rows it could not score aside)."""
    return Row.objects.filter(
        run_id=evaluation.run_id,
        status=Row.Status.GENERATED,
        scores__evaluation=evaluation,
        scores__passed=False,
    )


def attempts_problem(value: object) -> str | None:
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not MIN_ATTEMPTS <= value <= MAX_ATTEMPTS
    ):
        return f"max_attempts: give a number of attempts between {MIN_ATTEMPTS} and {MAX_ATTEMPTS}"
    return None
