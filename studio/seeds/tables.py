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

# Nesting of a JSON or Parquet value: deeper would exhaust the parser's stack (and the
# database's); no table a person writes comes near it.
MAX_NESTING = 32
# Python refuses to convert longer integers to or from text (sys.get_int_max_str_digits).
_MAX_INT_DIGITS = 4300
# Parquet is read this many rows at a time, so its decoded size is counted as it grows.
_PARQUET_BATCH_ROWS = 1024

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
    data: bytes,
    filename: str,
    *,
    max_columns: int = 200,
    max_rows: int = 1_000_000,
    max_cells: int = 20_000_000,
    max_bytes: int = 200 * 1024 * 1024,
    max_cell_bytes: int = 2 * 1024 * 1024,
) -> Table:
    """Parse ``data`` according to the extension of ``filename``; SeedFileError if unusable.

    Besides its rows and columns, a table is bounded by what it decodes to: ``max_cells``
    (rows x columns), ``max_bytes`` (its rows as stored JSON) and ``max_cell_bytes`` (one
    value as JSON), because a small compressed file can stand for a huge table.
    """
    extension = PurePath(filename).suffix.lower()
    readers = {
        ".csv": _read_csv,
        ".tsv": _read_csv,
        ".jsonl": _read_jsonl,
        ".ndjson": _read_jsonl,
        ".json": _read_json,
    }
    reader = readers.get(extension)
    if reader is None and extension != ".parquet":
        shown = f"'{extension}'" if extension else "without an extension"
        raise SeedFileError(
            f"Files {shown} are not supported as tables; upload a "
            + ", ".join(TABLE_EXTENSIONS)
            + " file"
        )
    if not data.strip():
        raise SeedFileError("The file is empty")
    limits = _Limits(max_columns, max_rows, max_cells, max_bytes, max_cell_bytes)
    if reader is None:
        headers, records = _read_parquet(data, limits)
    else:
        headers, records = reader(data, max_columns, max_rows)
    _check_width(len(headers), max_columns)
    if not records:
        raise SeedFileError("The file has no rows of data")
    _check_cells(len(records), len(headers), max_cells)
    names, renamed = normalise_names(headers)
    size = _Size(limits, names)
    rows = []
    for number, record in enumerate(records, start=1):
        _check_nesting(record, names, number)
        row = {
            name: to_jsonable(record[i]) if i < len(record) else None
            for i, name in enumerate(names)
        }
        size.add(row, number)
        rows.append(row)
    return Table(columns=names, rows=rows, renamed=renamed)


@dataclass(frozen=True)
class _Limits:
    columns: int
    rows: int
    cells: int
    bytes: int
    cell_bytes: int


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def _check_cells(rows: int, columns: int, max_cells: int) -> None:
    if rows * columns > max_cells:
        raise SeedFileError(
            f"The table has {rows:,} rows of {columns:,} columns ({rows * columns:,} values); "
            f"the limit is {max_cells:,} values"
        )


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists/objects more than ``limit`` deep (without recursing)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def _check_nesting(record: list[Any], names: list[str], number: int) -> None:
    """Before conversion, which recurses: a parser may have built deeper values than that."""
    for name, value in zip(names, record, strict=False):
        if isinstance(value, dict | list) and _too_deep(value, MAX_NESTING):
            raise SeedFileError(
                f"Row {number}, column '{name}' nests lists or objects more than "
                f"{MAX_NESTING} levels deep"
            )


class _Size:
    """Adds up the stored size of the rows, refusing the table once past a limit."""

    def __init__(self, limits: _Limits, names: list[str]) -> None:
        self.limits = limits
        self.names = names
        self.total = 0

    def _json_size(self, value: Any, number: int, name: str | None = None) -> int:
        try:
            return len(json.dumps(value, ensure_ascii=False))
        except (ValueError, RecursionError):
            where = f"Row {number}" + (f", column '{name}'," if name else "")
            raise SeedFileError(f"{where} has a value that cannot be stored as JSON") from None

    def add(self, row: dict[str, Any], number: int) -> None:
        size = self._json_size(row, number)
        if size > self.limits.cell_bytes:
            for name, value in row.items():
                cell = self._json_size(value, number, name)
                if cell > self.limits.cell_bytes:
                    raise SeedFileError(
                        f"Row {number}, column '{name}' holds {_megabytes(cell)}; a value is "
                        f"at most {_megabytes(self.limits.cell_bytes)}"
                    )
        self.total += size
        if self.total > self.limits.bytes:
            raise _too_large_decoded(self.limits.bytes, f"at row {number:,}")


def _too_large_decoded(limit: int, where: str) -> SeedFileError:
    return SeedFileError(
        f"The table's values add up to more than the limit of {_megabytes(limit)} once "
        f"decoded ({where}): upload fewer rows or smaller values"
    )


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


def _read_jsonl(data: bytes, max_columns: int, max_rows: int) -> Parsed:
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
                raise _too_many_rows(max_rows)
            yield value

    return _objects_to_records(objects(), max_columns)


def _read_json(data: bytes, max_columns: int, max_rows: int) -> Parsed:
    value = _loads(decode_utf8(data), "The file")
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


def _read_parquet(data: bytes, limits: _Limits) -> Parsed:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(io.BytesIO(data))
        metadata = parquet.metadata
        headers = list(parquet.schema_arrow.names)
        # Checked from the metadata, before reading a possibly huge file: what its pages
        # decompress to, and how many values (nested lists' items included) it holds.
        chunks = [
            metadata.row_group(g).column(c)
            for g in range(metadata.num_row_groups)
            for c in range(metadata.num_columns)
        ]
        uncompressed = sum(chunk.total_uncompressed_size for chunk in chunks)
        values = sum(chunk.num_values for chunk in chunks)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SeedFileError(f"The file is not a readable Parquet file: {exc}") from None
    _check_width(len(headers), limits.columns)
    if metadata.num_rows > limits.rows:
        raise _too_many_rows(limits.rows)
    _check_cells(metadata.num_rows, len(headers), limits.cells)
    if values > limits.cells:
        raise SeedFileError(
            f"The table holds {values:,} values (items of lists included); "
            f"the limit is {limits.cells:,}"
        )
    if uncompressed > limits.bytes:
        raise _too_large_decoded(limits.bytes, "its pages uncompressed")
    records: list[list[Any]] = []
    decoded = 0
    try:
        # By batches: a dictionary-encoded column's few bytes can decode to gigabytes, so
        # its decoded size is counted as it grows, not after.
        for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH_ROWS):
            decoded += batch.nbytes
            if decoded > limits.bytes:
                raise _too_large_decoded(limits.bytes, f"at row {len(records) + 1:,}")
            columns = [column.to_pylist() for column in batch.columns]
            records.extend(list(values) for values in zip(*columns, strict=True))
    except SeedFileError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise SeedFileError(f"The Parquet file could not be read: {exc}") from None
    return headers, records
