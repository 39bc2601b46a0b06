"""Boolean: True with a given probability."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms

from studio.schema import BooleanColumn

from .base import ColumnKind, KindField

PROBABILITY = KindField(
    "probability",
    forms.FloatField(required=False, initial=0.5, min_value=0, max_value=1),
    new_value="0.5",
)


def to_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    probability = data.get("probability")
    return {"probability": probability if probability is not None else 0.5}


KIND = ColumnKind(
    name="boolean",
    label="Boolean",
    group="Samplers",
    spec_model=BooleanColumn,
    fields=(PROBABILITY,),
    to_spec=to_spec,
)
