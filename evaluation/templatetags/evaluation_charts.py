"""Charts drawn from an evaluation's figures in a template (a kind's figures partial), with the
geometry of evaluation/charts.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template

from evaluation.charts import horizontal_bars, paired_bars, percent

register = template.Library()


@register.inclusion_tag("evaluation/partials/bars.html")
def hbars(items: Iterable[Mapping[str, Any]], label: str, value: str, title: str) -> dict:
    """Horizontal bars of ``item[value]`` labelled ``item[label]``, for each item."""
    bars, height = horizontal_bars([(str(item[label]), item[value]) for item in items])
    return {"bars": bars, "height": height, "title": title}


@register.inclusion_tag("evaluation/partials/paired_bars.html")
def expected_vs_observed(values: Iterable[Mapping[str, Any]], title: str) -> dict:
    """A coverage table's values as expected-over-observed bars."""
    bars, height = paired_bars([(str(v["value"]), v["expected"], v["observed"]) for v in values])
    return {"bars": bars, "height": height, "title": title}


@register.filter(name="percent")
def percent_filter(share: float | None) -> str:
    """A share as a percentage: 41%, 3.5%; — for None."""
    return "—" if share is None else percent(share)
