"""Cosine similarity on hand-computed vectors, and the simulator's pseudo-embeddings: equal
texts agree, close spellings are closer than unrelated texts."""

import math

import pytest

from evaluation.metrics.embedding import NotComparable, cosine
from generation.providers.simulator.online import EMBEDDING_DIMS, simulated_embedding


def test_cosine_of_hand_computed_vectors():
    assert cosine([1, 0], [0, 1]) == 0.0
    assert cosine([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)  # same direction, any length
    assert cosine([1, 0], [-3, 0]) == -1.0
    # (1,1)·(1,0) = 1; |(1,1)| = √2; |(1,0)| = 1 → 1/√2.
    assert cosine([1, 1], [1, 0]) == pytest.approx(1 / math.sqrt(2))
    # (1,2,2)·(2,1,−2) = 2 + 2 − 4 = 0: orthogonal. (3,4)·(4,3) = 24, 5·5 → 0.96.
    assert cosine([1, 2, 2], [2, 1, -2]) == 0.0
    assert cosine([3, 4], [4, 3]) == pytest.approx(0.96)


def test_cosine_is_clamped_against_rounding():
    v = [0.1] * 1536
    assert cosine(v, v) <= 1.0


@pytest.mark.parametrize(
    ("a", "b", "problem"),
    [([1, 2], [1, 2, 3], "2 and 3 dimensions"), ([0, 0], [1, 0], "all zeros")],
)
def test_cosine_is_undefined_for_mismatched_or_zero_vectors(a, b, problem):
    with pytest.raises(NotComparable, match=problem):
        cosine(a, b)


def test_simulated_embeddings_are_deterministic_unit_vectors_of_character_trigrams():
    paris = simulated_embedding("Paris")
    assert len(paris) == EMBEDDING_DIMS
    assert math.fsum(x * x for x in paris) == pytest.approx(1.0)
    assert simulated_embedding("  paris ") == paris  # case and spacing do not count
    close = cosine(simulated_embedding("the capital is Paris"), simulated_embedding("Paris"))
    far = cosine(simulated_embedding("Jupiter"), simulated_embedding("Paris"))
    assert close > far
    assert simulated_embedding("") == [0.0] * EMBEDDING_DIMS
