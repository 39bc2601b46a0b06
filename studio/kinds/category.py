"""Category: one of a list of values, optionally weighted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from studio.schema import CategoryColumn

from .base import ColumnKind, KindField, ParsedTextField, split_list


def parse_weights(raw: str) -> list[float] | None:
    if not raw.strip():
        return None
    try:
        return [float(part) for part in split_list(raw)]
    except ValueError:
        raise ValueError("Weights must be numbers separated by commas.") from None


VALUES = KindField("values", forms.CharField(required=False, help_text="Comma-separated values"))
WEIGHTS = KindField(
    "weights", ParsedTextField(parse_weights, help_text="Optional, comma-separated numbers")
)


def to_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"values": split_list(data.get("values") or "")}
    if data.get("weights") is not None:
        spec["weights"] = data["weights"]
    return spec


def to_initial(column: Mapping[str, Any]) -> dict[str, Any]:
    weights = column.get("weights")
    return {
        "values": ", ".join(column.get("values", [])),
        "weights": ", ".join(f"{w:g}" for w in weights) if weights else "",
    }


KIND = ColumnKind(
    name="category",
    label="Category",
    group="Samplers",
    spec_model=CategoryColumn,
    fields=(VALUES, WEIGHTS),
    to_spec=to_spec,
    to_initial=to_initial,
)
