"""ROUGE-1, ROUGE-2 or ROUGE-L F-measure of a column against a reference, 0–1 (rouge-score)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms

from evaluation.metrics.overlap import RougeVariant, rouge
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


class RougeSettings(ThresholdSettings):
    variant: RougeVariant = "rougeL"
    stemming: bool = False


def score(settings: RougeSettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    results = []
    for row in rows:
        value = rouge(
            as_text(row.values.get(settings.column)),
            settings.reference(row.values),
            variant=settings.variant,
            stemming=settings.stemming,
        )
        results.append(ScoreResult(value, settings.passed(value)))
    return results


VARIANT = KindField(
    "rouge_variant",
    forms.ChoiceField(
        choices=[
            ("rouge1", "ROUGE-1 (words)"),
            ("rouge2", "ROUGE-2 (word pairs)"),
            ("rougeL", "ROUGE-L (longest common subsequence)"),
        ],
        label="Variant",
    ),
    new_value="rougeL",
)
STEMMING = KindField(
    "stemming",
    forms.BooleanField(required=False, label="Stem English words (Porter) before comparing"),
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **reference_to_settings(data),
        "variant": data.get("rouge_variant") or "rougeL",
        "stemming": bool(data.get("stemming")),
        "threshold": data.get("threshold"),
    }


def to_initial(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {"rouge_variant": settings.get("variant", "rougeL")}


KIND = EvaluationKind(
    name="rouge",
    label="ROUGE",
    group="Reference metrics",
    description="ROUGE F-measure against the reference, 0–1 (rouge-score). It reads English: "
    "only ASCII letters and digits count. Rows at or above the threshold pass.",
    settings_model=RougeSettings,
    fields=(COLUMN, REFERENCE_COLUMN, REFERENCE_VALUE, VARIANT, STEMMING, THRESHOLD),
    to_settings=to_settings,
    to_initial=to_initial,
    score=score,
    scale=(0.0, 1.0),
)
