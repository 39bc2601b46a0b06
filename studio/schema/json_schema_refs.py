"""Save-time check of the ``$ref``s inside a structured column's JSON schema.

A reference that leads back into itself (``{"$ref": "#"}`` inside the root, or two definitions
naming each other) describes an endless value: building a sample of it, as the offline simulator
and the preview do, never ends, and a model asked for it may not either. A reference to a place
the schema does not have fails the same way later. Both are refused when the schema is saved,
naming the column and the place. Pure: no Django, no recursion (the schema's depth is the
user's to choose).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

__all__ = ["ref_problems"]

REF_KEYS = ("$ref", "$dynamicRef")
Path = tuple[str | int, ...]


def ref_problems(schema: Mapping[str, object], label: str) -> list[str]:
    """Messages for unresolvable and recursive local references in ``schema``; ``label`` (e.g.
    "Column 'answer': json_schema") starts each message. Non-local references are another
    check's (they are refused elsewhere)."""
    sites: list[tuple[Path, str, Path]] = []  # (where the $ref is, its text, where it leads)
    problems: list[str] = []
    for where, ref in _local_refs(schema):
        target = _resolve(schema, ref)
        if target is None:
            problems.append(
                f"{label}: {_dotted(where)} refers to {ref!r}, which is not a place in this "
                "schema (write #/$defs/name)"
            )
        else:
            sites.append((where, ref, target))
    problems.extend(
        f"{label}: {_dotted(where)} refers to {ref!r}, which leads into a loop of references; "
        "recursive schemas are not supported (describe a fixed depth instead)"
        for where, ref in _recursive(sites)
    )
    return problems


def _local_refs(schema: object) -> list[tuple[Path, str]]:
    """(path of the object that holds it, reference) for each ``$ref`` text starting with #."""
    found: list[tuple[Path, str]] = []
    stack: list[tuple[object, Path]] = [(schema, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in REF_KEYS and isinstance(value, str) and value.startswith("#"):
                    found.append((path, value))
                else:
                    stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(node))
    return sorted(found, key=lambda site: [str(part) for part in site[0]])


def _resolve(schema: object, ref: str) -> Path | None:
    """The path a ``#/a/b`` JSON pointer leads to, or None when it leads nowhere (an anchor
    such as ``#name`` counts as nowhere: only pointers are followed)."""
    pointer = unquote(ref[1:])
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        return None
    node = schema
    path: list[str | int] = []
    for raw in pointer[1:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            path.append(int(part))
        else:
            return None
    return tuple(path)


def _recursive(sites: list[tuple[Path, str, Path]]) -> list[tuple[Path, str]]:
    """The sites on a cycle or leading into one: following a reference reaches the subtree it
    points to, and with it every reference inside that subtree."""
    leads_to = [
        [other for other, (where, _, _) in enumerate(sites) if where[: len(target)] == target]
        for _, _, target in sites
    ]
    # Peel off the sites whose references all end (Kahn's algorithm on the reversed graph):
    # what remains never ends.
    remaining = [len(edges) for edges in leads_to]
    pointed_by: list[list[int]] = [[] for _ in sites]
    for site, edges in enumerate(leads_to):
        for other in edges:
            pointed_by[other].append(site)
    done = [site for site, count in enumerate(remaining) if count == 0]
    finite = set(done)
    while done:
        site = done.pop()
        for earlier in pointed_by[site]:
            remaining[earlier] -= 1
            if remaining[earlier] == 0:
                finite.add(earlier)
                done.append(earlier)
    return [(where, ref) for index, (where, ref, _) in enumerate(sites) if index not in finite]


def _dotted(path: Path) -> str:
    return ".".join(str(part) for part in path) or "the schema's root"
