"""Deterministic sampling for category, integer and uuid columns."""

import uuid

import pytest

from studio.schema import (
    CategoryColumn,
    ExpressionColumn,
    IntegerColumn,
    UuidColumn,
    is_sampler,
    rng_for,
    sample_value,
)


def _draws(column: object, seed: int | str, rows: range) -> list[object]:
    return [sample_value(column, rng_for(seed, row, "c")) for row in rows]


def test_same_seed_row_and_column_give_the_same_value() -> None:
    column = IntegerColumn(name="n", low=0, high=10**9)
    assert sample_value(column, rng_for(42, 7, "n")) == sample_value(column, rng_for(42, 7, "n"))
    assert _draws(column, "seed", range(50)) == _draws(column, "seed", range(50))


def test_different_rows_columns_and_seeds_differ() -> None:
    column = IntegerColumn(name="n", low=0, high=10**9)
    base = sample_value(column, rng_for(42, 7, "n"))
    assert sample_value(column, rng_for(42, 8, "n")) != base
    assert sample_value(column, rng_for(42, 7, "m")) != base
    assert sample_value(column, rng_for(43, 7, "n")) != base
    assert len(set(_draws(column, 1, range(100)))) > 95


def test_rng_is_stable_across_processes() -> None:
    # A fixed expectation: string seeding is hashed with SHA-512, not hash().
    assert rng_for(1, 2, "n").random() == rng_for("1", 2, "n").random()
    assert rng_for(1, 2, "n").getrandbits(32) == 1262552238


def test_integer_stays_in_inclusive_bounds() -> None:
    column = IntegerColumn(name="n", low=-2, high=2)
    assert set(_draws(column, 3, range(500))) == {-2, -1, 0, 1, 2}


def test_unweighted_category_draws_every_value() -> None:
    column = CategoryColumn(name="c", values=["a", "b", "c"])
    assert set(_draws(column, 3, range(300))) == {"a", "b", "c"}


def test_weighted_category_follows_the_weights() -> None:
    column = CategoryColumn(name="c", values=["common", "rare"], weights=[3, 1])
    draws = _draws(column, 12345, range(10_000))
    assert abs(draws.count("common") / len(draws) - 0.75) < 0.02


def test_zero_weight_is_never_drawn() -> None:
    column = CategoryColumn(name="c", values=["yes", "never"], weights=[1, 0])
    assert set(_draws(column, 5, range(1000))) == {"yes"}


def test_uuid_is_a_valid_v4_and_reproducible() -> None:
    column = UuidColumn(name="id")
    values = _draws(column, "s", range(200))
    for value in values:
        assert isinstance(value, str)
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == value
    assert len(set(values)) == 200
    assert values == _draws(column, "s", range(200))


def test_is_sampler() -> None:
    assert is_sampler(CategoryColumn(name="c", values=["a"]))
    assert is_sampler(IntegerColumn(name="n", low=0, high=1))
    assert is_sampler(UuidColumn(name="u"))
    assert not is_sampler(ExpressionColumn(name="e", template="x"))
    assert not is_sampler("category")


def test_non_sampler_column_raises_type_error() -> None:
    with pytest.raises(TypeError, match="ExpressionColumn"):
        sample_value(ExpressionColumn(name="e", template="x"), rng_for(1, 0, "e"))
