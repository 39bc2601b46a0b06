"""The column kinds of the designer, one entry per kind (see docs/architecture.md, "Adding a
column kind"). The engine's side of each kind registers in ``generation.kinds``: studio knows
nothing of generation."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ImproperlyConfigured

from . import (
    boolean,
    category,
    dates,
    expression,
    llm,
    llm_judge,
    llm_structured,
    numbers,
    person,
    seeds,
    subcategory,
    uuids,
)
from .base import ColumnKind, KindField, merged_fields

__all__ = [
    "KINDS",
    "ColumnKind",
    "KindField",
    "field_layout",
    "form_fields",
    "kind_choices",
    "new_column",
    "register",
]


def register(*kinds: ColumnKind) -> dict[str, ColumnKind]:
    registry: dict[str, ColumnKind] = {}
    for kind in kinds:
        if registry.setdefault(kind.name, kind) is not kind:
            raise ImproperlyConfigured(f"Two column kinds are named '{kind.name}'")
    return registry


# In the order of the kind menu.
KINDS: dict[str, ColumnKind] = register(
    category.KIND,
    subcategory.KIND,
    numbers.INTEGER,
    numbers.FLOAT,
    boolean.KIND,
    dates.KIND,
    person.KIND,
    uuids.KIND,
    seeds.SEED_DATA,
    seeds.DOCUMENT,
    expression.KIND,
    llm.KIND,
    llm_structured.KIND,
    llm_judge.KIND,
)


def kind_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The kind menu: (group, [(kind, label)]), groups in the order they first appear."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for kind in KINDS.values():
        groups.setdefault(kind.group, []).append((kind.name, kind.label))
    return list(groups.items())


def field_layout() -> list[tuple[KindField, tuple[str, ...]]]:
    """Every kind's fields, each once, with the kinds that show it; each kind's own order kept."""
    return merged_fields((kind.name, kind.fields) for kind in KINDS.values())


def new_column(kind: str) -> dict[str, str]:
    """The form values of a column added with "+ Add column": every field's start value (they
    survive a change of kind), then the kind's own."""
    values = {item.name: item.new_value for item, _ in field_layout() if item.new_value is not None}
    chosen = KINDS.get(kind)
    return {**values, **(chosen.new_values if chosen else {})}


def form_fields() -> dict[str, forms.Field]:
    """Field name → form field, for the column form (each once, in the page's order)."""
    return {item.name: item.field for item, _ in field_layout()}
