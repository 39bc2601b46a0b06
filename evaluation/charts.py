"""Charts as server-rendered SVG: the geometry of bars, computed here (pure, no Django) and
drawn by templates (templates/evaluation/partials/*_chart.html). Chosen over a JavaScript chart
library: nothing to vendor or keep pinned, no script for the CSP to allow, the page works
without JavaScript, the tests read the bars from the HTML, and the charts are small (a
histogram, bars per criterion, bars per sampler value)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WIDTH = 600
HEIGHT = 180
LABEL_SPACE = 24  # under the bars, for their labels
BAR_GAP = 4
ROW_HEIGHT = 22  # horizontal bars


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str  # what the bar's tooltip and the accessible table say
    label_x: float
    label_y: float


def _fmt(number: float | None) -> str:
    if number is None:
        return "—"
    return f"{number:.0f}" if float(number).is_integer() else f"{number:.2f}"


def _short(number: float) -> str:
    """A bin edge on a scale that goes below 0 (a cosine's −1 to 1): one decimal when it says
    all, and a true minus sign, so "−0.8–−0.6" fits under its bar as "0.20–0.40" does."""
    text = f"{number:.1f}" if round(number, 1) == round(number, 2) else _fmt(number)
    return text.removesuffix(".0").replace("-", "−")


def _short_label(low: float, high: float) -> str:
    return _short(low) if low == high else f"{_short(low)}–{_short(high)}"


def _bin_label(low: float, high: float, integers: bool) -> str:
    if low == high:
        return _fmt(low)
    if high - low == 1 and float(low + 0.5).is_integer():
        return _fmt(low + 0.5)  # one integer
    if integers:
        return f"{low:.0f}–{high - 1:.0f}"  # whole numbers from low to high, high excluded
    return f"{_fmt(low)}–{_fmt(high)}"


def histogram_bars(bins: Sequence[Mapping[str, Any]]) -> list[Bar]:
    """Vertical bars, one per bin, heights relative to the fullest bin."""
    if not bins:
        return []
    top = max(b["count"] for b in bins) or 1
    step = WIDTH / len(bins)
    plot = HEIGHT - LABEL_SPACE
    short = bins[0]["low"] < 0  # a scale below 0 has longer labels
    bars = []
    for i, b in enumerate(bins):
        height = plot * b["count"] / top
        label = (
            _short_label(b["low"], b["high"])
            if short and not b.get("integers")
            else _bin_label(b["low"], b["high"], bool(b.get("integers")))
        )
        bars.append(
            Bar(
                x=i * step + BAR_GAP / 2,
                y=plot - height,
                width=max(step - BAR_GAP, 1),
                height=height,
                label=label,
                value=str(int(b["count"])),
                label_x=i * step + step / 2,
                label_y=HEIGHT - 8,
            )
        )
    return bars


# A label's width in the chart's units per character, at the 12 px its text is drawn in.
LABEL_CHAR_WIDTH = 7.5


def labels_crowded(bars: Sequence[Bar]) -> bool:
    """Whether neighbouring labels would touch: then every other one is shown (the template's
    ``crowded`` class), as on a phone."""
    if len(bars) < 2:
        return False
    step = bars[1].label_x - bars[0].label_x
    return max(len(bar.label) for bar in bars) * LABEL_CHAR_WIDTH > step - BAR_GAP


def horizontal_bars(
    items: Sequence[tuple[str, float | None]], *, scale: tuple[float, float] | None = None
) -> tuple[list[Bar], int]:
    """One bar per (label, value), lengths over ``scale`` (or 0 to the largest value); returns
    the bars and the chart's height."""
    numbers = [v for _, v in items if v is not None]
    low, high = (
        scale
        if scale is not None
        else (min(0.0, *numbers) if numbers else 0.0, max(numbers, default=1.0))
    )
    span = (high - low) or 1.0
    label_width = WIDTH * 0.3
    plot = WIDTH - label_width - 70  # room for the value, in larger type on a phone
    bars = []
    for i, (label, value) in enumerate(items):
        length = 0.0 if value is None else plot * max(0.0, min(1.0, (value - low) / span))
        bars.append(
            Bar(
                x=label_width,
                y=i * ROW_HEIGHT + 3,
                width=length,
                height=ROW_HEIGHT - 6,
                label=label[:40],
                value=_fmt(value),
                label_x=label_width - 6,
                label_y=i * ROW_HEIGHT + ROW_HEIGHT / 2 + 4,
            )
        )
    return bars, max(len(items), 1) * ROW_HEIGHT


PAIR_ROW_HEIGHT = 30


@dataclass(frozen=True)
class PairedBar:
    """A value's expected share (a thin outlined bar) over its observed share (a solid one)."""

    label: str
    label_x: float
    label_y: float
    x: float
    expected_y: float
    expected_width: float
    observed_y: float
    observed_width: float
    value_x: float
    value: str  # the observed share, written after the bars
    title: str  # the observed and expected shares, the tooltip


def percent(share: float) -> str:
    """41%, 3.5%, 0%: a decimal only where it says something."""
    if share == 0 or share >= 0.1:
        return f"{100 * share:.0f}%"
    return f"{100 * share:.1f}%"


def paired_bars(items: Sequence[tuple[str, float, float]]) -> tuple[list[PairedBar], int]:
    """One pair per (label, expected share, observed share), lengths over 0 to the largest
    share; returns the pairs and the chart's height."""
    top = max((max(e, o) for _, e, o in items), default=0.0) or 1.0
    label_width = WIDTH * 0.3
    plot = WIDTH - label_width - 60
    bars = []
    for i, (label, expected, observed) in enumerate(items):
        y = i * PAIR_ROW_HEIGHT
        observed_width = plot * observed / top
        bars.append(
            PairedBar(
                label=label[:40],
                label_x=label_width - 6,
                label_y=y + PAIR_ROW_HEIGHT / 2 + 4,
                x=label_width,
                expected_y=y + 4,
                expected_width=plot * expected / top,
                observed_y=y + 11,
                observed_width=observed_width,
                value_x=label_width + max(observed_width, plot * expected / top) + 6,
                value=percent(observed),
                title=f"{label}: {percent(observed)} of the rows (expected {percent(expected)})",
            )
        )
    return bars, max(len(items), 1) * PAIR_ROW_HEIGHT


@dataclass(frozen=True)
class GroupedBin:
    """One bin of two histograms drawn side by side: run A's bar, then run B's."""

    label: str
    label_x: float
    label_y: float
    a: Bar
    b: Bar


def _same_bins(a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x["low"], y["low"]) and math.isclose(x["high"], y["high"])
        for x, y in zip(a, b, strict=True)
    )


