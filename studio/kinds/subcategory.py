"""Subcategory: values that depend on a category column's value in the same row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from studio.schema import SubcategoryColumn

from .base import ColumnKind, KindField, ParsedTextField, lines, split_list


def parse_sub_values(raw: str) -> dict[str, list[str]]:
    """``science: physics, biology`` per line → ``{"science": ["physics", "biology"]}``."""
    mapping: dict[str, list[str]] = {}
    for number, line in enumerate(lines(raw), 1):
        parent, colon, rest = line.partition(":")
        if not colon or not parent.strip():
            raise ValueError(f"Line {number}: write 'parent value: a, b, c'.")
        mapping[parent.strip()] = split_list(rest)
    return mapping


PARENT = KindField(
    "parent", forms.CharField(required=False, max_length=64, help_text="A category column")
)
SUB_VALUES = KindField(
    "sub_values",
    ParsedTextField(
        parse_sub_values,
        label="Values per parent value",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One line per parent value: 'science: physics, biology'",
    ),
    full=True,
)


def to_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"parent": (data.get("parent") or "").strip(), "values": data["sub_values"]}


def to_initial(column: Mapping[str, Any]) -> dict[str, Any]:
    values = column.get("values", {})
    return {"sub_values": "\n".join(f"{parent}: {', '.join(v)}" for parent, v in values.items())}


KIND = ColumnKind(
    name="subcategory",
    label="Subcategory (depends on a category)",
    group="Samplers",
    spec_model=SubcategoryColumn,
    fields=(PARENT, SUB_VALUES),
    to_spec=to_spec,
    to_initial=to_initial,
)
