"""Lexical diversity of a column across the rows: distinct-1 and distinct-2 and the most common
n-grams (evaluation/metrics/diversity.py). A row's own score is its distinct-2 (how little it
repeats itself), None under two words."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django import forms
from pydantic import Field

from evaluation.metrics.diversity import diversity
from studio.kinds.base import KindField

from .base import (
    COLUMN,
    DatasetResult,
    EvaluationKind,
    KindSettings,
    RowInput,
    ScoreResult,
    as_text,
)


class DiversitySettings(KindSettings):
    # The size of the n-grams in the most-common list.
    top_n: int = Field(default=2, ge=1, le=3)


def score_dataset(settings: DiversitySettings, rows: Iterable[RowInput]) -> DatasetResult:
    ids = array("q")

    def texts() -> Iterator[str]:
        record = not ids
        for row in rows:
            if record:
                ids.append(row.row_id)
            yield as_text(row.values.get(settings.column))

    result = diversity(texts, top_n=settings.top_n)

    def scores() -> Iterator[tuple[int, ScoreResult]]:
        for row_id, own in zip(ids, result.row_distinct_2, strict=True):
            yield row_id, ScoreResult(None if math.isnan(own) else float(own))

    return DatasetResult(scores(), result.figures)


TOP_N = KindField(
    "top_n",
    forms.TypedChoiceField(
        coerce=int,
        choices=[(1, "Words"), (2, "Pairs of words"), (3, "Runs of three words")],
        label="Most common",
        help_text="Which n-grams to list with their share",
    ),
    new_value="2",
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"column": data.get("column"), "top_n": data.get("top_n") or 2}


KIND = EvaluationKind(
    name="diversity",
    label="Diversity (distinct-n)",
    group="Dataset-level",
    description=(
        "How varied the column's wording is across the rows: distinct-1 and distinct-2 and the "
        "most common n-grams. A row's score is its own distinct-2."
    ),
    settings_model=DiversitySettings,
    fields=(COLUMN, TOP_N),
    to_settings=to_settings,
    score_dataset=score_dataset,
    scale=(0.0, 1.0),
    figures_template="evaluation/partials/figures_diversity.html",
)
