"""Integer and float: numbers in a range, uniform or gaussian. The two share their fields, so a
range typed for one survives switching to the other."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms

from studio.schema import FloatColumn, IntegerColumn

from .base import ColumnKind, KindField

LOW = KindField("low", forms.FloatField(required=False, initial=0, label="From"), new_value="0")
HIGH = KindField("high", forms.FloatField(required=False, initial=100, label="To"), new_value="100")
DISTRIBUTION = KindField(
    "distribution",
    forms.ChoiceField(
        choices=[("uniform", "uniform"), ("gaussian", "gaussian (clipped)")], required=False
    ),
    new_value="uniform",
)
MEAN = KindField("mean", forms.FloatField(required=False))
STDDEV = KindField("stddev", forms.FloatField(required=False, label="Std. deviation"))
DECIMALS = KindField("decimals", forms.IntegerField(required=False, min_value=0, max_value=15))


def _range(data: Mapping[str, Any], convert: Callable[[float], Any]) -> dict[str, Any]:
    low, high = data.get("low"), data.get("high")
    spec: dict[str, Any] = {
        "low": convert(low if low is not None else 0),
        "high": convert(high if high is not None else 100),
        "distribution": data.get("distribution") or "uniform",
    }
    if spec["distribution"] == "gaussian":
        spec.update(mean=data.get("mean"), stddev=data.get("stddev"))
    return spec


def integer_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    return _range(data, lambda value: int(round(value)))


def float_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    spec = _range(data, float)
    if data.get("decimals") is not None:
        spec["decimals"] = data["decimals"]
    return spec


INTEGER = ColumnKind(
    name="integer",
    label="Integer",
    group="Samplers",
    spec_model=IntegerColumn,
    fields=(LOW, HIGH, DISTRIBUTION, MEAN, STDDEV),
    to_spec=integer_spec,
)
FLOAT = ColumnKind(
    name="float",
    label="Float",
    group="Samplers",
    spec_model=FloatColumn,
    fields=(LOW, HIGH, DISTRIBUTION, DECIMALS, MEAN, STDDEV),
    to_spec=float_spec,
)
