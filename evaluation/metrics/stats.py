"""An evaluation's summary from its scores: mean, median, pass rate, a histogram, the mean of
each criterion, and the same broken down by the value of a sampler column."""

from __future__ import annotations

import math
import statistics
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy

HISTOGRAM_BINS = 10
# A breakdown by a column with more distinct values than this shows the most frequent ones.
MAX_GROUPS = 20


def _doubles() -> array[float]:
    return array("d")


@dataclass
class _Accumulator:
    # 8 bytes a score, not a float object's 32: a million rows' summary holds every score
    # (the median and the histogram need them), overall and per breakdown group.
    values: array[float] = field(default_factory=_doubles)
    passed: int = 0
    judged: int = 0  # rows with a pass/fail
    missing: int = 0  # rows scored None (not applicable, or failed)

    def add(self, value: float | None, passed: bool | None) -> None:
        if value is None or not math.isfinite(value):
            self.missing += 1
        else:
            self.values.append(value)
        if passed is not None:
            self.judged += 1
            self.passed += int(passed)

    def numbers(self) -> dict[str, Any]:
        values = self.values
        return {
            "count": len(values) + self.missing,
            "scored": len(values),
            "mean": statistics.fmean(values) if values else None,
            # numpy's median partitions a copy of the buffer; statistics.median would sort the
            # scores into a list of float objects, four times the memory.
            "median": float(numpy.median(numpy.frombuffer(values))) if values else None,
            "min": min(values) if values else None,
            "max": max(values) if values else None,
            "pass_rate": self.passed / self.judged if self.judged else None,
        }


def nice_width(span: float, bins: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 25, 50, 100… that covers ``span`` in ``bins`` bins."""
    raw = max(span / bins, 1.0)
    magnitude = int(10 ** max(math.floor(math.log10(raw)) - 1, 0))
    step = 1
    while step * magnitude < raw:
        step = next(s for s in (2, 5, 10, 20, 25, 50, 100) if s > step)
    return step * magnitude


def histogram(
    values: Sequence[float], *, scale: tuple[float, float] | None = None, bins: int = HISTOGRAM_BINS
) -> list[dict[str, Any]]:
    """Equal-width bins over ``scale`` (the kind's range) or the values' own range. Integer
    scores on a small scale (a 1–5 judge) get one bin per integer; counts over a wider range
    (lengths in characters) get round bins, 0–49, 50–99, marked ``integers``."""
    if not values:
        return []
    low, high = scale if scale is not None else (min(values), max(values))
    integers = all(float(v).is_integer() for v in values)
    whole = False
    if integers and high - low <= 20:
        bins, width = int(high - low) + 1, 1.0
        low -= 0.5
    elif integers:
        width = float(nice_width(high - low + 1, bins))
        low = math.floor(low / width) * width
        bins = int((high - low) // width) + 1
        whole = True
    elif high > low:
        width = (high - low) / bins
    else:  # one value, not a whole number: one bin around it
        return [{"low": low, "high": high, "count": len(values)}]
    counts = [0] * bins
    for value in values:
        slot = int((value - low) / width)  # not //: 0.5 // 0.1 is 4.0
        counts[min(max(slot, 0), bins - 1)] += 1
    return [
        {"low": low + i * width, "high": low + (i + 1) * width, "count": count}
        | ({"integers": True} if whole else {})
        for i, count in enumerate(counts)
    ]


def summarise(
    scores: Iterable[tuple[float | None, bool | None, Mapping[str, Any] | None]],
    *,
    scale: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """``scores``: (value, passed, per-criterion scores or None) per row."""
    overall = _Accumulator()
    criteria: dict[str, _Accumulator] = {}
    for value, passed, by_criterion in scores:
        overall.add(value, passed)
        for name, score in (by_criterion or {}).items():
            if isinstance(score, int | float) and not isinstance(score, bool):
                criteria.setdefault(name, _Accumulator()).add(float(score), None)
    summary = overall.numbers()
    summary["histogram"] = histogram(overall.values, scale=scale)
    summary["criteria"] = {name: acc.numbers()["mean"] for name, acc in criteria.items()}
    return summary


def breakdown(
    scores: Iterable[tuple[float | None, bool | None, object]],
) -> list[dict[str, Any]]:
    """Mean and pass rate per value of a column, most frequent values first."""
    groups: dict[str, _Accumulator] = {}
    for value, passed, key in scores:
        label = "—" if key is None else str(key)[:80]
        groups.setdefault(label, _Accumulator()).add(value, passed)
    ranked = sorted(groups.items(), key=lambda item: -(len(item[1].values) + item[1].missing))
    return [{"value": label, **acc.numbers()} for label, acc in ranked[:MAX_GROUPS]]
