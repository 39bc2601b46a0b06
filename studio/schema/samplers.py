"""Values for the columns that need no model: categories, numbers, dates, fakes, uuids.

Every value comes from its own ``random.Random`` seeded by (dataset seed, row,
column), so a row can be regenerated on its own, in any worker, in any order,
and come out the same.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Mapping
from typing import TypeGuard

from .fakes import fake_value
from .sampler_kinds import (
    BooleanColumn,
    CategoryColumn,
    DatetimeColumn,
    FloatColumn,
    IntegerColumn,
    PersonColumn,
    SubcategoryColumn,
    UuidColumn,
    parse_moment,
)

__all__ = ["SAMPLER_KINDS", "SamplerColumn", "is_sampler", "rng_for", "sample_value"]

SamplerColumn = (
    CategoryColumn
    | SubcategoryColumn
    | IntegerColumn
    | FloatColumn
    | BooleanColumn
    | DatetimeColumn
    | PersonColumn
    | UuidColumn
)
SAMPLER_KINDS: tuple[type, ...] = (
    CategoryColumn,
    SubcategoryColumn,
    IntegerColumn,
    FloatColumn,
    BooleanColumn,
    DatetimeColumn,
    PersonColumn,
    UuidColumn,
)


def rng_for(seed: int | str, row_index: int, column: str) -> random.Random:
    """A generator private to one cell.

    Seeding with a string is stable across processes and Python runs (it is
    hashed with SHA-512, unlike ``hash()``, which is salted per process).
    Column names cannot contain ':', so distinct cells get distinct strings.
    """
    return random.Random(f"{seed}:{row_index}:{column}")


def is_sampler(column: object) -> TypeGuard[SamplerColumn]:
    """True for the column kinds whose values ``sample_value`` can draw."""
    return isinstance(column, SAMPLER_KINDS)


def sample_value(
    column: object, rng: random.Random, row: Mapping[str, object] | None = None
) -> object:
    """Draw one value for a sampler column; TypeError for any other column.

    ``row`` holds the values already generated for this row; only a
    subcategory needs it (its parent's value), and its parent always comes
    earlier in the generation order.
    """
    if isinstance(column, CategoryColumn):
        return _choose(rng, column.values, column.weights)
    if isinstance(column, SubcategoryColumn):
        return _subcategory(column, rng, row)
    if isinstance(column, IntegerColumn):
        if column.distribution == "gaussian":
            return int(_clip(round(_gauss(rng, column)), column.low, column.high))
        return rng.randint(column.low, column.high)
    if isinstance(column, FloatColumn):
        return _float(column, rng)
    if isinstance(column, BooleanColumn):
        return rng.random() < column.probability
    if isinstance(column, DatetimeColumn):
        return _datetime(column, rng)
    if isinstance(column, PersonColumn):
        return fake_value(column.field, column.locale, rng.getrandbits(64))
    if isinstance(column, UuidColumn):
        # From the seeded generator, not uuid4(), so the value is reproducible.
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    raise TypeError(f"{type(column).__name__} is not a sampler column")


def _choose(rng: random.Random, values: list[str], weights: list[float] | None) -> str:
    if weights is None:
        return rng.choice(values)
    return rng.choices(values, weights=weights, k=1)[0]


def _subcategory(
    column: SubcategoryColumn, rng: random.Random, row: Mapping[str, object] | None
) -> str:
    if row is None or column.parent not in row:
        raise ValueError(
            f"Column '{column.name}' needs the value of its parent column '{column.parent}'"
        )
    parent_value = row[column.parent]
    choices = column.values.get(str(parent_value))
    if choices is None:
        # Validation makes every parent value covered; this means the schema
        # changed under a running job.
        raise ValueError(
            f"Column '{column.name}' has no values for '{parent_value}' "
            f"(the value of column '{column.parent}')"
        )
    weights = (column.weights or {}).get(str(parent_value))
    return _choose(rng, choices, weights)


def _gauss(rng: random.Random, column: IntegerColumn | FloatColumn) -> float:
    mean = column.mean if column.mean is not None else (column.low + column.high) / 2
    # ±3 standard deviations span the range: few draws are clipped.
    stddev = column.stddev if column.stddev is not None else (column.high - column.low) / 6
    if stddev == 0:
        return mean
    return rng.gauss(mean, stddev)


def _clip(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _float(column: FloatColumn, rng: random.Random) -> float:
    if column.distribution == "gaussian":
        value = _clip(_gauss(rng, column), column.low, column.high)
    else:
        value = rng.uniform(column.low, column.high)
    if column.decimals is not None:
        # Rounding can step just past a bound given with more decimals; clip again.
        value = _clip(round(value, column.decimals), column.low, column.high)
    return value


def _datetime(column: DatetimeColumn, rng: random.Random) -> str:
    start, start_is_date = parse_moment(column.start)
    end, end_is_date = parse_moment(column.end)
    if start_is_date and end_is_date:
        day = start.date() + dt.timedelta(days=rng.randint(0, (end - start).days))
        return day.strftime(column.format) if column.format else day.isoformat()
    seconds = int((end - start).total_seconds())
    moment = start + dt.timedelta(seconds=rng.randint(0, seconds))
    return moment.strftime(column.format) if column.format else moment.isoformat()
