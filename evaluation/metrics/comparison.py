"""Two runs side by side (pure, no Django): evaluations matched by name and kind, the difference
of each figure (B − A) and whether it is better or worse, rows paired by their seed position,
and a pairwise judge's win rates. Scores are streamed in row order and merged, so pairing two
large runs keeps only the rows that differ most in memory."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

from evaluation.metrics.judging import pairwise_rates

# Which way a figure improves: up (a judge's score, a pass rate), down, or neither (a length).
Direction = Literal["higher", "lower", "neutral"]
Verdict = Literal["better", "worse", "same", "changed", ""]
# Differences smaller than this are "same": float noise, not a change.
TOLERANCE = 1e-9
FIGURES = ("mean", "median", "pass_rate")
LARGEST_DIFFERENCES = 20

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def difference(a: float | None, b: float | None) -> float | None:
    """B − A, or None when either side has no number."""
    if a is None or b is None:
        return None
    return b - a


def verdict(a: float | None, b: float | None, direction: Direction) -> Verdict:
    """Whether B is better than A: "" when a side is missing, "changed" when the figure has no
    better direction."""
    delta = difference(a, b)
    if delta is None:
        return ""
    if abs(delta) <= TOLERANCE:
        return "same"
    if direction == "neutral":
        return "changed"
    return "better" if (delta > 0) == (direction == "higher") else "worse"


@dataclass(frozen=True)
class FigureDelta:
    name: str
    a: float | None
    b: float | None
    delta: float | None
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def figure_delta(name: str, a: float | None, b: float | None, direction: Direction) -> FigureDelta:
    return FigureDelta(name, a, b, difference(a, b), verdict(a, b, direction))


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def compare_figures(
    a: Mapping[str, Any] | None, b: Mapping[str, Any] | None, *, direction: Direction
) -> list[FigureDelta]:
    """Mean, median and pass rate of two summaries. A pass rate is better higher whatever the
    score means; mean and median go the kind's way."""
    a, b = a or {}, b or {}
    return [
        figure_delta(
            name,
            _number(a.get(name)),
            _number(b.get(name)),
            "higher" if name == "pass_rate" else direction,
        )
        for name in FIGURES
    ]


def compare_criteria(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> list[FigureDelta]:
    """Each criterion's mean on both sides (a judge scores higher for better), A's criteria in
    their order, then those only B has."""
    a, b = a or {}, b or {}
    names = list(a) + [name for name in b if name not in a]
    return [
        figure_delta(name, _number(a.get(name)), _number(b.get(name)), "higher") for name in names
    ]


def match_by_key(
    a: Sequence[T], b: Sequence[T], key: Callable[[T], K]
) -> list[tuple[K, T | None, T | None]]:
    """(key, A's item or None, B's item or None): A's order first, then what only B has. The
    first item of a key on each side wins."""
    a_by_key: dict[K, T] = {}
    for item in a:
        a_by_key.setdefault(key(item), item)
    b_by_key: dict[K, T] = {}
    for item in b:
        b_by_key.setdefault(key(item), item)
    keys = list(a_by_key) + [k for k in b_by_key if k not in a_by_key]
    return [(k, a_by_key.get(k), b_by_key.get(k)) for k in keys]


# --- rows paired by seed position ------------------------------------------------------------

Scored = tuple[int, float | None]  # (row index, value), in increasing index order


@dataclass(frozen=True, order=True)
class PairedRow:
    index: int
    a: float
    b: float

    @property
    def delta(self) -> float:
        return self.b - self.a


def pair_by_index(a: Iterable[Scored], b: Iterable[Scored]) -> Iterator[PairedRow]:
    """A merge of two streams sorted by row index: the rows both sides scored with a number."""
    left, right = iter(a), iter(b)
    x, y = next(left, None), next(right, None)
    while x is not None and y is not None:
        if x[0] < y[0]:
            x = next(left, None)
        elif y[0] < x[0]:
            y = next(right, None)
        else:
            a_value, b_value = _number(x[1]), _number(y[1])
            if a_value is not None and b_value is not None:
                yield PairedRow(x[0], a_value, b_value)
            x, y = next(left, None), next(right, None)


@dataclass
class PairedStats:
    pairs: int = 0
    b_higher: int = 0
    a_higher: int = 0
    equal: int = 0
    mean_difference: float | None = None
    # The rows whose scores differ most, largest first (ties: lower index first).
    largest: list[PairedRow] = field(default_factory=list)

    @property
    def share_b_higher(self) -> float | None:
        return self.b_higher / self.pairs if self.pairs else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "pairs": self.pairs,
            "b_higher": self.b_higher,
            "a_higher": self.a_higher,
            "equal": self.equal,
            "share_b_higher": self.share_b_higher,
            "mean_difference": self.mean_difference,
            "largest": [
                {"index": p.index, "a": p.a, "b": p.b, "delta": p.delta} for p in self.largest
            ],
        }


def paired_stats(pairs: Iterable[PairedRow], *, largest: int = LARGEST_DIFFERENCES) -> PairedStats:
    """Mean of the paired differences (B − A), how often B scored higher, and the ``largest``
    rows by absolute difference (rows that do not differ are never listed)."""
    stats = PairedStats()
    total = 0.0
    heap: list[tuple[float, int, PairedRow]] = []  # the kept rows, smallest difference on top
    for pair in pairs:
        stats.pairs += 1
        delta = pair.delta
        total += delta
        if abs(delta) <= TOLERANCE:
            stats.equal += 1
            continue
        if delta > 0:
            stats.b_higher += 1
        else:
            stats.a_higher += 1
        entry = (abs(delta), -pair.index, pair)
        if len(heap) < largest:
            heapq.heappush(heap, entry)
        elif largest and entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)
    stats.mean_difference = total / stats.pairs if stats.pairs else None
    stats.largest = [p for _, _, p in sorted(heap, key=lambda e: e[:2], reverse=True)]
    return stats


# --- a pairwise judge's verdicts --------------------------------------------------------------


@dataclass(frozen=True)
class WinRates:
    """Column A against column B over the rows judged: "win" is A's, "loss" is B's."""

    judged: int
    a_wins: int
    b_wins: int
    ties: int
    # Rows whose verdict flipped when the two texts swapped places, of those asked both ways.
    inconsistent: int
    compared: int

    def rate(self, count: int) -> float | None:
        return count / self.judged if self.judged else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "judged": self.judged,
            "a_wins": self.a_wins,
            "b_wins": self.b_wins,
            "ties": self.ties,
            "a_win_rate": self.rate(self.a_wins),
            "b_win_rate": self.rate(self.b_wins),
            "tie_rate": self.rate(self.ties),
            "inconsistent": self.inconsistent,
            "compared": self.compared,
        }


def win_rates(details: Iterable[Mapping[str, Any]]) -> WinRates:
    """From the pairwise kind's per-row details (``winner``, ``position_flip``, ``identical``)."""
    rates = pairwise_rates(details)
    return WinRates(
        rates.judged, rates.a_wins, rates.b_wins, rates.ties, rates.position_flips, rates.compared
    )
