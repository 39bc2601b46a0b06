"""What one evaluation kind tells the studio: its settings model, its form fields, how it scores
rows and the range of its scores. One entry per kind, so a kind (and later a user-defined metric)
is one module plus a test, like a column kind (studio/kinds/)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from pydantic import BaseModel, ConfigDict, Field, model_validator

from generation.engine import CallLlm
from generation.models import Run
from studio.kinds.base import KindField
from studio.schema.spec import SchemaSpec

# Row-by-row kinds score this many rows per actor message (LLM kinds set fewer: a chunk's
# calls go out concurrently, and a killed worker redoes at most one chunk).
DEFAULT_CHUNK_ROWS = 2000


class KindSettings(BaseModel):
    """Every kind scores a column; its other settings are its own."""

    model_config = ConfigDict(extra="forbid")

    column: str = Field(min_length=1, max_length=64)

    def columns_used(self) -> list[str]:
        """The row columns the kind reads: each must be an output column of the run."""
        return [self.column]

    def score_range(self) -> tuple[float, float] | None:
        """The range of the scores when it depends on the settings (a judge's rubric), for the
        histogram; the kind's ``scale`` otherwise."""
        return None

    def run_problems(self, run: Run) -> list[str]:
        """What is wrong with these settings for this run besides unknown columns (checked
        from ``columns_used``): a credential of another project, a prompt reading a column the
        run does not have. Messages are "field: text", like pydantic's."""
        return []


@dataclass(frozen=True, slots=True)
class RowInput:
    row_id: int
    index: int
    # The row's final values (a reviewer's edit taking precedence).
    values: Mapping[str, Any]


@dataclass(slots=True)
class ScoreResult:
    value: float | None
    passed: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@dataclass
class DatasetResult:
    """A dataset-level kind's answer: (row id, score) for every row, produced lazily from what
    the kind kept of each row (a cluster number, not its text), so a million rows are written
    in batches without all their scores in memory; and figures about the whole set
    (duplicates found, diversity, coverage) for the summary. Figures are stored as JSON in
    PostgreSQL's jsonb, which does not keep the order of an object's keys: anything shown in
    order is a list."""

    scores: Iterable[tuple[int, ScoreResult]]
    figures: dict[str, Any] = field(default_factory=dict)


ScoreRows = Callable[[Any, Sequence[RowInput]], list[ScoreResult]]
ScoreRowsWithCalls = Callable[[Any, Sequence[RowInput], CallLlm], Awaitable[list[ScoreResult]]]
# ``rows`` may be iterated more than once (each pass reads the rows again, in index order,
# streamed from the database), so a kind keeps what it needs of a row, not the row.
ScoreDataset = Callable[[Any, Iterable[RowInput]], DatasetResult]
# What a kind adds to the summary from its settings and the details of its scored rows (a
# pairwise judge's win and position-flip rates): merged into the summary, its "figures" (label
# → value, shown on the page) into the summary's figures.
ExtraSummary = Callable[[Any, Iterable[Mapping[str, Any]]], dict[str, Any]]
# Settings completed from the run's schema when the evaluation is created (the weights a
# coverage compares with); a ValueError says what the run lacks.
ForRun = Callable[[Any, SchemaSpec], Any]


def _no_initial(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class EvaluationKind:
    """A registry entry. Exactly one of ``score`` (CPU, row by row), ``score_with_calls``
    (LLM calls through the generation engine) and ``score_dataset`` (the whole set at once).
    ``to_settings`` turns the form's cleaned data into the settings model's input;
    ``to_initial`` is its inverse for fields shown differently from how they are stored."""

    name: str
    label: str
    group: str
    description: str
    settings_model: type[KindSettings]
    fields: tuple[KindField, ...]
    to_settings: Callable[[Mapping[str, Any]], dict[str, Any]]
    to_initial: Callable[[Mapping[str, Any]], dict[str, Any]] = _no_initial
    score: ScoreRows | None = None
    score_with_calls: ScoreRowsWithCalls | None = None
    score_dataset: ScoreDataset | None = None
    # The range of its scores, for the histogram (None: the scores' own range).
    scale: tuple[float, float] | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    extra_summary: ExtraSummary | None = None
    for_run: ForRun | None = None
    # What a score counts, from the settings ("characters"), written by the histogram.
    value_unit: Callable[[Mapping[str, Any]], str] | None = None
    # The partial showing ``summary.figures`` on the evaluation's page (a dataset-level kind's
    # duplicates, n-grams, coverage tables); without one they are listed as they are.
    figures_template: str = ""

    def __post_init__(self) -> None:
        ways = [self.score, self.score_with_calls, self.score_dataset]
        if sum(way is not None for way in ways) != 1:
            raise ValueError(f"Evaluation kind '{self.name}' needs exactly one way to score")

    @property
    def is_dataset_level(self) -> bool:
        return self.score_dataset is not None

    @property
    def uses_calls(self) -> bool:
        return self.score_with_calls is not None


def as_text(value: object) -> str:
    """A cell as the text a metric compares: strings as they are, None as "", anything else
    (numbers, structured answers) as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


# --- form fields shared by several kinds -----------------------------------------------------


@dataclass(frozen=True)
class FormContext:
    """What a kind's field is bound to (``KindField.bind``): the run's output columns and its
    project's credentials, to choose from."""

    columns: Sequence[str]
    credentials: Any  # the project's ProviderCredential queryset


def column_choices(field: forms.Field, context: FormContext) -> None:
    field.choices = [(c, c) for c in context.columns]  # type: ignore[attr-defined]


COLUMN = KindField(
    "column",
    forms.ChoiceField(choices=[], help_text="The column to score"),
    bind=column_choices,
)
REFERENCE_COLUMN = KindField(
    "reference_column",
    forms.ChoiceField(
        required=False,
        choices=[],
        help_text="Compare with this column (a seed table's gold answer, say)…",
    ),
    bind=lambda field, context: setattr(
        field, "choices", [("", "— a fixed value instead —")] + [(c, c) for c in context.columns]
    ),
)
REFERENCE_VALUE = KindField(
    "reference_value",
    forms.CharField(required=False, max_length=2000, help_text="…or with this fixed value"),
)
THRESHOLD = KindField(
    "threshold",
    forms.FloatField(required=False, help_text="Rows scoring at least this pass (optional)"),
)


class ReferenceSettings(KindSettings):
    """A column compared with another column or a fixed value."""

    reference_column: str | None = Field(default=None, max_length=64)
    reference_value: str | None = Field(default=None, max_length=2000)

    def columns_used(self) -> list[str]:
        return [self.column] + ([self.reference_column] if self.reference_column else [])

    def reference(self, values: Mapping[str, Any]) -> str:
        if self.reference_column:
            return as_text(values.get(self.reference_column))
        return self.reference_value or ""

    @model_validator(mode="after")
    def _has_reference(self) -> ReferenceSettings:
        if not self.reference_column and self.reference_value is None:
            raise ValueError("Choose a reference column or type a reference value")
        return self


def reference_to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "column": data.get("column"),
        "reference_column": data.get("reference_column") or None,
        "reference_value": data.get("reference_value")
        if not data.get("reference_column")
        else None,
    }
