"""Length of a column in characters, words or estimated tokens, with an optional allowed range."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from pydantic import Field, model_validator

from evaluation.metrics.text_length import Unit, measure
from studio.kinds.base import KindField

from .base import COLUMN, EvaluationKind, KindSettings, RowInput, ScoreResult, as_text


class LengthSettings(KindSettings):
    unit: Unit = "characters"
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _range(self) -> LengthSettings:
        if (
            self.min_length is not None
            and self.max_length is not None
            and self.min_length > self.max_length
        ):
            raise ValueError(
                f"The minimum length ({self.min_length}) is above the maximum ({self.max_length})"
            )
        return self


def score(settings: LengthSettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    bounded = settings.min_length is not None or settings.max_length is not None
    results = []
    for row in rows:
        length = measure(as_text(row.values.get(settings.column)), settings.unit)
        passed = None
        if bounded:
            passed = (settings.min_length is None or length >= settings.min_length) and (
                settings.max_length is None or length <= settings.max_length
            )
        results.append(ScoreResult(float(length), passed))
    return results


UNIT = KindField(
    "unit",
    forms.ChoiceField(
        choices=[
            ("characters", "Characters"),
            ("words", "Words"),
            ("tokens", "Tokens (estimated: about 4 characters each)"),
        ]
    ),
    new_value="characters",
)
MIN_LENGTH = KindField("min_length", forms.IntegerField(required=False, min_value=0))
MAX_LENGTH = KindField("max_length", forms.IntegerField(required=False, min_value=0))


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "column": data.get("column"),
        "unit": data.get("unit") or "characters",
        "min_length": data.get("min_length"),
        "max_length": data.get("max_length"),
    }


KIND = EvaluationKind(
    name="length",
    label="Length",
    group="Reference-free checks",
    description="The column's length in characters, words or tokens (estimated as the rate "
    "limiter does, without a tokenizer); rows outside the allowed range fail.",
    settings_model=LengthSettings,
    fields=(COLUMN, UNIT, MIN_LENGTH, MAX_LENGTH),
    to_settings=to_settings,
    score=score,
    value_unit=lambda settings: str(settings.get("unit") or "characters"),
)
