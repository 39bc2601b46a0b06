"""Kinds whose score has a range and an optional pass threshold within it (similarity 0–1,
BLEU 0–100, …): the threshold is checked against the kind's range when it is created."""

from __future__ import annotations

import math
from typing import ClassVar

from pydantic import field_validator

from .base import ReferenceSettings


class ThresholdSettings(ReferenceSettings):
    """A reference metric whose rows pass at or above ``threshold`` (None: no pass/fail)."""

    SCALE: ClassVar[tuple[float, float]] = (0.0, 1.0)

    threshold: float | None = None

    @field_validator("threshold")
    @classmethod
    def _within_scale(cls, value: float | None) -> float | None:
        low, high = cls.SCALE
        if value is not None and not (math.isfinite(value) and low <= value <= high):
            raise ValueError(f"must be between {low:g} and {high:g}, the range of these scores")
        return value

    def passed(self, value: float) -> bool | None:
        return None if self.threshold is None else value >= self.threshold
