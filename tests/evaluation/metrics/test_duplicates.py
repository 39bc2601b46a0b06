"""Exact and near duplicates (MinHash LSH) on texts whose clusters are known by hand."""

import os
import subprocess
import sys

import pytest

from evaluation.metrics import duplicates
from evaluation.metrics.duplicates import find_duplicates, normalise, shingles

FOX = "The quick brown fox jumps over the lazy dog near the river bank."
# One word changed: 53 of the 64 character 5-grams shared, a Jaccard similarity of 0.83.
FOX_JUMPED = "The quick brown fox jumped over the lazy dog near the river bank."
MARKETS = "Stock markets fell sharply on Monday after the announcement."


def clusters(texts, **settings):
    return find_duplicates(lambda: iter(texts), **{"similarity": 0.7, **settings})


def test_shingles_are_runs_of_words_or_characters():
    assert shingles("a b c", "words", 2) == {"a b", "b c"}
    assert shingles("abcd", "characters", 3) == {"abc", "bcd"}
    assert shingles("a b", "words", 3) == {"a b"}  # shorter than one shingle: the whole text
    assert shingles("", "characters", 5) == set()
    assert normalise("  Hello\tWORLD \n") == "hello world"


def test_exact_copies_after_normalisation_are_one_cluster_led_by_the_first():
    result = clusters(["Hello  World", "Something else entirely", "hello world", "HELLO WORLD "])
    assert result.first.tolist() == [0, 1, 0, 0]
    assert result.size.tolist() == [3, 1, 3, 3]
    assert result.exact[[0, 2, 3]].all()
    assert result.figures == {
        "rows": 4,
        "duplicate_rows": 2,
        "exact_duplicate_rows": 2,
        "near_duplicate_rows": 0,
        "clusters": 1,
        "largest_cluster": 3,
        "largest": [{"first": 0, "size": 3, "exact": True}],
    }


def test_near_identical_sentences_cluster_and_an_unrelated_one_does_not():
    result = clusters([MARKETS, FOX, FOX_JUMPED])
    assert result.first.tolist() == [0, 1, 1]
    assert result.size.tolist() == [1, 2, 2]
    assert not result.exact[1]  # two different texts
    assert result.figures["near_duplicate_rows"] == 1
    assert result.figures["exact_duplicate_rows"] == 0
    assert result.figures["largest"] == [{"first": 1, "size": 2, "exact": False}]


def test_the_similarity_threshold_decides_what_is_near():
    strict = clusters([FOX, FOX_JUMPED], similarity=0.95)
    assert strict.first.tolist() == [0, 1]
    assert strict.figures["duplicate_rows"] == 0
    # Pairs of words: the changed word breaks 2 of 11 pairs, 9 of 13 shared (0.69).
    words = clusters([FOX, FOX_JUMPED], unit="words", size=2, similarity=0.8)
    assert words.first.tolist() == [0, 1]


def test_a_cluster_mixing_copies_and_near_copies_is_not_exact():
    result = clusters([FOX, MARKETS, FOX_JUMPED, FOX.upper()])
    assert result.first.tolist() == [0, 1, 0, 0]
    assert result.figures["exact_duplicate_rows"] == 1
    assert result.figures["near_duplicate_rows"] == 1
    assert result.figures["largest"] == [{"first": 0, "size": 3, "exact": False}]


def test_no_texts_and_a_threshold_out_of_range():
    assert clusters([]).figures["rows"] == 0
    with pytest.raises(ValueError, match="between 0.5 and 1.0"):
        clusters([FOX], similarity=0.4)


SCRIPT = """
from evaluation.metrics.duplicates import find_duplicates
texts = [f"Row {i % 7}: the quick brown fox jumps over the lazy dog number {i % 11}" for i in range(60)]
print(find_duplicates(lambda: iter(texts), similarity=0.8).first.tolist())
"""


def test_clusters_are_the_same_in_every_process():
    # Python's string hash changes with PYTHONHASHSEED: nothing here may depend on it.
    outputs = {
        subprocess.run(
            [sys.executable, "-c", SCRIPT],
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": os.getcwd()},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert outputs.pop().strip() != str(list(range(60)))  # it did find clusters


def test_candidates_from_the_bands_are_checked_against_the_threshold(monkeypatch):
    # Bands of one value each: nearly any two texts share one and become candidates; only
    # the pair whose signatures agree on 70% of their values may join.
    monkeypatch.setattr(duplicates, "bands_for", lambda similarity, num_perm: (num_perm, 1))
    result = clusters([MARKETS, FOX, FOX_JUMPED, "A fox is quick and a dog is lazy."])
    assert result.first.tolist() == [0, 1, 1, 3]
