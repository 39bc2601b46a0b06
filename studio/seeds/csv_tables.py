"""CSV and TSV tables: the delimiter guessed from the file's start, every malformed line named."""

from __future__ import annotations

import csv
import io
from typing import Any

from .errors import SeedFileError
from .table_limits import Parsed, check_width, too_many_rows
from .text import decode_utf8

__all__ = ["read_csv"]

# The csv module refuses cells over 128 KB by default; seed cells can be whole
# articles. (A process-wide setting, only ever raised here.)
_MAX_CELL_CHARS = 16 * 1024 * 1024
if csv.field_size_limit() < _MAX_CELL_CHARS:
    csv.field_size_limit(_MAX_CELL_CHARS)

# Enough of the file for csv.Sniffer to see a few lines.
_SNIFF_BYTES = 64 * 1024
_DELIMITERS = ",;\t|"


def read_csv(data: bytes, max_columns: int, max_rows: int) -> Parsed:
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
                check_width(len(headers), max_columns)
                continue
            if len(record) > len(headers):
                raise SeedFileError(
                    f"CSV line {reader.line_num} has {len(record)} fields but the header has "
                    f"{len(headers)}; check for an unquoted delimiter in a value"
                )
            if len(records) == max_rows:
                raise too_many_rows(max_rows)
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
