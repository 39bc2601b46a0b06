"""Read an uploaded table (CSV, JSON Lines, JSON, Parquet) into rows of JSON values.

Each row later fills the variables of one generated row, so columns are
renamed into valid template names and values made JSON-storable. Every refusal
is a SeedFileError whose message says what is wrong and where (line, byte,
column), because users fix these files by hand.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from .errors import SeedFileError
from .names import normalise_names
from .text import decode_utf8
from .values import to_jsonable

__all__ = ["TABLE_EXTENSIONS", "Table", "read_table"]

TABLE_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet")

# The csv module refuses cells over 128 KB by default; seed cells can be whole
# articles. (A process-wide setting, only ever raised here.)
_MAX_CELL_CHARS = 16 * 1024 * 1024
if csv.field_size_limit() < _MAX_CELL_CHARS:
    csv.field_size_limit(_MAX_CELL_CHARS)

# Enough of the file for csv.Sniffer to see a few lines.
_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"


@dataclass
class Table:
    """Rows keyed by normalised column names, in file order."""

    columns: list[str]
    rows: list[dict[str, Any]]
    # Original header -> normalised name, only for headers that changed.
    renamed: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def head(self, n: int = 5) -> list[dict[str, Any]]:
        return self.rows[:n]


def read_table(
    data: bytes, filename: str, *, max_columns: int = 200, max_rows: int = 1_000_000
) -> Table:
    """Parse ``data`` according to the extension of ``filename``; SeedFileError if unusable."""
    extension = PurePath(filename).suffix.lower()
    readers = {
        ".csv": _read_csv,
        ".tsv": _read_csv,
        ".jsonl": _read_jsonl,
        ".ndjson": _read_jsonl,
        ".json": _read_json,
        ".parquet": _read_parquet,
    }
    reader = readers.get(extension)
    if reader is None:
        shown = f"'{extension}'" if extension else "without an extension"
        raise SeedFileError(
            f"Files {shown} are not supported as tables; upload a "
            + ", ".join(TABLE_EXTENSIONS)
            + " file"
        )
    if not data.strip():
        raise SeedFileError("The file is empty")
    headers, records = reader(data, max_columns, max_rows)
    _check_width(len(headers), max_columns)
    if not records:
        raise SeedFileError("The file has no rows of data")
    names, renamed = normalise_names(headers)
    rows = [
        {name: to_jsonable(record[i]) if i < len(record) else None for i, name in enumerate(names)}
        for record in records
    ]
    return Table(columns=names, rows=rows, renamed=renamed)


def _check_width(count: int, max_columns: int) -> None:
    if count > max_columns:
        raise SeedFileError(f"The file has {count} columns; the limit is {max_columns}")


def _too_many_rows(max_rows: int) -> SeedFileError:
    return SeedFileError(f"The file has more than {max_rows:,} rows; the limit is {max_rows:,}")


# Each reader returns (headers, records): records are lists aligned with the
# headers (shorter lists mean missing trailing values).
Parsed = tuple[list[str], list[list[Any]]]


def _read_csv(data: bytes, max_columns: int, max_rows: int) -> Parsed:
    text = decode_utf8(data)
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(text), strict=True)
    headers: list[str] | None = None
    records: list[list[Any]] = []
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank line
            if headers is None:
                headers = record
                _check_width(len(headers), max_columns)
                continue
            if len(record) > len(headers):
                raise SeedFileError(
                    f"CSV line {reader.line_num} has {len(record)} fields but the header has "
                    f"{len(headers)}; check for an unquoted delimiter in a value"
                )
            if len(records) == max_rows:
                raise _too_many_rows(max_rows)
            records.append(record)
    except csv.Error as exc:
        raise SeedFileError(f"CSV line {reader.line_num} is malformed: {exc}") from None
    return headers or [], records


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    """The delimiter of ``text`` (comma, semicolon, tab or pipe), guessed from its start.

    Only the delimiter is taken from the sniffer: its quoting guesses are
    unreliable on short samples, and standard double quotes are what
    spreadsheets write.
    """
    sample = text[:_SNIFF_BYTES]
    first_line = sample.split("\n", 1)[0]
    if not any(d in first_line for d in _DELIMITERS):
        return csv.excel  # one column: nothing to sniff
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return csv.excel
    if delimiter == ",":
        return csv.excel

    class Sniffed(csv.excel):
        pass

    Sniffed.delimiter = delimiter
    return Sniffed


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
                _check_width(len(positions), max_columns)
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


def _read_jsonl(data: bytes, max_columns: int, max_rows: int) -> Parsed:
    text = decode_utf8(data)

    def objects() -> Iterator[dict[str, Any]]:
        count = 0
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line, parse_constant=_not_finite)
            except json.JSONDecodeError as exc:
                raise SeedFileError(
                    f"JSONL line {number} is not valid JSON: {exc.msg} (column {exc.colno})"
                ) from None
            if not isinstance(value, dict):
                raise SeedFileError(
                    f"JSONL line {number} is {_describe_json(value)}, not an object; each "
                    'line must be one JSON object such as {"question": "...", "answer": "..."}'
                )
            count += 1
            if count > max_rows:
                raise _too_many_rows(max_rows)
            yield value

    return _objects_to_records(objects(), max_columns)


def _read_json(data: bytes, max_columns: int, max_rows: int) -> Parsed:
    text = decode_utf8(data)
    try:
        value = json.loads(text, parse_constant=_not_finite)
    except json.JSONDecodeError as exc:
        raise SeedFileError(
            f"The file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(value, list):
        raise SeedFileError(
            f"The file holds {_describe_json(value)}; "
            "a JSON table must be an array of objects: [{...}, {...}]"
        )
    if len(value) > max_rows:
        raise _too_many_rows(max_rows)
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise SeedFileError(
                f"Item {number} of the array is {_describe_json(item)}, not an object"
            )
    return _objects_to_records(value, max_columns)


def _read_parquet(data: bytes, max_columns: int, max_rows: int) -> Parsed:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SeedFileError(f"The file is not a readable Parquet file: {exc}") from None
    # Checked from the metadata, before reading a possibly huge file.
    headers = list(parquet.schema_arrow.names)
    _check_width(len(headers), max_columns)
    if parquet.metadata.num_rows > max_rows:
        raise _too_many_rows(max_rows)
    try:
        table = parquet.read()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SeedFileError(f"The Parquet file could not be read: {exc}") from None
    columns = [column.to_pylist() for column in table.columns]
    return headers, [list(values) for values in zip(*columns, strict=True)]
