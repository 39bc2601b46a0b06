"""Column kinds fed by an uploaded file: rows of a table, or chunks of a document.

The file itself lives in the database; a column only names it by id (the app
checks that the id belongs to the project) and says how rows are picked.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import ColumnBase, name_problem
from .errors import SchemaError

__all__ = ["DocumentColumn", "SeedDataColumn", "SeedSampling"]

# random: with replacement; shuffle: every row once per pass over the table, in
# a new order each pass; ordered: dataset row i takes table row i mod n.
SeedSampling = Literal["random", "shuffle", "ordered"]


class SeedDataColumn(ColumnBase):
    """Each dataset row takes one row of an uploaded table.

    Every table field becomes a template variable and an output column of its
    own; the column's name only identifies it in the schema (and in the
    generation graph), it is not a variable.
    """

    kind: Literal["seed_data"] = "seed_data"
    seed_file_id: int
    # The table's (normalised) column names, filled in by the app at upload;
    # a user may remove the ones they do not want.
    fields: list[str] = Field(min_length=1)
    sampling: SeedSampling = "shuffle"

    def provides(self) -> list[str]:
        return list(self.fields)

    @model_validator(mode="after")
    def _check(self) -> SeedDataColumn:
        problems: list[str] = []
        seen: set[str] = set()
        for field in self.fields:
            problem = name_problem(field)
            if problem is not None:
                problems.append(f"Column '{self.name}': field '{field}' {problem}")
            if field in seen:
                problems.append(f"Column '{self.name}' lists field '{field}' twice")
            seen.add(field)
        if problems:
            raise SchemaError(problems)
        return self


class DocumentColumn(ColumnBase):
    """Each dataset row takes one chunk of an uploaded document's text."""

    kind: Literal["document"] = "document"
    seed_file_id: int
    # In characters: small enough for a prompt, large enough to hold a passage.
    chunk_size: int = Field(default=1500, ge=100, le=20000)
    # Text repeated at the start of the next chunk, so no sentence is only ever
    # seen cut in half.
    chunk_overlap: int = Field(default=150, ge=0)
    sampling: SeedSampling = "shuffle"

    @model_validator(mode="after")
    def _check(self) -> DocumentColumn:
        if self.chunk_overlap >= self.chunk_size:
            raise SchemaError(
                f"Column '{self.name}': chunk_overlap ({self.chunk_overlap}) must be smaller "
                f"than chunk_size ({self.chunk_size})"
            )
        return self
