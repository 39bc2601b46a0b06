"""Exact and near duplicates among texts, in memory that grows by a few dozen bytes per text.

Exact: the same text after normalisation (case, whitespace), found by a hash of it. Near: a
Jaccard similarity of the texts' shingle sets (words or characters) at least the threshold,
estimated by MinHash signatures (datasketch) and found with LSH banding: texts sharing a band
of their signature are candidates, and a candidate pair counts only when its signatures agree
on at least the threshold's share of their values (datasketch's MinHashLSH leaves this check
out; without it a pair well below the threshold can be joined). Near pairs join into clusters
(connected components), so a cluster can hold texts that are each near the next.

Two passes over the texts: the first keeps each text's normalised hash and its band keys; the
second recomputes the signatures of the candidates only. Everything is seeded: the same texts
give the same clusters in every process.
"""

from __future__ import annotations

import hashlib
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Shingles = Literal["words", "characters"]
SEED = 1
MIN_SIMILARITY = 0.5
MAX_SIMILARITY = 1.0
# Candidates are checked afterwards, so the banding leans towards finding every near pair.
LSH_WEIGHTS = (0.3, 0.7)
# datasketch cannot band for a threshold near 1 (fewer than two bands): above this the bands of
# this threshold are used, and the check against the real one does the rest.
MAX_BANDING_THRESHOLD = 0.95
LARGEST_SHOWN = 10

Texts = Callable[[], Iterable[str]]


