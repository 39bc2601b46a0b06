"""A reviewer's edit of one output value, checked before it is saved, and how focus mode shows
a value (text, pretty JSON, or a chat). Pure: no Django.

An edit of a column with a JSON schema (structured and judge columns) must be JSON that follows
the schema; an edit of a text value is text; any other value (numbers, lists, objects) takes JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from generation.structured import validate_answer
from studio.schema.spec import SchemaSpec

MAX_EDIT_BYTES = 100_000
MSG_TOO_LARGE = "The edited value is {size:,} bytes; the most one value may hold is {limit:,}"
MSG_NUL = "The edited value contains a NUL character, which cannot be stored"
MSG_NOT_JSON = "Not JSON: {msg} at line {line} column {col}"
MSG_SCHEMA = "Does not follow the column's JSON schema: {problem}"
MSG_TEXT = "This column holds text; send a string"
MSG_UNKNOWN_COLUMN = "'{column}' is not an output column of this run"


class EditError(ValueError):
    pass


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    kind: str
    schema: dict[str, Any] | None = None


def column_infos(spec: SchemaSpec) -> dict[str, ColumnInfo]:
    """Each output column by name, with the JSON schema its value follows (if any)."""
    infos: dict[str, ColumnInfo] = {}
    for column in spec.columns:
        if column.drop:
            continue
        schema_of = getattr(column, "response_schema", None)
        schema = schema_of() if schema_of is not None else None
        for name in column.provides():
            infos[name] = ColumnInfo(name, column.kind, schema if name == column.name else None)
    return infos


def takes_json(info: ColumnInfo, original: object) -> bool:
    return info.schema is not None or not (original is None or isinstance(original, str))


def check_edit(info: ColumnInfo, original: object, value: object) -> object:
    """``value`` (already parsed) if it may replace ``original``; else raise EditError."""
    encoded = json.dumps(value, ensure_ascii=False)
    size = len(encoded.encode())
    if size > MAX_EDIT_BYTES:
        raise EditError(MSG_TOO_LARGE.format(size=size, limit=MAX_EDIT_BYTES))
    if "\\u0000" in encoded:  # PostgreSQL's jsonb refuses it
        raise EditError(MSG_NUL)
    if info.schema is not None:
        _, problem = validate_answer(encoded, info.schema)
        if problem is not None:
            raise EditError(MSG_SCHEMA.format(problem=problem))
    elif not takes_json(info, original) and not isinstance(value, str):
        raise EditError(MSG_TEXT)
    return value


def parse_edit(info: ColumnInfo, original: object, text: str) -> object:
    """The value a reviewer typed into the edit field, parsed and checked."""
    if len(text.encode()) > MAX_EDIT_BYTES:
        raise EditError(MSG_TOO_LARGE.format(size=len(text.encode()), limit=MAX_EDIT_BYTES))
    if not takes_json(info, original):
        return check_edit(info, original, text)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EditError(MSG_NOT_JSON.format(msg=exc.msg, line=exc.lineno, col=exc.colno)) from exc
    except RecursionError as exc:
        raise EditError("Not JSON this server reads: nested too deeply") from exc
    return check_edit(info, original, value)


def edit_text(info: ColumnInfo, value: object) -> str:
    """What the edit field starts with."""
    if not takes_json(info, value):
        return "" if value is None else str(value)
    return json.dumps(value, indent=2, ensure_ascii=False)


def as_chat(value: object) -> list[tuple[str, str]] | None:
    """A list of ``{"role", "content"}`` messages as (role, content) pairs, else None."""
    if not isinstance(value, list) or not value:
        return None
    turns = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("role"), str):
            return None
        content = item.get("content")
        turns.append((item["role"], content if isinstance(content, str) else json.dumps(content)))
    return turns


@dataclass
class ShownValue:
    name: str
    kind: str
    form: str  # "text", "json" or "chat"
    text: str
    edit_text: str
    takes_json: bool
    chat: list[tuple[str, str]] | None = None
    original: str | None = None  # the generated value, when an edit replaced it
    error: str = ""
    prompt: str | None = None  # the rendered prompt of an LLM column, shown on demand


def _display(value: object) -> tuple[str, str, list[tuple[str, str]] | None]:
    chat = as_chat(value)
    if chat is not None:
        return "chat", json.dumps(value, indent=2, ensure_ascii=False), chat
    if isinstance(value, str):
        return "text", value, None
    return "json", json.dumps(value, indent=2, ensure_ascii=False), None


def display_text(value: object) -> str:
    """A value as focus mode prints it: text as is, anything else as indented JSON."""
    return _display(value)[1]


def shown_values(
    infos: dict[str, ColumnInfo], values: dict[str, Any], edited: dict[str, Any] | None
) -> list[ShownValue]:
    """Each output column of a row as focus mode shows it: the edited value if there is one,
    the generated one kept aside."""
    shown = []
    for name, info in infos.items():
        original = values.get(name)
        current = edited.get(name, original) if edited is not None else original
        form, text, chat = _display(current)
        changed = edited is not None and name in edited and edited[name] != original
        shown.append(
            ShownValue(
                name=name,
                kind=info.kind,
                form=form,
                text=text,
                edit_text=edit_text(info, current),
                takes_json=takes_json(info, original),
                chat=chat,
                original=_display(original)[1] if changed else None,
            )
        )
    return shown
