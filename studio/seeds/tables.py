"""Read an uploaded table (CSV, JSON Lines, JSON, Parquet) into rows of JSON values.

Each row later fills the variables of one generated row, so columns are
renamed into valid template names and values made JSON-storable. Every refusal
is a SeedFileError whose message says what is wrong and where (line, byte,
column), because users fix these files by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from .csv_tables import read_csv
from .errors import SeedFileError
from .json_tables import read_json, read_jsonl
from .names import normalise_names
from .parquet_tables import read_parquet
from .table_limits import StoredSize, TableLimits, check_cells, check_nesting, check_width
from .values import to_jsonable

__all__ = ["TABLE_EXTENSIONS", "Table", "read_table"]

TABLE_EXTENSIONS = (".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet")


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
        ".csv": read_csv,
        ".tsv": read_csv,
        ".jsonl": read_jsonl,
        ".ndjson": read_jsonl,
        ".json": read_json,
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
    limits = TableLimits(max_columns, max_rows, max_cells, max_bytes, max_cell_bytes)
    if reader is None:
        headers, records = read_parquet(data, limits)
    else:
        headers, records = reader(data, max_columns, max_rows)
    check_width(len(headers), max_columns)
    if not records:
        raise SeedFileError("The file has no rows of data")
    check_cells(len(records), len(headers), max_cells)
    names, renamed = normalise_names(headers)
    size = StoredSize(limits, names)
    rows = []
    for number, record in enumerate(records, start=1):
        check_nesting(record, names, number)
        row = {
            name: to_jsonable(record[i]) if i < len(record) else None
            for i, name in enumerate(names)
        }
        size.add(row, number)
        rows.append(row)
    return Table(columns=names, rows=rows, renamed=renamed)
