"""Editing operations of the schema designer on the column formset's raw form data: add,
duplicate, delete, move. They work on what the user typed (valid or not), so an edit in
progress is never lost, and the page re-renders the columns without a reload."""

from __future__ import annotations

import re
from collections.abc import Mapping

from studio.schema import MAX_COLUMNS

PREFIX = "columns"
# A form index has a few digits (MAX_COLUMNS is three); a longer run is not a column of ours, and
# int() of thousands of digits would raise.
_FIELD = re.compile(rf"^{PREFIX}-(\d{{1,6}})-(.+)$")
OPERATIONS = ("add", "duplicate", "delete", "up", "down")
MANAGEMENT = ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")


class DesignerError(ValueError):
    pass


def columns_from_data(data: Mapping[str, object]) -> list[dict[str, list[str]]]:
    """The formset's forms as dicts of field → values, in order.

    The form count comes from the request, so it is checked against the schema's limit before
    anything is built: one dict per claimed form would let a 60-byte POST allocate millions."""
    sent = data.get(f"{PREFIX}-TOTAL_FORMS")
    total = 0 if sent is None else form_index(str(sent).strip())
    if total is None or total > MAX_COLUMNS:
        raise DesignerError(f"A schema has at most {MAX_COLUMNS} columns; reload the page")
    columns: list[dict[str, list[str]]] = [{} for _ in range(total)]
    getlist = getattr(data, "getlist", None)
    for key in data:
        match = _FIELD.match(key)
        if not match or int(match.group(1)) >= total:
            continue
        values = getlist(key) if getlist else [data[key]]
        columns[int(match.group(1))][match.group(2)] = [str(v) for v in values]
    return columns


def data_from_columns(
    data: Mapping[str, object], columns: list[dict[str, list[str]]]
) -> dict[str, list[str]]:
    """Form data with the given columns renumbered, other fields kept."""
    getlist = getattr(data, "getlist", None)
    result: dict[str, list[str]] = {}
    for key in data:
        if _FIELD.match(key) or key.startswith(f"{PREFIX}-") and key.split("-", 1)[1] in MANAGEMENT:
            continue
        result[key] = [str(v) for v in (getlist(key) if getlist else [data[key]])]
    for index, column in enumerate(columns):
        for field, values in column.items():
            result[f"{PREFIX}-{index}-{field}"] = values
    result[f"{PREFIX}-TOTAL_FORMS"] = [str(len(columns))]
    result[f"{PREFIX}-INITIAL_FORMS"] = ["0"]
    result[f"{PREFIX}-MIN_NUM_FORMS"] = ["0"]
    result[f"{PREFIX}-MAX_NUM_FORMS"] = [str(MAX_COLUMNS)]
    return result


def apply_operation(
    columns: list[dict[str, list[str]]],
    operation: str,
    index: int | None,
    *,
    new_kind: str,
    new_values: Mapping[str, str] | None = None,
) -> list[dict[str, list[str]]]:
    """``new_values``: what an added column's fields start with (``studio.kinds.new_column``)."""
    if operation not in OPERATIONS:
        raise DesignerError(f"Unknown designer operation {operation!r}")
    columns = [dict(column) for column in columns]
    if operation in ("add", "duplicate") and len(columns) >= MAX_COLUMNS:
        raise DesignerError(f"A schema has at most {MAX_COLUMNS} columns")
    if operation == "add":
        column = {field: [value] for field, value in (new_values or {}).items()}
        column.update(kind=[new_kind], name=[""])
        columns.append(column)
        return columns
    if index is None or not 0 <= index < len(columns):
        raise DesignerError("That column is no longer there; reload the page")
    if operation == "duplicate":
        copy = dict(columns[index])
        copy["name"] = [_copy_name(copy.get("name", [""])[0], columns)]
        columns.insert(index + 1, copy)
    elif operation == "delete":
        del columns[index]
    elif operation == "up" and index > 0:
        columns[index - 1], columns[index] = columns[index], columns[index - 1]
    elif operation == "down" and index < len(columns) - 1:
        columns[index + 1], columns[index] = columns[index], columns[index + 1]
    return columns


def _copy_name(name: str, columns: list[dict[str, list[str]]]) -> str:
    taken = {column.get("name", [""])[0] for column in columns}
    base = f"{name}_copy" if name else "copy"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}_{n}", n + 1
    return candidate


def form_index(value: object) -> int | None:
    """A column index sent by the page, or None when it is not a small non-negative number."""
    text = str(value or "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None
