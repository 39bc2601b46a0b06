"""The seed tables and documents a batch of rows reads, loaded up front so the engine stays
pure: tables as the few rows the batch needs, documents as their chunks."""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.schema.seed_kinds import DocumentColumn, SeedDataColumn
from studio.schema.seed_rows import seed_row_index
from studio.seeds import chunk_text

MSG_MISSING_FILE = "The seed file of column '{column}' was deleted"


class SeedDataMissing(LookupError):
    pass


@dataclass
class SeedData:
    # seed file id → number of rows; (seed file id, row index) → row
    table_sizes: dict[int, int] = field(default_factory=dict)
    table_rows: dict[tuple[int, int], dict] = field(default_factory=dict)
    # seed file id → text
    documents: dict[int, str] = field(default_factory=dict)
    _chunks: dict[tuple[int, int, int], list[str]] = field(default_factory=dict)

    def table_row(self, column: SeedDataColumn, seed: int | str, row_index: int) -> dict:
        size = self.table_sizes.get(column.seed_file_id)
        if not size:
            raise SeedDataMissing(MSG_MISSING_FILE.replace("{column}", column.name))
        index = seed_row_index(column, seed, row_index, size)
        try:
            return self.table_rows[(column.seed_file_id, index)]
        except KeyError as exc:
            raise SeedDataMissing(MSG_MISSING_FILE.replace("{column}", column.name)) from exc

    def chunk(self, column: DocumentColumn, seed: int | str, row_index: int) -> str:
        text = self.documents.get(column.seed_file_id)
        if text is None:
            raise SeedDataMissing(MSG_MISSING_FILE.replace("{column}", column.name))
        key = (column.seed_file_id, column.chunk_size, column.chunk_overlap)
        chunks = self._chunks.get(key)
        if chunks is None:
            chunks = chunk_text(text, column.chunk_size, column.chunk_overlap)
            self._chunks[key] = chunks
        if not chunks:
            raise SeedDataMissing(MSG_MISSING_FILE.replace("{column}", column.name))
        return chunks[seed_row_index(column, seed, row_index, len(chunks))]


def needed_table_rows(
    columns: list[SeedDataColumn], seed: int | str, row_indices: list[int], sizes: dict[int, int]
) -> dict[int, set[int]]:
    """For each seed file, the table rows the given dataset rows will read."""
    needed: dict[int, set[int]] = {}
    for column in columns:
        size = sizes.get(column.seed_file_id)
        if not size:
            continue
        wanted = needed.setdefault(column.seed_file_id, set())
        wanted.update(seed_row_index(column, seed, index, size) for index in row_indices)
    return needed
