"""Date and time: a moment between two bounds, written as text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from studio.schema import DatetimeColumn

from .base import ColumnKind, KindField

START = KindField("start", forms.CharField(required=False, help_text="e.g. 2024-01-01"))
END = KindField("end", forms.CharField(required=False, help_text="e.g. 2024-12-31T23:59"))
DATE_FORMAT = KindField(
    "date_format",
    forms.CharField(required=False, label="Format", help_text="strftime, e.g. %Y-%m-%d"),
)


def to_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"start": data.get("start") or "", "end": data.get("end") or ""}
    if data.get("date_format"):
        spec["format"] = data["date_format"]
    return spec


def to_initial(column: Mapping[str, Any]) -> dict[str, Any]:
    return {"date_format": column.get("format") or ""}


KIND = ColumnKind(
    name="datetime",
    label="Date and time",
    group="Samplers",
    spec_model=DatetimeColumn,
    fields=(START, END, DATE_FORMAT),
    to_spec=to_spec,
    to_initial=to_initial,
)
