"""Exact match, containment or a regular expression: a column against a reference (another
column or a fixed value), after normalisation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from django import forms
from pydantic import model_validator

from evaluation.metrics.matching import Normalisation, contains, exact_match, regex_match
from evaluation.metrics.patterns import PatternError, compile_pattern, shown
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
    # regex: the reference is a pattern (RE2) the whole answer must match.
    mode: Literal["exact", "contains", "regex"] = "exact"
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

    @model_validator(mode="after")
    def _fixed_pattern_compiles(self) -> ExactMatchSettings:
        if self.mode == "regex" and not self.reference_column and self.reference_value is not None:
            try:
                compile_pattern(self.reference_value, ignore_case=self.ignore_case)
            except PatternError as exc:
                raise ValueError(f"reference_value: the pattern {exc}") from None
        return self


COMPARE = {"exact": exact_match, "contains": contains, "regex": regex_match}
MSG_BAD_PATTERN = "The reference {pattern} {problem}"


def score(settings: ExactMatchSettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    normalisation = settings.normalisation()
    compare = COMPARE[settings.mode]
    results = []
    for row in rows:
        reference = settings.reference(row.values)
        try:
            matched = compare(as_text(row.values.get(settings.column)), reference, normalisation)
        except PatternError as exc:  # a reference column's pattern, this row's alone
            message = MSG_BAD_PATTERN.replace("{pattern}", repr(shown(reference)))
            results.append(ScoreResult(None, None, error=message.replace("{problem}", str(exc))))
            continue
        results.append(ScoreResult(1.0 if matched else 0.0, matched))
    return results


MODE = KindField(
    "mode",
    forms.ChoiceField(
        choices=[
            ("exact", "Equal to the reference"),
            ("contains", "Contains the reference"),
            ("regex", "Matches the reference as a regular expression (RE2, whole answer)"),
        ],
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
    label="Exact match / contains / regex",
    group="Reference metrics",
    description="1 when the column equals (or contains) the reference after normalisation, or "
    "when the whole column matches the reference as a regular expression (RE2 syntax; "
    "ignoring case makes the pattern case-insensitive).",
    settings_model=ExactMatchSettings,
    fields=(COLUMN, REFERENCE_COLUMN, REFERENCE_VALUE, MODE, NORMALISE),
    to_settings=to_settings,
    to_initial=to_initial,
    score=score,
    scale=(0.0, 1.0),
)
