"""The base of every API request body: text with a NUL character is refused with a 422 naming
where it is, for every endpoint at once (no database stores NUL in text; it was a 500)."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ValidationInfo, field_validator

MSG_NUL = "{where}: text cannot contain NUL characters (\\u0000)"


def first_nul(data: object) -> str | None:
    """The dotted path of the first key or string holding a NUL character ("" for ``data``
    itself), or None. A loop, not
    a recursion: the body's depth is the sender's to choose."""
    stack: list[tuple[object, str]] = [(data, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return where
        elif isinstance(node, dict):
            for key, value in node.items():
                here = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and "\x00" in key:
                    return where
                stack.append((value, here))
        elif isinstance(node, list):
            stack.extend((item, f"{where}.{i}" if where else str(i)) for i, item in enumerate(node))
    return None


class InputSchema(Schema):
    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any, info: ValidationInfo) -> Any:
        where = first_nul(value)
        if where is not None:
            place = f"{info.field_name}.{where}" if where else info.field_name
            raise ValueError(MSG_NUL.replace("{where}", str(place).replace("\x00", "")))
        return value
