"""How far a judge agrees with the people who reviewed the same rows: accuracy, Cohen's kappa
and the 2×2 table (judge pass/fail × human accept/reject)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Agreement:
    # table[judge passed][human accepted]
    both_yes: int
    judge_yes_human_no: int
    judge_no_human_yes: int
    both_no: int

    @property
    def total(self) -> int:
        return self.both_yes + self.judge_yes_human_no + self.judge_no_human_yes + self.both_no

    @property
    def accuracy(self) -> float | None:
        return (self.both_yes + self.both_no) / self.total if self.total else None

    @property
    def kappa(self) -> float | None:
        """Cohen's kappa: agreement beyond what two raters with these rates reach by chance.
        None with no pairs; 1.0 when both raters say the same single thing throughout."""
        n = self.total
        if not n:
            return None
        observed = (self.both_yes + self.both_no) / n
        judge_yes = (self.both_yes + self.judge_yes_human_no) / n
        human_yes = (self.both_yes + self.judge_no_human_yes) / n
        chance = judge_yes * human_yes + (1 - judge_yes) * (1 - human_yes)
        if chance >= 1:
            return 1.0 if observed >= 1 else 0.0
        return (observed - chance) / (1 - chance)


def agreement(pairs: Iterable[tuple[bool, bool]]) -> Agreement:
    """``pairs``: (judge passed, human accepted) for each row both decided."""
    counts = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for judge, human in pairs:
        counts[(bool(judge), bool(human))] += 1
    return Agreement(
        both_yes=counts[(True, True)],
        judge_yes_human_no=counts[(True, False)],
        judge_no_human_yes=counts[(False, True)],
        both_no=counts[(False, False)],
    )
