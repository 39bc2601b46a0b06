"""How the comparison page writes a figure and its difference: a pass rate in percent and its
difference in percentage points, other figures to three decimals, differences signed."""

from __future__ import annotations

from django import template

from evaluation.charts import percent

register = template.Library()
RATES = frozenset({"pass_rate", "share_b_higher", "a_win_rate", "b_win_rate", "tie_rate"})


def _number(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@register.filter
def figure(value: float | None, name: str = "") -> str:
    if value is None:
        return "—"
    return percent(value) if name in RATES else _number(value)


@register.filter
def signed(value: float | None, name: str = "") -> str:
    """+0.25, −1.5, ±0; a rate's difference in points: +12 pts."""
    if value is None:
        return "—"
    if name in RATES:
        points = round(100 * value, 1)
        text = f"{abs(points):g} pts"
    else:
        points = value
        text = _number(abs(value))
    if text.startswith("0") and float(text.split()[0]) == 0:
        return "±" + text
    return ("+" if points > 0 else "−") + text
