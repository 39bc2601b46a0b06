"""Distinct-n and the most common n-grams, against counts made by hand."""

import math
import random
from collections import Counter

import pytest

from evaluation.metrics import diversity as metric
from evaluation.metrics.diversity import distinct_n, diversity, ngrams, words


def test_distinct_n_counts_unique_ngrams_over_all_of_them():
    texts = ["The cat sat.", "the cat ran"]
    # words: the cat sat the cat ran → 4 unique of 6; pairs: the-cat ×2, cat-sat, cat-ran → 3 of 4
    assert distinct_n(texts, 1) == pytest.approx(4 / 6)
    assert distinct_n(texts, 2) == pytest.approx(3 / 4)
    assert distinct_n(["one"], 2) is None


def test_figures_and_each_rows_own_distinct_2():
    result = diversity(lambda: iter(["The cat sat.", "the cat ran", "go go go go", "hi"]), top_n=2)
    figures = result.figures
    # words: the cat sat the cat ran go go go go hi → 6 unique of 11
    assert figures["distinct_1"] == pytest.approx(6 / 11)
    # pairs: the-cat ×2, cat-sat, cat-ran, go-go ×3 → 4 unique of 7
    assert figures["distinct_2"] == pytest.approx(4 / 7)
    assert (figures["words"], figures["unique_words"]) == (11, 6)
    assert (figures["pairs"], figures["unique_pairs"]) == (7, 4)
    # Most common first, ties in the order of their text.
    assert [(t["ngram"], t["count"]) for t in figures["top"]] == [
        ("go go", 3),
        ("the cat", 2),
        ("cat ran", 1),
        ("cat sat", 1),
    ]
    assert figures["top"][0]["share"] == pytest.approx(3 / 7)
    assert figures["top_share"] == pytest.approx(1.0)
    assert result.row_distinct_2[:3].tolist() == pytest.approx([1.0, 1.0, 1 / 3])
    assert math.isnan(result.row_distinct_2[3])  # one word: no pair


def test_counts_merged_in_many_batches_match_a_plain_counter(monkeypatch):
    monkeypatch.setattr(metric, "BUFFER", 7)
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(40)]
    texts = [
        " ".join(rng.choice(vocabulary) for _ in range(rng.randint(0, 12))) for _ in range(300)
    ]
    result = diversity(lambda: iter(texts), top_n=3, top=5)
    triples = Counter(" ".join(g) for text in texts for g in ngrams(words(text), 3))
    expected = sorted(triples.items(), key=lambda item: (-item[1], item[0]))[:5]
    assert [(t["ngram"], t["count"]) for t in result.figures["top"]] == expected
    assert result.figures["distinct_2"] == pytest.approx(distinct_n(texts, 2))
    assert result.figures["distinct_1"] == pytest.approx(distinct_n(texts, 1))


def test_no_words_at_all():
    figures = diversity(lambda: iter(["", "…"])).figures
    assert figures["distinct_1"] is None and figures["top"] == [] and figures["top_share"] is None
