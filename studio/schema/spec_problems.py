"""What ``SchemaSpec`` reports about its columns taken together: their names, a subcategory's
parent, and the references in their templates. Each function returns messages that name the
column, so the designer can show them beside it. Pure: no Django.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import NAME_PATTERN, NAME_RULE, RESERVED_NAMES
from .graph import unknown_reference_message
from .sampler_kinds import CategoryColumn, SubcategoryColumn
from .structured_refs import structured_reference_problems
from .templating import TemplateProblem, check_template_safety, template_variables

if TYPE_CHECKING:  # the union of every kind, defined with SchemaSpec, which imports this
    from .spec import Column

__all__ = ["name_problems", "parent_problems", "seed_fields_of", "template_problems"]


def name_problems(columns: list[Column]) -> list[str]:
    """Invalid, reserved or repeated column names, and seed fields clashing with names."""
    messages: list[str] = []
    seen: set[str] = set()
    reported: set[str] = set()
    for column in columns:
        name = column.name
        if not NAME_PATTERN.fullmatch(name):
            messages.append(f"Column '{name}' has an invalid name: {NAME_RULE}")
        elif name in RESERVED_NAMES:
            messages.append(f"Column name '{name}' is reserved; choose another name")
        if name in seen and name not in reported:
            messages.append(f"Two columns are named '{name}'")
            reported.add(name)
        seen.add(name)
    # A seed column's fields are variables and output columns like any column
    # name, so they must not collide with one (or with another seed's fields).
    provided_by: dict[str, str] = {}
    for column in columns:
        for field in column.provides():
            if field == column.name:
                continue
            if field in seen:
                messages.append(
                    f"Column '{column.name}' provides field '{field}', which is also the name "
                    f"of column '{field}'; rename one of them"
                )
            elif field in provided_by:
                messages.append(
                    f"Columns '{provided_by[field]}' and '{column.name}' both provide "
                    f"field '{field}'; remove it from one of them"
                )
            else:
                provided_by[field] = column.name
    return messages


def _category_values(column: Column) -> list[str] | None:
    """The values a category-like column can take; None for other kinds."""
    if isinstance(column, CategoryColumn):
        return list(column.values)
    if isinstance(column, SubcategoryColumn):
        return list(dict.fromkeys(v for values in column.values.values() for v in values))
    return None


def parent_problems(columns: list[Column]) -> list[str]:
    """A subcategory's parent must exist, be a category, and have its every value covered."""
    by_name = {c.name: c for c in columns}
    messages: list[str] = []
    for column in columns:
        if not isinstance(column, SubcategoryColumn):
            continue
        label = f"Column '{column.name}'"
        parent = by_name.get(column.parent)
        if parent is None:
            seed = next((c.name for c in columns if column.parent in c.provides()), None)
            if seed is None:
                messages.append(unknown_reference_message(column.name, column.parent, "parent"))
            else:
                messages.append(
                    f"{label}: parent '{column.parent}' must be a category or subcategory "
                    f"column (it is a field of seed column '{seed}')"
                )
            continue
        parent_values = _category_values(parent)
        if parent_values is None:
            messages.append(
                f"{label}: parent '{column.parent}' must be a category or subcategory column "
                f"(it is of kind '{parent.kind}')"
            )
            continue
        missing = [v for v in parent_values if v not in column.values]
        if missing:
            messages.append(
                f"{label} has no values for {_quoted(missing)} "
                f"(values of its parent column '{column.parent}')"
            )
        unknown = [v for v in column.values if v not in parent_values]
        if unknown:
            messages.append(
                f"{label} has values for {_quoted(unknown)}, which its parent column "
                f"'{column.parent}' never takes"
            )
    return messages


def _quoted(values: list[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def template_problems(
    column: Column,
    providers: dict[str, str],
    seed_fields: dict[str, list[str]],
    structured: dict[str, list[str]],
) -> tuple[set[str], list[str]]:
    """Columns one column depends on, and messages for its bad templates.

    Unknown references are reported here rather than by the graph, because
    only here do we know which field (prompt or system prompt) they are in.
    """
    refs: set[str] = set()
    messages: list[str] = []
    for field, text in column.templates().items():
        try:
            check_template_safety(text)
            used = template_variables(text)
        except TemplateProblem as exc:
            messages.append(f"Column '{column.name}': {field} — {exc}")
            continue
        for ref in sorted(used):
            if ref in providers:
                refs.add(providers[ref])
            elif ref in seed_fields:
                messages.append(
                    f"Column '{column.name}' refers to '{ref}' in its {field}, which is a seed "
                    f"column: use its fields instead ({', '.join(seed_fields[ref])})"
                )
            else:
                messages.append(unknown_reference_message(column.name, ref, field))
        messages.extend(structured_reference_problems(column.name, field, text, structured))
    if isinstance(column, SubcategoryColumn) and column.parent in providers:
        refs.add(providers[column.parent])
    return refs, messages


def seed_fields_of(providers: dict[str, str]) -> dict[str, list[str]]:
    """Columns that provide names other than their own -> those names."""
    fields: dict[str, list[str]] = {}
    for variable, column in providers.items():
        if variable != column:
            fields.setdefault(column, []).append(variable)
    return {c: f for c, f in fields.items() if c not in providers}
