"""Coverage of the run's sampler columns (category, subcategory, boolean): the share of each
value among the rows against the share its weights give it (evaluation/metrics/coverage.py).
The expected shares are read from the run's schema when the evaluation is created and kept in
its settings, so the figures say what they were compared with. Rows get no score of their own."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django import forms
from pydantic import BaseModel, ConfigDict, Field

from evaluation.metrics.coverage import coverage, expected_shares, mixed_shares
from studio.kinds.base import KindField
from studio.schema.sampler_kinds import BooleanColumn, CategoryColumn, SubcategoryColumn
from studio.schema.spec import SchemaSpec

from .base import DatasetResult, EvaluationKind, KindSettings, RowInput, ScoreResult, as_text

SAMPLER_KINDS = (CategoryColumn, SubcategoryColumn, BooleanColumn)
MISSING = "—"
MSG_NOT_SAMPLER = (
    "Column '{column}' is not a category, subcategory or boolean column of this run; coverage "
    "compares such a column's values with their weights"
)
MSG_NO_SAMPLER = "This run has no category, subcategory or boolean column to measure coverage of"


class ExpectedColumn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column: str
    kind: str
    # [value, expected share], in the schema's order of the values.
    shares: list[tuple[str, float]]


class CoverageSettings(KindSettings):
    # None: every sampler column of the run.
    column: str | None = Field(default=None, min_length=1, max_length=64)  # type: ignore[assignment]
    # Filled in from the run's schema (for_run), whatever was given.
    expected: list[ExpectedColumn] = Field(default_factory=list)

    def columns_used(self) -> list[str]:
        return [c.column for c in self.expected]


def _shares(column: Any, by_name: Mapping[str, Any], depth: int = 0) -> dict[str, float]:
    if isinstance(column, BooleanColumn):
        return {"true": column.probability, "false": 1.0 - column.probability}
    if isinstance(column, CategoryColumn):
        return expected_shares(column.values, column.weights)
    parent = by_name.get(column.parent)
    if parent is None or depth > len(by_name):
        return {}
    weights = column.weights or {}
    children = {
        value: expected_shares(choices, weights.get(value))
        for value, choices in column.values.items()
    }
    return mixed_shares(_shares(parent, by_name, depth + 1), children)


def for_run(settings: CoverageSettings, spec: SchemaSpec) -> CoverageSettings:
    by_name = {c.name: c for c in spec.columns}
    samplers = [c for c in spec.columns if isinstance(c, SAMPLER_KINDS) and not c.drop]
    if settings.column:
        samplers = [c for c in samplers if c.name == settings.column]
        if not samplers:
            raise ValueError(MSG_NOT_SAMPLER.replace("{column}", settings.column))
    elif not samplers:
        raise ValueError(MSG_NO_SAMPLER)
    expected = [
        ExpectedColumn(column=c.name, kind=c.kind, shares=list(_shares(c, by_name).items()))
        for c in samplers
    ]
    return settings.model_copy(update={"expected": expected})


def score_dataset(settings: CoverageSettings, rows: Iterable[RowInput]) -> DatasetResult:
    counts: dict[str, Counter[str]] = {c.column: Counter() for c in settings.expected}
    ids = array("q")
    for row in rows:
        ids.append(row.row_id)
        for name, counter in counts.items():
            value = row.values.get(name)
            counter[MISSING if value is None else as_text(value)] += 1
    figures = {
        "columns": [
            {"column": c.column, "kind": c.kind, **coverage(c.shares, counts[c.column])}
            for c in settings.expected
        ]
    }

    def scores() -> Iterator[tuple[int, ScoreResult]]:
        for row_id in ids:
            yield row_id, ScoreResult(None)

    return DatasetResult(scores(), figures)


SAMPLER_COLUMN = KindField(
    "sampler_column",
    forms.ChoiceField(
        required=False,
        choices=[],
        label="Sampler column",
        help_text="A category, subcategory or boolean column, or every one of them",
    ),
    bind=lambda field, context: setattr(
        field, "choices", [("", "— every sampler column —")] + [(c, c) for c in context.columns]
    ),
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"column": data.get("sampler_column") or None}


def to_initial(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {"sampler_column": settings.get("column") or ""}


KIND = EvaluationKind(
    name="coverage",
    label="Coverage of sampler columns",
    group="Dataset-level",
    description=(
        "How often each value of a category, subcategory or boolean column occurs among the "
        "rows, against its configured weights, with the total variation distance."
    ),
    settings_model=CoverageSettings,
    fields=(SAMPLER_COLUMN,),
    to_settings=to_settings,
    to_initial=to_initial,
    score_dataset=score_dataset,
    for_run=for_run,
    figures_template="evaluation/partials/figures_coverage.html",
)
