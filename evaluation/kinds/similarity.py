"""Edit-distance or token-set similarity of a column to a reference, 0–1 (rapidfuzz)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms

from evaluation.metrics.similarity import Method, similarity
from studio.kinds.base import KindField

from .base import (
    COLUMN,
    REFERENCE_COLUMN,
    REFERENCE_VALUE,
    THRESHOLD,
    EvaluationKind,
    RowInput,
    ScoreResult,
    as_text,
    reference_to_settings,
)
from .threshold import ThresholdSettings


class SimilaritySettings(ThresholdSettings):
    method: Method = "edit"
    normalise: bool = True


def score(settings: SimilaritySettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    results = []
    for row in rows:
        value = similarity(
            as_text(row.values.get(settings.column)),
            settings.reference(row.values),
            method=settings.method,
            normalise=settings.normalise,
        )
        results.append(ScoreResult(value, settings.passed(value)))
    return results


METHOD = KindField(
    "method",
    forms.ChoiceField(
        choices=[
            ("edit", "Edit distance (characters)"),
            ("token_set", "Token set (words, in any order)"),
        ],
        help_text="Edit distance: 1 − Levenshtein distance ÷ the longer length. Token set: "
        "shared words, ignoring order and repeats.",
    ),
    new_value="edit",
)
NORMALISE_TEXT = KindField(
    "normalise_text",
    forms.BooleanField(
        required=False, initial=True, label="Ignore case and punctuation before comparing"
    ),
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **reference_to_settings(data),
        "method": data.get("method") or "edit",
        "normalise": bool(data.get("normalise_text")),
        "threshold": data.get("threshold"),
    }


def to_initial(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {"normalise_text": settings.get("normalise", True)}


KIND = EvaluationKind(
    name="similarity",
    label="String similarity",
    group="Reference metrics",
    description="How close the column is to the reference, 0–1 (rapidfuzz): by edit distance "
    "or by the words they share. Rows at or above the threshold pass.",
    settings_model=SimilaritySettings,
    fields=(COLUMN, REFERENCE_COLUMN, REFERENCE_VALUE, METHOD, NORMALISE_TEXT, THRESHOLD),
    to_settings=to_settings,
    to_initial=to_initial,
    score=score,
    scale=(0.0, 1.0),
)