def grouped_histogram(
    a: Sequence[Mapping[str, Any]], b: Sequence[Mapping[str, Any]]
) -> list[GroupedBin] | None:
    """Two runs' histograms over the same bins, each bar the share of its own run's scored
    rows (runs of different sizes compare); None when the bins differ (scores without a fixed
    scale are binned over each run's own range) or both are empty."""
    if not (a or b):
        return None
    if a and b and not _same_bins(a, b):
        return None
    bins = a or b
    counts_a = [int(x["count"]) for x in a] if a else [0] * len(bins)
    counts_b = [int(x["count"]) for x in b] if b else [0] * len(bins)
    totals = (sum(counts_a) or 1, sum(counts_b) or 1)
    shares = [(ca / totals[0], cb / totals[1]) for ca, cb in zip(counts_a, counts_b, strict=True)]
    top = max(max(pair) for pair in shares) or 1.0
    step = WIDTH / len(bins)
    width = max((step - 2 * BAR_GAP) / 2, 1)
    plot = HEIGHT - LABEL_SPACE
    grouped = []
    for i, (b_, (share_a, share_b)) in enumerate(zip(bins, shares, strict=True)):
        label = _bin_label(b_["low"], b_["high"], bool(b_.get("integers")))
        bars = []
        for side, (share, count) in enumerate(((share_a, counts_a[i]), (share_b, counts_b[i]))):
            height = plot * share / top
            bars.append(
                Bar(
                    x=i * step + BAR_GAP + side * width,
                    y=plot - height,
                    width=width,
                    height=height,
                    label=label,
                    value=f"{percent(share)} ({count} rows)",
                    label_x=0,
                    label_y=0,
                )
            )
        grouped.append(GroupedBin(label, i * step + step / 2, HEIGHT - 8, bars[0], bars[1]))
    return grouped


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    part: int  # which share of the row: its position in the row's shares
    value: str


@dataclass(frozen=True)
class StackedRow:
    label: str
    label_x: float
    label_y: float
    y: float
    height: float
    segments: list[Segment]


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[float | None]]],
) -> tuple[list[StackedRow], int]:
    """One bar per (label, shares) split into its shares (summing to 1 or less): a pairwise
    judge's wins, ties and losses per run. Returns the rows and the chart's height."""
    label_width = WIDTH * 0.3
    plot = WIDTH - label_width - 10
    drawn = []
    for i, (label, shares) in enumerate(rows):
        x = label_width
        segments = []
        for part, share in enumerate(shares):
            width = plot * max(0.0, min(1.0, share or 0.0))
            segments.append(Segment(x, width, part, percent(share or 0.0)))
            x += width
        y = i * PAIR_ROW_HEIGHT
        drawn.append(
            StackedRow(
                label[:40], label_width - 6, y + PAIR_ROW_HEIGHT / 2 + 4, y + 4, 22, segments
            )
        )
    return drawn, max(len(rows), 1) * PAIR_ROW_HEIGHT
