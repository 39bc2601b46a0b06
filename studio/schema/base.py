"""What every column kind shares: its name, ``drop``, templates and the names it provides.

Lives apart from ``spec.py`` so that the modules defining column kinds can
import it without importing the union of all kinds (which imports them).
"""

from __future__ import annotations

import keyword
import re

from pydantic import BaseModel, ConfigDict

from .templating import ENV, template_variables

__all__ = [
    "NAME_PATTERN",
    "NAME_RULE",
    "RESERVED_NAMES",
    "ColumnBase",
    "count",
    "name_problem",
]

# Column names become template variables and output field names, so they must
# be plain identifiers; lowercase only, so 'Topic' and 'topic' cannot coexist.
NAME_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
NAME_RULE = (
    "use 1 to 64 lowercase letters, digits or underscores, starting with a letter or underscore"
)

# Names a template could not read as a column: Jinja literals and keywords,
# names Jinja provides itself (globals, 'self', 'loop'), and names the row
# renderer reserves for its own context ('row', 'index').
RESERVED_NAMES: frozenset[str] = frozenset(
    {"row", "index", "loop", "self", "true", "false", "none"}
    | {kw for kw in keyword.kwlist if kw.islower()}
    | set(ENV.globals)
)


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a template variable, or None when it can."""
    if not NAME_PATTERN.fullmatch(name):
        return f"has an invalid name: {NAME_RULE}"
    if name in RESERVED_NAMES:
        return "is reserved; choose another name"
    return None


def count(n: int, noun: str) -> str:
    """``1 value``, ``3 values``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class ColumnBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    # A helper column: generated and usable in templates, left out of the output.
    drop: bool = False

    def templates(self) -> dict[str, str]:
        """Field name -> template text; empty for columns that sample values."""
        return {}

    def dependencies(self) -> set[str]:
        """Variable names this column reads (from its templates, or e.g. its parent).

        These are *variable* names; a seed column provides several variables
        under one column, so use ``SchemaSpec.depends_on`` for column names.
        """
        names: set[str] = set()
        for text in self.templates().values():
            names |= template_variables(text)
        return names

    def provides(self) -> list[str]:
        """Variables (and output fields) this column fills in each row, in order."""
        return [self.name]
