"""Exact match or containment of a column against a reference, after normalisation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from django import forms

from evaluation.metrics.matching import Normalisation, contains, exact_match
from studio.kinds.base import KindField

from .base import (
    COLUMN,
    REFERENCE_COLUMN,
    REFERENCE_VALUE,
    EvaluationKind,
    ReferenceSettings,
    RowInput,
    ScoreResult,
    as_text,
    reference_to_settings,
)


class ExactMatchSettings(ReferenceSettings):
    mode: Literal["exact", "contains"] = "exact"
    ignore_case: bool = True
    ignore_whitespace: bool = True
    ignore_punctuation: bool = False
    ignore_articles: bool = False

    def normalisation(self) -> Normalisation:
        return Normalisation(
            case=self.ignore_case,
            whitespace=self.ignore_whitespace,
            punctuation=self.ignore_punctuation,
            articles=self.ignore_articles,
        )


def score(settings: ExactMatchSettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    normalisation = settings.normalisation()
    compare = contains if settings.mode == "contains" else exact_match
    results = []
    for row in rows:
        matched = compare(
            as_text(row.values.get(settings.column)), settings.reference(row.values), normalisation
        )
        results.append(ScoreResult(1.0 if matched else 0.0, matched))
    return results


MODE = KindField(
    "mode",
    forms.ChoiceField(
        choices=[("exact", "Equal to the reference"), ("contains", "Contains the reference")],
        initial="exact",
    ),
    new_value="exact",
)
NORMALISE = KindField(
    "normalise",
    forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            ("case", "Ignore case"),
            ("whitespace", "Ignore extra whitespace"),
            ("punctuation", "Ignore punctuation"),
            ("articles", "Ignore a/an/the"),
        ],
        initial=["case", "whitespace"],
    ),
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    chosen = set(data.get("normalise") or [])
    return {
        **reference_to_settings(data),
        "mode": data.get("mode") or "exact",
        "ignore_case": "case" in chosen,
        "ignore_whitespace": "whitespace" in chosen,
        "ignore_punctuation": "punctuation" in chosen,
        "ignore_articles": "articles" in chosen,
    }


def to_initial(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "normalise": [
            name
            for name in ("case", "whitespace", "punctuation", "articles")
            if settings.get(f"ignore_{name}")
        ]
    }


KIND = EvaluationKind(
    name="exact_match",
    label="Exact match / contains",
    group="Reference metrics",
    description="1 when the column equals (or contains) the reference after normalisation.",
    settings_model=ExactMatchSettings,
    fields=(COLUMN, REFERENCE_COLUMN, REFERENCE_VALUE, MODE, NORMALISE),
    to_settings=to_settings,
    to_initial=to_initial,
    score=score,
    scale=(0.0, 1.0),
)
