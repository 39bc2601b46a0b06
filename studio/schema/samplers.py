"""Values for the columns that need no model: categories, integers, uuids.

Every value comes from its own ``random.Random`` seeded by (dataset seed, row,
column), so a row can be regenerated on its own, in any worker, in any order,
and come out the same.
"""

from __future__ import annotations

import random
import uuid
from typing import TypeGuard

from .spec import CategoryColumn, IntegerColumn, UuidColumn

__all__ = ["SamplerColumn", "is_sampler", "rng_for", "sample_value"]

SamplerColumn = CategoryColumn | IntegerColumn | UuidColumn


def rng_for(seed: int | str, row_index: int, column: str) -> random.Random:
    """A generator private to one cell.

    Seeding with a string is stable across processes and Python runs (it is
    hashed with SHA-512, unlike ``hash()``, which is salted per process).
    Column names cannot contain ':', so distinct cells get distinct strings.
    """
    return random.Random(f"{seed}:{row_index}:{column}")


def is_sampler(column: object) -> TypeGuard[SamplerColumn]:
    """True for the column kinds whose values ``sample_value`` can draw."""
    return isinstance(column, CategoryColumn | IntegerColumn | UuidColumn)


def sample_value(column: object, rng: random.Random) -> object:
    """Draw one value for a sampler column; TypeError for any other column."""
    if isinstance(column, CategoryColumn):
        if column.weights is None:
            return rng.choice(column.values)
        return rng.choices(column.values, weights=column.weights, k=1)[0]
    if isinstance(column, IntegerColumn):
        return rng.randint(column.low, column.high)
    if isinstance(column, UuidColumn):
        # From the seeded generator, not uuid4(), so the value is reproducible.
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))
    raise TypeError(f"{type(column).__name__} is not a sampler column")
