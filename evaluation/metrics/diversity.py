"""Lexical diversity of a column: distinct-n (unique n-grams over all n-grams, Li et al. 2016)
for words and pairs of words, and the most common n-grams with their share of all n-grams.

Words are runs of letters and digits, case ignored. n-grams are counted exactly, by a 64-bit
hash in sorted numpy arrays: 16 bytes per distinct n-gram (not a dict of strings), so memory
follows the number of distinct words and pairs, not of rows (measured: 100,000 rows of random
words, 2.6 million distinct pairs, 93 MB at the peak). The text of the most common ones
is found in a second pass over the texts. The hash is Python's, seeded per
process: both passes run in one call, and a collision (about one in 10^12 pairs at 10 million
distinct n-grams) would only merge two counts.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

WORD = re.compile(r"\w+")
TOP = 10
TIES = 200
# Hashes wait in a buffer (8 bytes each) until this many are merged into the sorted counts.
BUFFER = 500_000

Texts = Callable[[], Iterable[str]]


def words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Iterable[str], n: int) -> float | None:
    """Unique n-grams over all n-grams of the texts together; None when there are none."""
    grams = [gram for text in texts for gram in ngrams(words(text), n)]
    return len(set(grams)) / len(grams) if grams else None


def _key(gram: Sequence[str]) -> int:
    return hash(gram[0]) if len(gram) == 1 else hash(tuple(gram))


class NgramCounts:
    """How often each n-gram occurs, counted by hash."""

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.int64)
        self.counts = np.empty(0, dtype=np.int64)
        self.total = 0
        self._buffer = array("q")

    def add(self, tokens: Sequence[str], n: int) -> None:
        self.total += max(len(tokens) - n + 1, 0)
        for i in range(len(tokens) - n + 1):
            self._buffer.append(_key(tokens[i : i + n]))
        if len(self._buffer) >= BUFFER:
            self._merge()

    def _merge(self) -> None:
        """Fold the buffer into the sorted counts: known n-grams add up in place, new ones are
        inserted (one copy of the arrays, no sort of them)."""
        if not self._buffer:
            return
        keys, counts = np.unique(np.frombuffer(self._buffer, dtype=np.int64), return_counts=True)
        self._buffer = array("q")
        where = np.searchsorted(self.keys, keys)
        known = where < len(self.keys)
        known[known] = self.keys[where[known]] == keys[known]
        self.counts[where[known]] += counts[known]
        new = ~known
        self.keys = np.insert(self.keys, where[new], keys[new])
        self.counts = np.insert(self.counts, where[new], counts[new])

    def distinct(self) -> int:
        self._merge()
        return len(self.keys)

    def most_common(self, k: int) -> list[tuple[int, int]]:
        """(hash, count) of the ``k`` most common and of those tied with the last of them (up
        to TIES more), for the caller to order the ties by their text: the hash differs from
        one process to the next."""
        self._merge()
        order = np.argsort(-self.counts, kind="stable")
        if len(order) > k:
            last = self.counts[order[k - 1]]
            order = order[: k + min(TIES, int(np.count_nonzero(self.counts[order[k:]] == last)))]
        return [(int(self.keys[i]), int(self.counts[i])) for i in order]


@dataclass
class Diversity:
    # Per text: its own distinct-2 (unique word pairs over its word pairs), NaN under 2 words.
    row_distinct_2: np.ndarray
    figures: dict[str, Any]


def diversity(texts: Texts, *, top_n: int = 2, top: int = TOP) -> Diversity:
    """``texts()`` gives the texts, in the same order each time (called twice)."""
    unigrams, bigrams = NgramCounts(), NgramCounts()
    listed = {1: unigrams, 2: bigrams}.get(top_n) or NgramCounts()
    per_row = array("d")
    rows = 0
    for text in texts():
        rows += 1
        tokens = words(text)
        unigrams.add(tokens, 1)
        bigrams.add(tokens, 2)
        if top_n > 2:
            listed.add(tokens, top_n)
        pairs = ngrams(tokens, 2)
        per_row.append(len(set(pairs)) / len(pairs) if pairs else math.nan)
    candidates = listed.most_common(top)
    texts_of = _texts_of({key for key, _ in candidates}, texts, top_n)
    common = sorted(candidates, key=lambda item: (-item[1], texts_of.get(item[0], "")))[:top]
    total = listed.total
    figures = {
        "rows": rows,
        "words": unigrams.total,
        "distinct_1": _ratio(unigrams.distinct(), unigrams.total),
        "distinct_2": _ratio(bigrams.distinct(), bigrams.total),
        "unique_words": unigrams.distinct(),
        "unique_pairs": bigrams.distinct(),
        "pairs": bigrams.total,
        "top_n": top_n,
        "top": [
            {"ngram": texts_of.get(key, "?"), "count": count, "share": count / total}
            for key, count in common
        ],
        "top_share": sum(count for _, count in common) / total if total else None,
    }
    return Diversity(np.frombuffer(per_row, dtype=np.float64), figures)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _texts_of(keys: set[int], texts: Texts, n: int) -> dict[int, str]:
    found: dict[int, str] = {}
    if not keys:
        return found
    for text in texts():
        for gram in ngrams(words(text), n):
            key = _key(gram)
            if key in keys and key not in found:
                found[key] = " ".join(gram)
                if len(found) == len(keys):
                    return found
    return found
