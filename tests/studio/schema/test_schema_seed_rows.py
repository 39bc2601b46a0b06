"""Which seed row (or document chunk) each dataset row takes."""

import tracemalloc
from collections import Counter

import pytest

from studio.schema import DocumentColumn, SeedDataColumn, seed_row_index
from studio.schema.seed_rows import shuffled_position


def seed(sampling: str, name: str = "seed") -> SeedDataColumn:
    return SeedDataColumn(name=name, seed_file_id=1, fields=["q"], sampling=sampling)  # type: ignore[arg-type]


def indices(
    column: SeedDataColumn | DocumentColumn, n: int, rows: int, s: int | str = 7
) -> list[int]:
    return [seed_row_index(column, s, i, n) for i in range(rows)]


def test_ordered_wraps_around() -> None:
    assert indices(seed("ordered"), 3, 7) == [0, 1, 2, 0, 1, 2, 0]


def test_shuffle_uses_every_row_once_per_pass_in_a_new_order_each_pass() -> None:
    column = seed("shuffle")
    for size in (1, 2, 3, 5, 16, 17, 100, 1000):
        taken = indices(column, size, size * 3)
        passes = [taken[p * size : (p + 1) * size] for p in range(3)]
        for one_pass in passes:
            assert sorted(one_pass) == list(range(size)), size
        if size >= 5:
            assert passes[0] != passes[1] != passes[2]
            assert passes[0] != list(range(size))


def test_shuffle_depends_on_the_seed_and_the_column() -> None:
    a = indices(seed("shuffle"), 50, 50, s=1)
    assert a == indices(seed("shuffle"), 50, 50, s=1)
    assert a != indices(seed("shuffle"), 50, 50, s=2)
    assert a != indices(seed("shuffle", "other"), 50, 50, s=1)


def test_shuffle_is_roughly_uniform() -> None:
    # Where table row 0 lands, over many seeds, should be spread over all positions.
    first_positions = Counter(
        next(i for i in range(10) if seed_row_index(seed("shuffle"), s, i, 10) == 0)
        for s in range(2000)
    )
    assert set(first_positions) == set(range(10))
    assert max(first_positions.values()) < 2.5 * min(first_positions.values())


def test_random_draws_with_replacement_reproducibly() -> None:
    column = seed("random")
    taken = indices(column, 10, 1000)
    assert taken == indices(column, 10, 1000)
    counts = Counter(taken)
    assert set(counts) == set(range(10))
    # With replacement, a pass of 10 rows almost surely repeats one.
    assert len(set(taken[:10])) < 10


def test_documents_use_the_same_rules() -> None:
    doc = DocumentColumn(name="doc", seed_file_id=1, sampling="ordered")
    assert indices(doc, 4, 6) == [0, 1, 2, 3, 0, 1]


def test_large_tables_need_no_materialised_permutation() -> None:
    # Measured in memory, not time (a timed test flakes): a shuffled list of a million row
    # numbers would take tens of megabytes.
    column = seed("shuffle")
    tracemalloc.start()
    try:
        taken = {seed_row_index(column, 3, i, 1_000_000) for i in range(0, 1_000_000, 1000)}
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert len(taken) == 1000  # distinct rows: it is a permutation
    assert all(0 <= i < 1_000_000 for i in taken)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="Column 'seed': the seed file has no rows"):
        seed_row_index(seed("random"), 1, 0, 0)
    with pytest.raises(ValueError, match="must not be negative"):
        seed_row_index(seed("random"), 1, -1, 5)
    with pytest.raises(ValueError, match="outside"):
        shuffled_position(5, 5, "k")
