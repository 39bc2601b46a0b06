"""Dependency graph between columns: generation order, unknown names, cycles.

Pure functions over ``column -> names it refers to`` so they can be tested
without any column models. Order matters everywhere: the user's column order is
kept within a level and decides where a reported cycle starts, so the same
schema always produces the same plan and the same messages.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

from .errors import SchemaError

__all__ = ["cycle_message", "dependency_levels", "unknown_reference_message"]


def unknown_reference_message(column: str, reference: str, field: str | None = None) -> str:
    """``Column 'answer' refers to unknown column 'topc'[ in its prompt]``."""
    where = f" in its {field}" if field else ""
    return f"Column '{column}' refers to unknown column '{reference}'{where}"


def cycle_message(path: Sequence[str]) -> str:
    """``Cycle between columns: question → answer → question``."""
    return "Cycle between columns: " + " → ".join(path)


def dependency_levels(
    dependencies: Mapping[str, AbstractSet[str]],
    where: Mapping[str, str] | None = None,
) -> list[list[str]]:
    """Group columns into levels that can be generated one after another.

    Every column in a level depends only on columns of earlier levels, so the
    columns within one level may be generated in parallel. ``dependencies``
    maps each column (in the user's order) to the names it refers to;
    ``where`` optionally names, per column, the field the references come
    from, for the messages. Raises SchemaError listing every unknown reference
    and every cycle found.
    """
    where = where or {}
    order = {name: index for index, name in enumerate(dependencies)}
    messages = [
        unknown_reference_message(column, ref, where.get(column))
        for column, refs in dependencies.items()
        for ref in sorted(refs)
        if ref not in order
    ]
    # Unknown names are already reported; leave them out so cycles among the
    # known columns are still found in the same pass.
    known = {column: {ref for ref in refs if ref in order} for column, refs in dependencies.items()}

    levels: list[list[str]] = []
    placed: set[str] = set()
    remaining = list(dependencies)
    while remaining:
        level = [column for column in remaining if known[column] <= placed]
        if not level:
            break
        levels.append(level)
        placed.update(level)
        remaining = [column for column in remaining if column not in placed]

    if remaining:
        messages.extend(cycle_message(cycle) for cycle in _cycles(remaining, known, order))
    if messages:
        raise SchemaError(messages)
    return levels


def _cycles(
    remaining: list[str],
    known: Mapping[str, set[str]],
    order: Mapping[str, int],
) -> list[list[str]]:
    """Shortest cycles through the unplaced columns, starting in user order.

    ``remaining`` holds the columns that could not be placed: those on a cycle
    and those merely depending on one; only the former start a report. A column
    already shown in a reported cycle does not start another, so each loop is
    named once. Quadratic, which is fine for a few hundred columns.
    """
    members = set(remaining)
    covered: set[str] = set()
    cycles: list[list[str]] = []
    for start in remaining:
        if start in covered:
            continue
        cycle = _shortest_cycle(start, members, known, order)
        if cycle is not None:
            cycles.append(cycle)
            covered.update(cycle)
    return cycles


def _shortest_cycle(
    start: str,
    members: AbstractSet[str],
    known: Mapping[str, set[str]],
    order: Mapping[str, int],
) -> list[str] | None:
    """Breadth-first search from ``start`` back to itself; None if it is not on a cycle.

    Neighbours are visited in user order so the answer is deterministic.
    """
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for ref in sorted(known[node] & members, key=order.__getitem__):
            if ref == start:
                back = [node]
                while back[-1] != start:
                    back.append(parent[back[-1]])
                # back runs from the last hop to start; reverse it and close the loop.
                return [*reversed(back), start]
            if ref not in parent:
                parent[ref] = node
                queue.append(ref)
    return None
