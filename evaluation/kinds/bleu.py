"""Sentence-level BLEU of a column against a reference, 0–100 (sacrebleu)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from django import forms

from evaluation.metrics.overlap import bleu
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


class BleuSettings(ThresholdSettings):
    SCALE: ClassVar[tuple[float, float]] = (0.0, 100.0)

    lowercase: bool = False


def score(settings: BleuSettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    results = []
    for row in rows:
        value = bleu(
            as_text(row.values.get(settings.column)),
            settings.reference(row.values),
            lowercase=settings.lowercase,
        )
        results.append(ScoreResult(value, settings.passed(value)))
    return results


LOWERCASE = KindField(
    "lowercase",
    forms.BooleanField(required=False, label="Ignore case"),
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **reference_to_settings(data),
        "lowercase": bool(data.get("lowercase")),
        "threshold": data.get("threshold"),
    }


KIND = EvaluationKind(
    name="bleu",
    label="BLEU",
    group="Reference metrics",
    description="Sentence BLEU against the reference, 0–100 (sacrebleu: 13a tokens, "
    "exponential smoothing, n-gram orders the sentence has). Rows at or above the threshold pass.",
    settings_model=BleuSettings,
    fields=(COLUMN, REFERENCE_COLUMN, REFERENCE_VALUE, LOWERCASE, THRESHOLD),
    to_settings=to_settings,
    score=score,
    scale=(0.0, 100.0),
)
