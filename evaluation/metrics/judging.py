"""What a pairwise judge's two verdicts on one row mean, and what its verdicts on every row add
up to. The judge is asked twice, the second time with the two texts in swapped positions: a
judge that prefers whichever text it reads first (position bias) contradicts itself, and the
row is scored as a tie rather than as a win it did not earn."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

# What the judge may answer: the text shown as "A", the one shown as "B", or neither.
Position = Literal["A", "B", "tie"]
# Which column won: the first column ("a"), the second ("b"), or neither.
Winner = Literal["a", "b", "tie"]
POSITIONS: tuple[Position, ...] = ("A", "B", "tie")


@dataclass(frozen=True)
class PairwiseOutcome:
    score: float  # 1: column A won both times; 0: column B did; 0.5 otherwise
    winner: Winner
    # The verdicts, in columns, differ between the two orders (the judge went by position).
    position_flip: bool


def _in_columns(position: Position, *, swapped: bool) -> Winner:
    if position == "tie":
        return "tie"
    first_shown_won = position == "A"
    return "a" if first_shown_won != swapped else "b"


def pairwise_outcome(in_order: Position, swapped: Position) -> PairwiseOutcome:
    """``in_order``: the verdict with column A shown first; ``swapped``: with column B first."""
    first = _in_columns(in_order, swapped=False)
    second = _in_columns(swapped, swapped=True)
    if first == second == "a":
        return PairwiseOutcome(1.0, "a", False)
    if first == second == "b":
        return PairwiseOutcome(0.0, "b", False)
    return PairwiseOutcome(0.5, "tie", first != second)


@dataclass(frozen=True)
class PairwiseRates:
    judged: int  # rows with a verdict
    a_wins: int  # column A preferred in both orders
    b_wins: int
    ties: int  # a tie both times, verdicts that contradict each other, or identical texts
    compared: int  # rows whose two texts differ, asked in both orders
    position_flips: int  # of those, the verdict changed with the order

    def as_dict(self) -> dict[str, float | int | None]:
        def rate(count: int, total: int) -> float | None:
            return count / total if total else None

        return {
            "judged": self.judged,
            "a_win_rate": rate(self.a_wins, self.judged),
            "b_win_rate": rate(self.b_wins, self.judged),
            "tie_rate": rate(self.ties, self.judged),
            "position_flip_rate": rate(self.position_flips, self.compared),
        }


def pairwise_rates(details: Iterable[Mapping[str, Any]]) -> PairwiseRates:
    """Counts over the details of the rows judged (``winner``, ``position_flip`` and
    ``identical``, as the pairwise kind stores them); details without a winner are left out.
    The flip rate is over the rows actually asked: identical texts are a tie without a call."""
    counts = {"a": 0, "b": 0, "tie": 0}
    flips = compared = 0
    for detail in details:
        winner = detail.get("winner")
        if winner not in counts:
            continue
        counts[winner] += 1
        if not detail.get("identical"):
            compared += 1
            flips += bool(detail.get("position_flip"))
    return PairwiseRates(
        sum(counts.values()), counts["a"], counts["b"], counts["tie"], compared, flips
    )
