"""The bounds every table reader checks, with messages that say what is too large and where.

A table is bounded by its columns and rows, and by what it decodes to (its cells, its rows as
stored JSON, one value), because a small compressed file can stand for a huge table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import SeedFileError

__all__ = [
    "MAX_NESTING",
    "Parsed",
    "StoredSize",
    "TableLimits",
    "check_cells",
    "check_nesting",
    "check_width",
    "too_large_decoded",
    "too_many_rows",
]

# Nesting of a JSON or Parquet value: deeper would exhaust the parser's stack (and the
# database's); no table a person writes comes near it.
MAX_NESTING = 32

# Each reader returns (headers, records): records are lists aligned with the
# headers (shorter lists mean missing trailing values).
Parsed = tuple[list[str], list[list[Any]]]


@dataclass(frozen=True)
class TableLimits:
    """The ``max_*`` arguments of ``read_table``."""

    columns: int
    rows: int
    cells: int
    bytes: int
    cell_bytes: int


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size:,} bytes"


def check_cells(rows: int, columns: int, max_cells: int) -> None:
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


def check_nesting(record: list[Any], names: list[str], number: int) -> None:
    """Before conversion, which recurses: a parser may have built deeper values than that."""
    for name, value in zip(names, record, strict=False):
        if isinstance(value, dict | list) and _too_deep(value, MAX_NESTING):
            raise SeedFileError(
                f"Row {number}, column '{name}' nests lists or objects more than "
                f"{MAX_NESTING} levels deep"
            )


class StoredSize:
    """Adds up the stored size of the rows, refusing the table once past a limit."""

    def __init__(self, limits: TableLimits, names: list[str]) -> None:
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
            raise too_large_decoded(self.limits.bytes, f"at row {number:,}")


def too_large_decoded(limit: int, where: str) -> SeedFileError:
    return SeedFileError(
        f"The table's values add up to more than the limit of {_megabytes(limit)} once "
        f"decoded ({where}): upload fewer rows or smaller values"
    )


def check_width(count: int, max_columns: int) -> None:
    if count > max_columns:
        raise SeedFileError(f"The file has {count} columns; the limit is {max_columns}")


def too_many_rows(max_rows: int) -> SeedFileError:
    return SeedFileError(f"The file has more than {max_rows:,} rows; the limit is {max_rows:,}")
