"""Expression: text computed from other columns by a template, without a model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from studio.schema import ExpressionColumn

from .base import ColumnKind, KindField

# Shared with the language-model kinds, whose prompt it is: a template typed for an expression
# survives switching the column to a model.
TEMPLATE = KindField(
    "template",
    forms.CharField(
        required=False,
        label="Prompt / template",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Refer to other columns as {{ name }}",
    ),
    full=True,
)


def to_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"template": data.get("template") or ""}


KIND = ColumnKind(
    name="expression",
    label="Expression (template)",
    group="Computed",
    spec_model=ExpressionColumn,
    fields=(TEMPLATE,),
    to_spec=to_spec,
)
