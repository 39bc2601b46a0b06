"""Person / place: a realistic fake from Faker."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from studio.schema import PersonColumn
from studio.schema.sampler_kinds import PERSON_FIELDS

from .base import ColumnKind, KindField

PERSON_FIELD = KindField(
    "person_field",
    forms.ChoiceField(
        choices=[(f, f.replace("_", " ")) for f in PERSON_FIELDS], required=False, label="Field"
    ),
)
LOCALE = KindField(
    "locale", forms.CharField(required=False, initial="en_US", max_length=20), new_value="en_US"
)


def to_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"field": data.get("person_field") or "name", "locale": data.get("locale") or "en_US"}


def to_initial(column: Mapping[str, Any]) -> dict[str, Any]:
    return {"person_field": column.get("field")}


KIND = ColumnKind(
    name="person",
    label="Person / place (Faker)",
    group="Samplers",
    spec_model=PersonColumn,
    fields=(PERSON_FIELD, LOCALE),
    to_spec=to_spec,
    to_initial=to_initial,
)
