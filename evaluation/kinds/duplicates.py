"""Exact and near duplicates of a column across the rows (MinHash LSH, evaluation/metrics/
duplicates.py). Each row gets its cluster; the first row of a cluster (lowest index) and a
unique row score 1 and pass, a later duplicate scores 0 and fails."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal

from django import forms
from pydantic import Field, field_validator

from evaluation.metrics.duplicates import (
    MAX_SIMILARITY,
    MIN_SIMILARITY,
    Clusters,
    find_duplicates,
)
from studio.kinds.base import KindField, given

from .base import (
    COLUMN,
    DatasetResult,
    EvaluationKind,
    KindSettings,
    RowInput,
    ScoreResult,
    as_text,
)


class DuplicatesSettings(KindSettings):
    shingles: Literal["words", "characters"] = "characters"
    shingle_size: int = Field(default=5, ge=1, le=20)
    similarity: float = 0.8
    num_perm: int = Field(default=128, ge=16, le=512)

    @field_validator("similarity")
    @classmethod
    def _similarity(cls, value: float) -> float:
        if not MIN_SIMILARITY <= value <= MAX_SIMILARITY:
            raise ValueError(
                f"The similarity threshold must be between {MIN_SIMILARITY} and "
                f"{MAX_SIMILARITY} (got {value})"
            )
        return value


def score_dataset(settings: DuplicatesSettings, rows: Iterable[RowInput]) -> DatasetResult:
    ids, indexes = array("q"), array("q")

    def texts() -> Iterator[str]:
        record = not ids  # the first pass notes which row each position is
        for row in rows:
            if record:
                ids.append(row.row_id)
                indexes.append(row.index)
            yield as_text(row.values.get(settings.column))

    clusters = find_duplicates(
        texts,
        similarity=settings.similarity,
        unit=settings.shingles,
        size=settings.shingle_size,
        num_perm=settings.num_perm,
    )
    figures = dict(clusters.figures)
    figures["largest"] = [
        {**cluster, "first": indexes[cluster["first"]]} for cluster in figures["largest"]
    ]
    return DatasetResult(_scores(clusters, ids, indexes), figures)


def _scores(clusters: Clusters, ids: array[int], indexes: array[int]) -> Iterator[tuple[int, Any]]:
    for position, row_id in enumerate(ids):
        first = int(clusters.first[position])
        size = int(clusters.size[position])
        detail: dict[str, Any] = {"cluster": indexes[first], "cluster_size": size}
        if size > 1:
            detail["exact"] = bool(clusters.exact[position])
        unique_or_first = first == position
        yield row_id, ScoreResult(1.0 if unique_or_first else 0.0, unique_or_first, detail)


SHINGLES = KindField(
    "shingles",
    forms.ChoiceField(
        choices=[("characters", "Characters"), ("words", "Words")],
        help_text="Compare runs of characters (short texts) or of words (long ones)",
    ),
    new_value="characters",
)
SHINGLE_SIZE = KindField(
    "shingle_size",
    forms.IntegerField(required=False, help_text="Characters or words per run (default 5)"),
)
SIMILARITY = KindField(
    "similarity",
    forms.FloatField(
        required=False,
        label="Similarity threshold",
        help_text="0.5–1.0: rows at least this similar (Jaccard) are near duplicates (0.8)",
    ),
)
NUM_PERM = KindField(
    "num_perm",
    forms.IntegerField(
        required=False,
        label="MinHash permutations",
        help_text="16–512: more is more precise and slower (128)",
    ),
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "column": data.get("column"),
        "shingles": data.get("shingles") or "characters",
        "shingle_size": given(data, "shingle_size", 5),
        "similarity": given(data, "similarity", 0.8),
        "num_perm": given(data, "num_perm", 128),
    }


KIND = EvaluationKind(
    name="duplicates",
    label="Duplicates",
    group="Dataset-level",
    description=(
        "Exact and near duplicates of the column across the rows (MinHash LSH): each row gets "
        "its cluster; later copies of a row score 0."
    ),
    settings_model=DuplicatesSettings,
    fields=(COLUMN, SHINGLES, SHINGLE_SIZE, SIMILARITY, NUM_PERM),
    to_settings=to_settings,
    score_dataset=score_dataset,
    scale=(0.0, 1.0),
    figures_template="evaluation/partials/figures_duplicates.html",
)
