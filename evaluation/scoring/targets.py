"""Which rows an evaluation scores: generated rows, optionally only some statuses of review and
rows whose columns have given values (a category sampler's value, say)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from pydantic import BaseModel, ConfigDict, Field

from generation.models import Row, Run

MAX_WHERE = 10


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")

    review: list[Row.Review] = Field(default_factory=list, max_length=3)
    # column → the value it must have (compared as text)
    where: dict[str, str] = Field(default_factory=dict, max_length=MAX_WHERE)


def target_rows(run: Run, target: dict[str, Any]) -> QuerySet[Row]:
    parsed = Target.model_validate(target or {})
    rows = Row.objects.filter(run=run, status=Row.Status.GENERATED)
    if parsed.review:
        rows = rows.filter(review_status__in=[str(r) for r in parsed.review])
    for column, value in parsed.where.items():
        rows = rows.filter(**{f"values__{column}": value})
    return rows
