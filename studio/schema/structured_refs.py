"""Save-time check of ``{{ answer.field }}`` where ``answer`` is a structured column.

A typo in a field name would otherwise render as an error on every row, after
paying for the model calls upstream; the fields are known from the column's
JSON schema, so the mistake can be refused when the schema is saved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TypeGuard

from jinja2 import nodes

from .templating import ENV

__all__ = ["structured_reference_problems"]

# Jinja resolves ``value.items`` to the dict method before the key 'items'.
_DICT_ATTRIBUTES = frozenset(name for name in dir(dict) if not name.startswith("_"))


def _field_reads(tree: nodes.Template) -> Iterator[tuple[str, str, bool]]:
    """(variable, field, written with a dot) for ``var.field`` and ``var['field']``."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if isinstance(node, nodes.Getattr) and _is_loaded_name(node.node):
            yield node.node.name, node.attr, True
        elif (
            isinstance(node, nodes.Getitem)
            and _is_loaded_name(node.node)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            yield node.node.name, node.arg.value, False


def _is_loaded_name(node: nodes.Node) -> TypeGuard[nodes.Name]:
    return isinstance(node, nodes.Name) and node.ctx == "load"


def structured_reference_problems(
    column: str,
    field: str,
    template: str,
    structured: Mapping[str, Sequence[str]],
) -> list[str]:
    """Messages for reads of unknown fields of structured columns in one template.

    ``structured`` maps each structured column to the fields its value has.
    The template must already have passed the safety check (it parses).
    """
    tree = ENV.parse(template)
    # A name the template assigns itself ({% set %}, a loop variable) is not
    # the column, whatever it is called.
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    problems: list[str] = []
    for variable, attr, dotted in _field_reads(tree):
        if variable not in structured or variable in local:
            continue
        fields = structured[variable]
        # Quoted so the user can search their template for exactly this text.
        read = f"'{variable}.{attr}'" if dotted else '"' + f"{variable}['{attr}']" + '"'
        if attr not in fields:
            problems.append(
                f"Column '{column}' reads {read} in its {field}, but column '{variable}' "
                f"has no field '{attr}' (its fields: {', '.join(fields) or 'none'})"
            )
        elif dotted and attr in _DICT_ATTRIBUTES:
            problems.append(
                f"Column '{column}' reads {read} in its {field}, which gives a built-in "
                f"method, not the field '{attr}'; write {variable}['{attr}']"
            )
    return list(dict.fromkeys(problems))
