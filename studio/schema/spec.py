"""The dataset schema: a list of typed columns, validated as a whole.

A schema is stored as JSON and validated with pydantic when it is saved, so
that everything a worker later relies on (names, templates, generation order)
is known to be sound before any row is generated.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import ErrorDetails

from .base import NAME_PATTERN, RESERVED_NAMES, ColumnBase
from .errors import SchemaError
from .graph import dependency_levels
from .llm_kinds import (
    LlmColumn,
    LlmJudgeColumn,
    LlmStructuredColumn,
    LlmTextColumn,
    is_llm,
)
from .sampler_kinds import (
    BooleanColumn,
    CategoryColumn,
    DatetimeColumn,
    FloatColumn,
    IntegerColumn,
    PersonColumn,
    SubcategoryColumn,
    UuidColumn,
)
from .seed_kinds import DocumentColumn, SeedDataColumn
from .spec_problems import name_problems, parent_problems, seed_fields_of, template_problems

__all__ = [
    "KINDS",
    "MAX_COLUMNS",
    "NAME_PATTERN",
    "RESERVED_NAMES",
    "BooleanColumn",
    "CategoryColumn",
    "Column",
    "DatetimeColumn",
    "DocumentColumn",
    "ExpressionColumn",
    "FloatColumn",
    "IntegerColumn",
    "LlmJudgeColumn",
    "LlmStructuredColumn",
    "LlmTextColumn",
    "PersonColumn",
    "SchemaSpec",
    "SeedDataColumn",
    "SubcategoryColumn",
    "UuidColumn",
    "parse_spec",
]

MAX_COLUMNS = 200


class ExpressionColumn(ColumnBase):
    """Text computed from other columns by a Jinja template, without a model."""

    kind: Literal["expression"] = "expression"
    template: str = Field(min_length=1)

    def templates(self) -> dict[str, str]:
        return {"template": self.template}


Column = Annotated[
    CategoryColumn
    | SubcategoryColumn
    | IntegerColumn
    | FloatColumn
    | BooleanColumn
    | DatetimeColumn
    | PersonColumn
    | UuidColumn
    | ExpressionColumn
    | LlmTextColumn
    | LlmStructuredColumn
    | LlmJudgeColumn
    | SeedDataColumn
    | DocumentColumn,
    Field(discriminator="kind"),
]

# Every kind, in the union's order (the order the error message for an unknown kind lists them).
KINDS: tuple[str, ...] = tuple(
    model.model_fields["kind"].default for model in get_args(get_args(Column)[0])
)
_KINDS = KINDS


class SchemaSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    columns: list[Column] = Field(min_length=1, max_length=MAX_COLUMNS)

    @model_validator(mode="after")
    def _check(self) -> SchemaSpec:
        messages = name_problems(self.columns)
        providers = _providers(self.columns)
        messages.extend(parent_problems(self.columns))
        structured = {
            c.name: fields
            for c in self.columns
            if is_llm(c) and (fields := c.value_fields()) is not None
        }
        seed_fields = seed_fields_of(providers)
        dependencies: dict[str, set[str]] = {}
        for column in self.columns:
            refs, field_messages = template_problems(column, providers, seed_fields, structured)
            messages.extend(field_messages)
            dependencies.setdefault(column.name, set()).update(refs)
        # With duplicate names the graph is ambiguous; that error is enough.
        if len(dependencies) == len(self.columns):
            try:
                # Only known names are left in ``dependencies``, so this can
                # only report cycles.
                dependency_levels(dependencies)
            except SchemaError as exc:
                messages.extend(exc.messages)
        if messages:
            raise SchemaError(list(dict.fromkeys(messages)))
        return self

    def providers(self) -> dict[str, str]:
        """Variable name -> name of the column that provides it, in output order."""
        return _providers(self.columns)

    def depends_on(self, name: str) -> set[str]:
        """Names of the *columns* that column ``name`` needs before it can be generated.

        Unlike ``column(name).dependencies()`` (variable names), a seed field is
        mapped to its seed column, so this can be compared with column names
        (e.g. the set of columns that failed in a row).
        """
        return _column_dependencies(self.column(name), self.providers())

    def levels(self) -> list[list[str]]:
        """Column names grouped by generation order (see graph.dependency_levels)."""
        providers = self.providers()
        return dependency_levels({c.name: _column_dependencies(c, providers) for c in self.columns})

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def output_columns(self) -> list[str]:
        """Names of the fields written to the dataset, in the user's order.

        A seed column contributes its table's fields in their order, not its
        own name.
        """
        return [name for c in self.columns if not c.drop for name in c.provides()]

    def llm_columns(self) -> list[LlmColumn]:
        """Every column answered by a model (text, structured, judge)."""
        return [c for c in self.columns if is_llm(c)]

    def seed_file_ids(self) -> set[int]:
        """Ids of the uploaded files (tables and documents) this schema reads."""
        return {
            c.seed_file_id for c in self.columns if isinstance(c, SeedDataColumn | DocumentColumn)
        }


def _column_dependencies(column: Column, providers: dict[str, str]) -> set[str]:
    return {providers[v] for v in column.dependencies() if v in providers}


def _providers(columns: list[Column]) -> dict[str, str]:
    """Variable -> providing column; the first provider wins (clashes are reported elsewhere)."""
    providers: dict[str, str] = {}
    for column in columns:
        for name in column.provides():
            providers.setdefault(name, column.name)
    return providers


def parse_spec(data: object) -> SchemaSpec:
    """Validate raw (JSON-like) data into a SchemaSpec, or raise SchemaError.

    Pydantic reports errors by location (``columns.1.category.values``); this
    turns them into sentences that name the column, and passes our own
    validators' messages through as they were written.
    """
    nul = _first_nul(data)
    if nul is not None:
        raise SchemaError(nul)
    try:
        return SchemaSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise SchemaError(_readable(exc, data)) from None


MSG_NUL = "{where}: text cannot contain NUL characters (\\u0000)"


def _first_nul(data: object) -> str | None:
    """Where the first NUL character is in a key or a string of the raw input, if any: no
    database stores one in text, so it is refused here rather than failing at save.
    A loop, not a recursion: the input's depth is the sender's to choose."""
    stack: list[tuple[object, tuple[int | str, ...]]] = [(data, ())]
    while stack:
        node, loc = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return MSG_NUL.replace("{where}", _place(data, loc))
        elif isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and "\x00" in key:
                    return MSG_NUL.replace("{where}", _place(data, loc))
                stack.append((value, (*loc, key)))
        elif isinstance(node, list | tuple):
            stack.extend((item, (*loc, index)) for index, item in enumerate(node))
    return None


def _place(data: object, loc: tuple[int | str, ...]) -> str:
    if len(loc) >= 2 and loc[0] == "columns" and isinstance(loc[1], int):
        rest = ".".join(str(part) for part in loc[2:])
        label = _column_label(data, loc[1]).replace("\x00", "")
        return f"{label}: {rest}" if rest else label
    return ".".join(str(part) for part in loc) or "Schema"


def _readable(exc: pydantic.ValidationError, data: object) -> list[str]:
    messages: list[str] = []
    for error in exc.errors():
        own = error.get("ctx", {}).get("error")
        if isinstance(own, SchemaError):
            messages.extend(own.messages)
        elif isinstance(own, ValueError):
            messages.append(str(own))
        else:
            messages.append(_describe(error, data))
    # Unions and list items can repeat a message; keep the first of each.
    return list(dict.fromkeys(messages))


def _describe(error: ErrorDetails, data: object) -> str:
    loc: tuple[int | str, ...] = tuple(error["loc"])
    msg = str(error["msg"])
    kinds = ", ".join(_KINDS)
    if error["type"] == "union_tag_invalid":
        msg = f"unknown kind '{error.get('ctx', {}).get('tag')}'; expected one of {kinds}"
        loc = (*loc, "kind")
    elif error["type"] == "union_tag_not_found":
        msg = f"missing; expected one of {kinds}"
        loc = (*loc, "kind")
    elif loc == ("columns",) and error["type"] in ("too_short", "too_long"):
        return f"A schema needs between 1 and {MAX_COLUMNS} columns"
    if len(loc) >= 2 and loc[0] == "columns" and isinstance(loc[1], int):
        label = _column_label(data, loc[1])
        rest = loc[3:] if len(loc) > 2 and loc[2] in _KINDS else loc[2:]
        field = ".".join(str(part) for part in rest)
        return f"{label}: {field} — {msg}" if field else f"{label}: {msg}"
    where = ".".join(str(part) for part in loc) or "Schema"
    return f"{where} — {msg}"


def _column_label(data: object, index: int) -> str:
    """``Column 'topic'`` when the raw input has a usable name, else ``Column #2``."""
    columns = data.get("columns") if isinstance(data, dict) else None
    if isinstance(columns, list) and index < len(columns):
        raw = columns[index]
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name:
            return f"Column '{name}'"
    return f"Column #{index + 1}"
