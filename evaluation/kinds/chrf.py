"""Sentence-level chrF (or chrF++) of a column against a reference, 0–100 (sacrebleu)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from django import forms

from evaluation.metrics.overlap import chrf
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


class ChrfSettings(ThresholdSettings):
    SCALE: ClassVar[tuple[float, float]] = (0.0, 100.0)

    # 0: chrF (character n-grams); 2: chrF++ (word unigrams and bigrams too).
    word_order: Literal[0, 2] = 0


def score(settings: ChrfSettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    results = []
    for row in rows:
        value = chrf(
            as_text(row.values.get(settings.column)),
            settings.reference(row.values),
            word_order=settings.word_order,
        )
        results.append(ScoreResult(value, settings.passed(value)))
    return results


WORD_ORDER = KindField(
    "word_order",
    forms.TypedChoiceField(
        coerce=int,
        choices=[(0, "chrF (character n-grams)"), (2, "chrF++ (and word bigrams)")],
        label="Variant",
    ),
    new_value="0",
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **reference_to_settings(data),
        "word_order": data.get("word_order") or 0,
        "threshold": data.get("threshold"),
    }


KIND = EvaluationKind(
    name="chrf",
    label="chrF",
    group="Reference metrics",
    description="Character n-gram F-score against the reference, 0–100 (sacrebleu); kinder "
    "than BLEU to short answers and inflected words. Rows at or above the threshold pass.",
    settings_model=ChrfSettings,
    fields=(COLUMN, REFERENCE_COLUMN, REFERENCE_VALUE, WORD_ORDER, THRESHOLD),
    to_settings=to_settings,
    score=score,
    scale=(0.0, 100.0),
)
