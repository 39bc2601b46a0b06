"""Column kinds whose values are drawn at random, without a model.

Only their settings and the checks on them live here; drawing values is in
``samplers.py``. Checks that need other columns (a subcategory's parent) are
made by ``SchemaSpec``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
from typing import Annotated, Any, Literal

from pydantic import Field, FiniteFloat, field_validator, model_validator

from .base import ColumnBase, count
from .errors import SchemaError

__all__ = [
    "PERSON_FIELDS",
    "BooleanColumn",
    "CategoryColumn",
    "DatetimeColumn",
    "FloatColumn",
    "IntegerColumn",
    "PersonColumn",
    "SubcategoryColumn",
    "UuidColumn",
    "faker_locales",
    "parse_moment",
]


def _weight_problems(where: str, values: list[str], weights: list[float]) -> list[str]:
    """Messages for one list of weights; ``where`` starts the sentence (``Column 't'``)."""
    problems: list[str] = []
    if len(weights) != len(values):
        problems.append(
            f"{where} has {count(len(values), 'value')} but "
            f"{count(len(weights), 'weight')}; give exactly one weight per value"
        )
    if any(w < 0 for w in weights):
        problems.append(f"{where}: weights — must not be negative")
    elif sum(weights) <= 0:
        problems.append(f"{where}: weights — must add up to more than 0")
    return problems


# A category is a list to draw from, not a data set (upload a seed table for that); the cap keeps
# a pasted or generated list from making every row's draw and every page heavy.
MAX_CATEGORY_VALUES = 10_000


class CategoryColumn(ColumnBase):
    kind: Literal["category"] = "category"
    values: list[str] = Field(min_length=1, max_length=MAX_CATEGORY_VALUES)
    weights: list[FiniteFloat] | None = Field(default=None, max_length=MAX_CATEGORY_VALUES)

    @model_validator(mode="after")
    def _check(self) -> CategoryColumn:
        problems: list[str] = []
        empty = [str(i + 1) for i, value in enumerate(self.values) if value == ""]
        if empty:
            problems.append(
                f"Column '{self.name}': values — must not be empty (value {', '.join(empty)})"
            )
        if self.weights is not None:
            problems.extend(_weight_problems(f"Column '{self.name}'", self.values, self.weights))
        if problems:
            raise SchemaError(problems)
        return self


class SubcategoryColumn(ColumnBase):
    """A category whose choices depend on another category's value in the same row.

    E.g. parent ``topic`` = "science" → one of ["physics", "biology"].
    """

    kind: Literal["subcategory"] = "subcategory"
    parent: str
    values: dict[str, Annotated[list[str], Field(max_length=MAX_CATEGORY_VALUES)]] = Field(
        min_length=1, max_length=MAX_CATEGORY_VALUES
    )
    weights: (
        dict[str, Annotated[list[FiniteFloat], Field(max_length=MAX_CATEGORY_VALUES)]] | None
    ) = Field(default=None, max_length=MAX_CATEGORY_VALUES)

    def dependencies(self) -> set[str]:
        # The parent must be drawn first, so the graph orders this column after it.
        return {self.parent}

    @model_validator(mode="after")
    def _check(self) -> SubcategoryColumn:
        problems: list[str] = []
        for parent_value, choices in self.values.items():
            if not choices:
                problems.append(
                    f"Column '{self.name}': values for '{parent_value}' — give at least one value"
                )
            elif "" in choices:
                problems.append(
                    f"Column '{self.name}': values for '{parent_value}' — must not be empty strings"
                )
        for parent_value, weights in (self.weights or {}).items():
            if parent_value not in self.values:
                problems.append(
                    f"Column '{self.name}' has weights for '{parent_value}', which has no values"
                )
                continue
            problems.extend(
                _weight_problems(
                    f"Column '{self.name}' (for '{parent_value}')",
                    self.values[parent_value],
                    weights,
                )
            )
        if problems:
            raise SchemaError(problems)
        return self


Distribution = Literal["uniform", "gaussian"]


def _distribution_problems(
    name: str, distribution: str, low: float, high: float, mean: float | None, sd: float | None
) -> list[str]:
    problems: list[str] = []
    if low > high:
        problems.append(f"Column '{name}': low ({low}) must not be greater than high ({high})")
    if distribution != "gaussian" and (mean is not None or sd is not None):
        # Silently ignoring them would let a user believe the shape is in effect.
        problems.append(f"Column '{name}': mean and stddev apply only to distribution 'gaussian'")
    if mean is not None and not low <= mean <= high:
        problems.append(
            f"Column '{name}': mean ({mean}) must be between low ({low}) and high ({high})"
        )
    return problems


class IntegerColumn(ColumnBase):
    """Whole numbers in [low, high]: uniform, or gaussian rounded and clipped to the bounds.

    Gaussian defaults: mean at the middle, stddev a sixth of the range (so
    about 99.7% of draws fall inside without clipping).
    """

    kind: Literal["integer"] = "integer"
    low: int
    high: int
    distribution: Distribution = "uniform"
    mean: FiniteFloat | None = None
    stddev: FiniteFloat | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> IntegerColumn:
        problems = _distribution_problems(
            self.name, self.distribution, self.low, self.high, self.mean, self.stddev
        )
        if problems:
            raise SchemaError(problems)
        return self


class FloatColumn(ColumnBase):
    """Real numbers in [low, high], uniform or gaussian (clipped), optionally rounded."""

    kind: Literal["float"] = "float"
    low: FiniteFloat
    high: FiniteFloat
    distribution: Distribution = "uniform"
    mean: FiniteFloat | None = None
    stddev: FiniteFloat | None = Field(default=None, gt=0)
    # Digits after the decimal point; None keeps full precision.
    decimals: int | None = Field(default=None, ge=0, le=15)

    @model_validator(mode="after")
    def _check(self) -> FloatColumn:
        problems = _distribution_problems(
            self.name, self.distribution, self.low, self.high, self.mean, self.stddev
        )
        if problems:
            raise SchemaError(problems)
        return self


class BooleanColumn(ColumnBase):
    kind: Literal["boolean"] = "boolean"
    # Chance of True.
    probability: float = Field(default=0.5, ge=0, le=1, allow_inf_nan=False)


_MOMENT_EXAMPLE = "e.g. 2024-01-31 or 2024-01-31T09:30:00"


@functools.lru_cache(maxsize=256)
def parse_moment(text: str) -> tuple[dt.datetime, bool]:
    """An ISO 8601 date or date-time, and whether it was a bare date.

    ValueError for anything else. Cached: a sampler parses its bounds per row.
    """
    try:
        if "T" not in text and " " not in text.strip() and ":" not in text:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time()), True
        return dt.datetime.fromisoformat(text), False
    except ValueError:
        raise ValueError(
            f"'{text}' is not an ISO 8601 date or date-time ({_MOMENT_EXAMPLE})"
        ) from None


class DatetimeColumn(ColumnBase):
    """A moment drawn uniformly in [start, end], written as text.

    Bounds are kept as the user's ISO strings (dates or date-times, validated)
    so the stored schema is exactly what was typed. With two bare dates the
    draw is a whole day and the default output a date; otherwise a second.
    """

    kind: Literal["datetime"] = "datetime"
    start: str
    end: str
    # strftime pattern; None writes ISO 8601.
    format: str | None = Field(default=None, min_length=1, max_length=200)

    @field_validator("start", "end", mode="before")
    @classmethod
    def _dates_as_text(cls, value: Any) -> Any:
        # Accept Python dates (from YAML, say) but store them as ISO text.
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        return value

    @model_validator(mode="after")
    def _check(self) -> DatetimeColumn:
        problems: list[str] = []
        bounds: list[dt.datetime] = []
        for field in ("start", "end"):
            try:
                bounds.append(parse_moment(getattr(self, field))[0])
            except ValueError as exc:
                problems.append(f"Column '{self.name}': {field} — {exc}")
        if len(bounds) == 2:
            start, end = bounds
            if (start.tzinfo is None) != (end.tzinfo is None):
                problems.append(
                    f"Column '{self.name}': start and end must both have a time zone, or neither"
                )
            elif start > end:
                problems.append(
                    f"Column '{self.name}': start ({self.start}) must not be after end ({self.end})"
                )
        if self.format is not None and "%" not in self.format:
            # Without a directive every row would get the same constant text.
            problems.append(
                f"Column '{self.name}': format — '{self.format}' has no % directive "
                "(e.g. %Y-%m-%d %H:%M)"
            )
        if problems:
            raise SchemaError(problems)
        return self


PersonField = Literal[
    "first_name",
    "last_name",
    "name",
    "email",
    "user_name",
    "phone_number",
    "street_address",
    "city",
    "country",
    "company",
    "job",
]
PERSON_FIELDS: tuple[str, ...] = PersonField.__args__  # type: ignore[attr-defined]


@functools.cache
def faker_locales() -> frozenset[str]:
    """Locales Faker supports. Imported on first use: Faker takes ~0.3 s to import."""
    from faker.config import AVAILABLE_LOCALES

    return frozenset(AVAILABLE_LOCALES)


class PersonColumn(ColumnBase):
    """A realistic fake (name, email, city, ...) from Faker in a given locale."""

    kind: Literal["person"] = "person"
    field: PersonField = "name"
    locale: str = "en_US"

    @model_validator(mode="after")
    def _check(self) -> PersonColumn:
        locales = faker_locales()
        if self.locale not in locales:
            # 'fr-fr' and 'FR_fr' are common spellings of 'fr_FR'.
            by_lower = {loc.lower(): loc for loc in locales}
            spelled = by_lower.get(self.locale.replace("-", "_").lower())
            # Sorted: set order varies between processes, and so would ties.
            close = (
                [spelled] if spelled else difflib.get_close_matches(self.locale, sorted(locales))
            )
            hint = f"did you mean '{close[0]}'?" if close else "e.g. en_US, fr_FR or ja_JP"
            raise SchemaError(
                f"Column '{self.name}': locale '{self.locale}' is not a Faker locale; {hint}"
            )
        return self


class UuidColumn(ColumnBase):
    kind: Literal["uuid"] = "uuid"
