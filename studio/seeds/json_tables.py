"""JSON Lines and JSON tables: objects whose keys become the columns, every refusal naming the
line and column of the file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from .errors import SeedFileError
from .table_limits import MAX_NESTING, Parsed, check_width, too_many_rows
from .text import decode_utf8

__all__ = ["read_json", "read_jsonl"]

# Python refuses to convert longer integers to or from text (sys.get_int_max_str_digits).
_MAX_INT_DIGITS = 4300


def _objects_to_records(objects: Iterable[dict[str, Any]], max_columns: int) -> Parsed:
    """Align objects whose keys may differ: headers in order of first appearance."""
    positions: dict[str, int] = {}
    records: list[list[Any]] = []
    for obj in objects:
        record: list[Any] = [None] * len(positions)
        for key, value in obj.items():
            position = positions.get(key)
            if position is None:
                position = positions[key] = len(positions)
                check_width(len(positions), max_columns)
                record.append(None)
            record[position] = value
        records.append(record)
    return list(positions), records


def _describe_json(value: object) -> str:
    names = {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return "a number"


def _not_finite(_: str) -> None:
    # Python's json accepts NaN and Infinity, which JSON storage does not.
    return None


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_INT_DIGITS:
        raise _LongInteger(len(digits.lstrip("-")))
    return int(digits)


class _LongInteger(ValueError):
    def __init__(self, digits: int) -> None:
        super().__init__(f"an integer of {digits:,} digits (at most {_MAX_INT_DIGITS:,})")


def _loads(text: str, where: str, *, one_line: bool = False) -> Any:
    """``json.loads`` whose every refusal is a SeedFileError naming ``where``."""
    try:
        return json.loads(text, parse_constant=_not_finite, parse_int=_parse_int)
    except json.JSONDecodeError as exc:
        position = f"column {exc.colno}" if one_line else f"line {exc.lineno}, column {exc.colno}"
        raise SeedFileError(f"{where} is not valid JSON: {exc.msg} ({position})") from None
    except _LongInteger as exc:
        raise SeedFileError(f"{where} holds {exc}; write it as a string") from None
    except RecursionError:
        raise SeedFileError(
            f"{where} nests lists or objects too deeply (at most {MAX_NESTING} levels)"
        ) from None


def read_jsonl(data: bytes, max_columns: int, max_rows: int) -> Parsed:
    text = decode_utf8(data)

    def objects() -> Iterator[dict[str, Any]]:
        count = 0
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            value = _loads(line, f"JSONL line {number}", one_line=True)
            if not isinstance(value, dict):
                raise SeedFileError(
                    f"JSONL line {number} is {_describe_json(value)}, not an object; each "
                    'line must be one JSON object such as {"question": "...", "answer": "..."}'
                )
            count += 1
            if count > max_rows:
                raise too_many_rows(max_rows)
            yield value

    return _objects_to_records(objects(), max_columns)


def read_json(data: bytes, max_columns: int, max_rows: int) -> Parsed:
    value = _loads(decode_utf8(data), "The file")
    if not isinstance(value, list):
        raise SeedFileError(
            f"The file holds {_describe_json(value)}; "
            "a JSON table must be an array of objects: [{...}, {...}]"
        )
    if len(value) > max_rows:
        raise too_many_rows(max_rows)
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise SeedFileError(
                f"Item {number} of the array is {_describe_json(item)}, not an object"
            )
    return _objects_to_records(value, max_columns)