def normalise(text: str) -> str:
    """What exact duplicates share: the text with case and runs of whitespace ignored."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


def shingles(text: str, unit: Shingles, size: int) -> set[str]:
    """The overlapping runs of ``size`` words or characters; a shorter text is one shingle."""
    if unit == "words":
        words = text.split()
        if len(words) <= size:
            return {" ".join(words)} if words else set()
        return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}
    if len(text) <= size:
        return {text} if text else set()
    return {text[i : i + size] for i in range(len(text) - size + 1)}


def _text_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def bands_for(similarity: float, num_perm: int) -> tuple[int, int]:
    """(bands, values per band) for LSH at this similarity threshold."""
    # datasketch is imported where it is used: it pulls in scipy (seconds at every process
    # start of the web server and the workers, for a kind few evaluations use).
    from datasketch import MinHashLSH  # type: ignore[import-untyped]

    threshold = min(similarity, MAX_BANDING_THRESHOLD)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=LSH_WEIGHTS)
    return int(lsh.b), int(lsh.r)


class _Growing:
    """A numpy array appended to row by row, doubling its capacity."""

    def __init__(self, width: int, dtype: Any) -> None:
        self._data = np.empty((1024, width), dtype=dtype)
        self.size = 0

    def append(self, row: Any) -> None:
        if self.size == len(self._data):
            self._data = np.concatenate([self._data, np.empty_like(self._data)])
        self._data[self.size] = row
        self.size += 1

    def array(self) -> np.ndarray:
        return self._data[: self.size]


@dataclass
class Clusters:
    """Per text (by its position in the input): the position of the first text of its cluster
    (itself when unique or first), the cluster's size, whether the cluster is copies of one
    text; and figures about them all."""

    first: np.ndarray
    size: np.ndarray
    exact: np.ndarray
    figures: dict[str, Any]


class _Signatures:
    def __init__(self, *, unit: Shingles, size: int, num_perm: int) -> None:
        self.unit = unit
        self.size = size
        # One MinHash cleared for each text: making one per text costs as much as hashing it.
        # CRC32 is enough as the input hash: datasketch mixes it before permuting.
        from datasketch import MinHash

        self._minhash = MinHash(num_perm=num_perm, seed=SEED, hashfunc=zlib.crc32)

    def of(self, normalised: str) -> np.ndarray:
        minhash = self._minhash
        minhash.clear()
        minhash.update_batch([s.encode() for s in shingles(normalised, self.unit, self.size)])
        return np.array(minhash.hashvalues, dtype=np.uint32)


def find_duplicates(
    texts: Texts,
    *,
    similarity: float,
    unit: Shingles = "characters",
    size: int = 5,
    num_perm: int = 128,
) -> Clusters:
    """``texts()`` gives the texts, in the same order each time it is called (twice at most)."""
    if not MIN_SIMILARITY <= similarity <= MAX_SIMILARITY:
        raise ValueError(
            f"The similarity threshold must be between {MIN_SIMILARITY} and {MAX_SIMILARITY}"
        )
    bands, per_band = bands_for(similarity, num_perm)
    signatures = _Signatures(unit=unit, size=size, num_perm=num_perm)
    # Band keys: a band's values folded into one number by seeded odd multipliers.
    rng = np.random.default_rng(SEED)
    multipliers = rng.integers(1, 2**63, size=per_band, dtype=np.uint64) * 2 + 1
    exact_hashes = _Growing(1, np.uint64)
    band_keys = _Growing(bands, np.uint64)
    for text in texts():
        normalised = normalise(text)
        exact_hashes.append(_text_hash(normalised))
        signature = signatures.of(normalised)[: bands * per_band].astype(np.uint64)
        with np.errstate(over="ignore"):
            band_keys.append((signature.reshape(bands, per_band) * multipliers).sum(axis=1))
    count = exact_hashes.size
    if count == 0:
        return _clusters(np.empty(0, np.int64), np.empty(0, np.int64), set())
    # Exact groups: each text's representative is the first text with its normalised hash.
    _, first_of_group, group = np.unique(
        exact_hashes.array()[:, 0], return_index=True, return_inverse=True
    )
    representative = first_of_group[group.reshape(-1)]
    candidates = _candidate_pairs(band_keys.array(), np.sort(first_of_group))
    near = _verified(candidates, texts, signatures, similarity) if len(candidates) else set()
    return _clusters(representative, np.sort(first_of_group), near)


def _candidate_pairs(keys: np.ndarray, representatives: np.ndarray) -> np.ndarray:
    """(earlier, later) representatives sharing a band key: the later one with the first of
    each bucket, every band."""
    pairs = []
    for band in range(keys.shape[1]):
        column = keys[representatives, band]
        order = np.argsort(column, kind="stable")
        ordered = column[order]
        starts = np.r_[True, ordered[1:] != ordered[:-1]]
        head = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]
        later = order != head
        if later.any():
            pairs.append(np.stack([representatives[head[later]], representatives[order[later]]], 1))
    if not pairs:
        return np.empty((0, 2), np.int64)
    return np.unique(np.concatenate(pairs), axis=0)


def _verified(
    pairs: np.ndarray, texts: Texts, signatures: _Signatures, similarity: float
) -> set[tuple[int, int]]:
    """The candidate pairs whose signatures agree on at least ``similarity`` of their values,
    the signatures of the texts involved recomputed in a second pass."""
    needed = np.zeros(int(pairs.max()) + 1, dtype=bool)
    needed[pairs.reshape(-1)] = True
    kept: dict[int, np.ndarray] = {}
    for position, text in enumerate(texts()):
        if position >= len(needed):
            break
        if needed[position]:
            kept[position] = signatures.of(normalise(text))
    return {
        (int(a), int(b))
        for a, b in pairs
        if a in kept and b in kept and float(np.mean(kept[a] == kept[b])) >= similarity
    }


def _clusters(
    representative: np.ndarray, representatives: np.ndarray, near: set[tuple[int, int]]
) -> Clusters:
    count = len(representative)
    # Union-find over the near pairs, the root of a set being its earliest text.
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    for a, b in sorted(near):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    root_of = np.arange(count)
    for position in parent:
        root_of[position] = root(position)
    first = root_of[representative] if count else np.empty(0, np.int64)
    sizes = np.bincount(first, minlength=count) if count else np.empty(0, np.int64)
    # A cluster is exact when it has one representative: all its texts are one text.
    groups = np.bincount(root_of[representatives], minlength=count) if count else sizes
    exact = groups[first] == 1
    size = sizes[first]
    heads = np.flatnonzero(sizes >= 2)
    largest = heads[np.lexsort((heads, -sizes[heads]))][:LARGEST_SHOWN]
    duplicate_rows = int(np.count_nonzero(first != np.arange(count)))
    exact_rows = count - len(representatives)
    figures = {
        "rows": count,
        "duplicate_rows": duplicate_rows,
        "exact_duplicate_rows": exact_rows,
        "near_duplicate_rows": duplicate_rows - exact_rows,
        "clusters": len(heads),
        "largest_cluster": int(sizes.max()) if len(heads) else 0,
        # Positions; the kind turns them into row numbers.
        "largest": [
            {"first": int(p), "size": int(sizes[p]), "exact": bool(groups[p] == 1)} for p in largest
        ],
    }
    return Clusters(first=first, size=size, exact=exact, figures=figures)
