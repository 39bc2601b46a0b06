"""What one column kind tells the designer: its spec model, the form fields it shows and how
form data becomes its spec and back. One entry per kind, so a kind lives in one module."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured
from pydantic import BaseModel

FIELD_PARTIAL = "studio/partials/column_field.html"


@dataclass(frozen=True)
class KindField:
    """One form field a kind shows. Kinds that share a field (``template``, ``low``) share the
    KindField object, so the page renders it once and a value survives a change of kind."""

    name: str
    field: forms.Field
    full: bool = False  # the whole row of the grid (prompts, long lists)
    # Sets what depends on the project (the credentials, the uploaded files to choose from).
    bind: Callable[[forms.Field, Any], None] | None = None
    partial: str = FIELD_PARTIAL
    # What a column added with "+ Add column" starts with (a bound form shows no initial value).
    new_value: str | None = None


def merged_fields(
    kinds: Iterable[tuple[str, Sequence[KindField]]],
) -> list[tuple[KindField, tuple[str, ...]]]:
    """The fields of ``kinds`` (name, its fields), each once, with the kinds that show it; in
    an order that keeps each kind's own order (a topological order; ties go to the field
    listed first), so a form showing one kind's fields shows them as that kind lists them."""
    first_seen: dict[str, int] = {}
    by_name: dict[str, KindField] = {}
    users: dict[str, list[str]] = {}
    after: dict[str, set[str]] = {}
    waiting: dict[str, int] = {}
    for kind_name, fields in kinds:
        previous = None
        for item in fields:
            if by_name.setdefault(item.name, item) is not item:
                raise ImproperlyConfigured(
                    f"Kind '{kind_name}' declares its own field '{item.name}': share the other's"
                )
            first_seen.setdefault(item.name, len(first_seen))
            users.setdefault(item.name, []).append(kind_name)
            waiting.setdefault(item.name, 0)
            if previous is not None and item.name not in after.setdefault(previous, set()):
                after[previous].add(item.name)
                waiting[item.name] += 1
            previous = item.name
    ready = [(first_seen[name], name) for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for following in after.get(name, ()):
            waiting[following] -= 1
            if waiting[following] == 0:
                heapq.heappush(ready, (first_seen[following], following))
    if len(order) != len(by_name):
        raise ImproperlyConfigured("Two kinds list shared fields in opposite orders")
    return [(by_name[name], tuple(users[name])) for name in order]


def _no_initial(column: Mapping[str, Any]) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ColumnKind:
    """A registry entry. ``to_spec`` turns the cleaned form data into the kind's own keys of the
    column (name, kind and drop are shared); ``to_initial`` is its inverse, for the keys whose form
    field differs from the spec (a list shown as text, an id shown as a choice)."""

    name: str
    label: str
    group: str
    spec_model: type[BaseModel]
    fields: tuple[KindField, ...]
    to_spec: Callable[[Mapping[str, Any]], dict[str, Any]]
    to_initial: Callable[[Mapping[str, Any]], dict[str, Any]] = _no_initial
    # A new column of this kind starts with these instead of the fields' ``new_value``.
    new_values: Mapping[str, str] = field(default_factory=dict)


class ParsedTextField(forms.CharField):
    """Text the user types in a small notation (``a, b, c``; ``name: type``), parsed into data by
    a pure function; its ValueError becomes the field's error."""

    def __init__(self, parse: Callable[[str], Any], **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.parse = parse

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        try:
            return self.parse(text)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


def split_list(raw: str) -> list[str]:
    """``a, b`` or one per line → ``["a", "b"]``."""
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


def lines(raw: str) -> list[str]:
    return [line.strip() for line in raw.splitlines() if line.strip()]


def given(data: Mapping[str, Any], key: str, default: Any) -> Any:
    """The form's value, or the spec's default when the field was left empty (0 is a value)."""
    value = data.get(key)
    return default if value is None else value
