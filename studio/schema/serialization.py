"""Schemas as files: export to YAML or JSON, import either (detected), exactly round-tripping.

Exports leave out settings that equal their defaults (``drop: false``,
``weights: null`` ...) so a file reads like what the user designed; ``name``
and ``kind`` always come first. Importing fills the defaults back in, so
export → import gives an equal spec.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import SchemaError
from .spec import SchemaSpec, parse_spec

__all__ = [
    "SchemaDocument",
    "document_from_text",
    "spec_from_text",
    "spec_to_data",
    "spec_to_json",
    "spec_to_yaml",
]


@dataclass(frozen=True)
class SchemaDocument:
    """An imported file: the spec, and the schema's name and description if it had them."""

    spec: SchemaSpec
    name: str | None = None
    description: str | None = None


def spec_to_data(spec: SchemaSpec | dict[str, Any]) -> dict[str, Any]:
    """The compact, JSON-ready form of a spec (validated first when given raw data)."""
    parsed = spec if isinstance(spec, SchemaSpec) else parse_spec(spec)
    columns = []
    for column in parsed.columns:
        settings = column.model_dump(mode="json", exclude_defaults=True)
        # 'kind' has a default on every model, so exclude_defaults drops it;
        # without it the file could not be read back.
        settings.pop("kind", None)
        settings.pop("name", None)
        columns.append({"name": column.name, "kind": column.kind, **settings})
    return {"columns": columns}


def _document(
    spec: SchemaSpec | dict[str, Any], name: str | None, description: str | None
) -> dict[str, Any]:
    head: dict[str, Any] = {}
    if name is not None:
        head["name"] = name
    if description is not None:
        head["description"] = description
    return {**head, **spec_to_data(spec)}


def spec_to_json(
    spec: SchemaSpec | dict[str, Any],
    *,
    name: str | None = None,
    description: str | None = None,
) -> str:
    return json.dumps(_document(spec, name, description), ensure_ascii=False, indent=2) + "\n"


class _ReadableDumper(yaml.SafeDumper):
    """SafeDumper writing multi-line text (prompts) as ``|`` blocks, as a person would.

    A subclass rather than ``yaml.add_representer`` on SafeDumper itself, which
    would change every other ``yaml.safe_dump`` in the process.
    """


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted style by itself when a block cannot hold
    # the text exactly (e.g. trailing spaces on a line).
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ReadableDumper.add_representer(str, _represent_str)


def spec_to_yaml(
    spec: SchemaSpec | dict[str, Any],
    *,
    name: str | None = None,
    description: str | None = None,
) -> str:
    return yaml.dump(
        _document(spec, name, description),
        Dumper=_ReadableDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )


def _load(text: str) -> object:
    """JSON when the text looks like JSON, else YAML; SchemaError naming the line."""
    json_error: json.JSONDecodeError | None = None
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            # Might still be YAML flow style ({columns: [...]}); keep the
            # JSON message in case it is not.
            json_error = exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        if json_error is not None:
            raise SchemaError(
                f"JSON syntax error on line {json_error.lineno}, column {json_error.colno}: "
                f"{json_error.msg}"
            ) from None
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        where = f" on line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SchemaError(f"YAML syntax error{where}: {problem}") from None
    _refuse_shared_nodes(data)
    return data


def _refuse_shared_nodes(data: object) -> None:
    """Refuse YAML aliases (``*name``) that reuse a list or mapping.

    Aliases let a few lines stand for billions of items ("billion laughs"),
    which validation would then walk one by one. A schema never needs them.
    """
    seen: set[int] = set()
    stack = [data]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict | list):
            continue
        if id(node) in seen:
            raise SchemaError("YAML aliases (*name) are not allowed in a schema file")
        seen.add(id(node))
        stack.extend(node.values() if isinstance(node, dict) else node)


def document_from_text(text: str) -> SchemaDocument:
    """Parse an exported (or hand-written) schema file; SchemaError with every problem."""
    data = _load(text)
    if not isinstance(data, dict):
        raise SchemaError("A schema file must be a mapping with a 'columns' list")
    body = dict(data)
    head: dict[str, str | None] = {}
    for key in ("name", "description"):
        value = body.pop(key, None)
        if value is not None and not isinstance(value, str):
            raise SchemaError(f"The schema's {key} must be text")
        if value is not None and "\x00" in value:
            raise SchemaError(f"The schema's {key} cannot contain NUL characters (\\u0000)")
        head[key] = value
    return SchemaDocument(spec=parse_spec(body), name=head["name"], description=head["description"])


def spec_from_text(text: str) -> SchemaSpec:
    """The spec of a schema file (its name and description, if any, are ignored)."""
    return document_from_text(text).spec
