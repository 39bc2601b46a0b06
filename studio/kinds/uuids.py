"""UUID: nothing to set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.schema import UuidColumn

from .base import ColumnKind


def to_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    return {}


KIND = ColumnKind(
    name="uuid", label="UUID", group="Samplers", spec_model=UuidColumn, fields=(), to_spec=to_spec
)
