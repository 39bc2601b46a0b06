"""Schemas as files: export to YAML or JSON, import either (detected), exactly round-tripping.

Exports leave out settings that equal their defaults (``drop: false``,
``weights: null`` ...) so a file reads like what the user designed; ``name``
and ``kind`` always come first. Importing fills the defaults back in, so
export → import gives an equal spec.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from .errors import SchemaError
from .spec import SchemaSpec, parse_spec

__all__ = [
    "MAX_SCHEMA_TEXT_CHARS",
    "SchemaDocument",
    "document_from_text",
    "spec_from_text",
    "spec_to_data",
    "spec_to_json",
    "spec_to_yaml",
]


# The longest schema text imported, pasted or uploaded, on the page and through the API
# alike (a schema of the largest allowed size exports to a fraction of this).
MAX_SCHEMA_TEXT_CHARS = 1_000_000
# Lists and mappings inside each other: JSON schemas of structured columns nest, but not
# this deep; deeper would exhaust the stack of whatever walks the spec next.
MAX_SCHEMA_NESTING = 64
# Python refuses to convert longer integers from text (sys.get_int_max_str_digits).
_MAX_INT_DIGITS = 4300
_BRACKET = re.compile(r"[\[\]{}]")


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


def _parse_int(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_INT_DIGITS:
        raise SchemaError(
            f"The schema has an integer of {len(digits.lstrip('-')):,} digits; "
            f"at most {_MAX_INT_DIGITS:,} are allowed"
        )
    return int(digits)


def _load(text: str) -> object:
    """JSON when the text looks like JSON, else YAML; SchemaError naming the line."""
    json_error: json.JSONDecodeError | None = None
    if text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text, parse_int=_parse_int)
        except json.JSONDecodeError as exc:
            # Might still be YAML flow style ({columns: [...]}); keep the
            # JSON message in case it is not.
            json_error = exc
    try:
        _refuse_aliases(text)
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
    except SchemaError:
        raise
    except ValueError as exc:
        # PyYAML converts integers with int(), past Python's digit limit a ValueError.
        raise SchemaError(f"The schema has a value that cannot be read: {exc}") from None
    return data


def _refuse_aliases(text: str) -> None:
    """Refuse YAML aliases (``*name``) before anything is built from them.

    Aliases let a few lines stand for billions of items ("billion laughs"), and merge keys
    (``<<: *name``) copy them at each level. A schema never needs them.
    """
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else 0
            raise SchemaError(
                f"YAML aliases (*name) are not allowed in a schema file (line {line})"
            )


def _check_tree(data: object) -> None:
    """Refuse what the database or the code after us cannot take: shared nodes (JSON cannot
    make them, YAML aliases are refused earlier), nesting past MAX_SCHEMA_NESTING, NUL
    characters and lone surrogates in text."""
    seen: set[int] = set()
    stack: list[tuple[object, int, str]] = [(data, 1, "")]
    while stack:
        node, depth, where = stack.pop()
        if isinstance(node, str):
            _check_text(node, where)
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > MAX_SCHEMA_NESTING:
            raise SchemaError(
                f"The schema nests lists or mappings more than {MAX_SCHEMA_NESTING} levels deep"
            )
        if id(node) in seen:
            raise SchemaError("YAML aliases (*name) are not allowed in a schema file")
        seen.add(id(node))
        if isinstance(node, dict):
            for key, value in node.items():
                here = f"{where}.{key}" if where else str(key)
                stack.append((key, depth + 1, where or "a key"))
                stack.append((value, depth + 1, here))
        else:
            stack.extend(
                (child, depth + 1, f"{where}.{i}" if where else str(i))
                for i, child in enumerate(node)
            )


def _check_text(text: str, where: str) -> None:
    """``where`` is the dotted place of the text in the schema (``columns.0.prompt``)."""
    # Keys are the sender's text too: no NUL nor lone surrogate in the message itself.
    place = (where or "the schema").replace("\x00", "")
    place = place.encode("utf-8", "backslashreplace").decode("utf-8")
    if "\x00" in text:
        raise SchemaError(f"{place}: text cannot contain NUL characters (\\u0000)")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise SchemaError(
                f"{place}: text contains an unpaired surrogate (\\ud800-\\udfff), which is "
                "not a character"
            ) from None


def _check_brackets(text: str) -> None:
    """Refuse ``[[[[...`` past MAX_SCHEMA_NESTING before a parser sees it: PyYAML (and
    libyaml) take quadratic time over nested flow collections (100 000 levels: a minute).

    Brackets inside quoted text count too; no schema has 64 unclosed ones in a prompt.
    """
    depth = 0
    for match in _BRACKET.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > MAX_SCHEMA_NESTING:
            line = text.count("\n", 0, match.start()) + 1
            raise SchemaError(
                f"The schema nests lists or mappings more than {MAX_SCHEMA_NESTING} levels "
                f"deep (line {line})"
            )


def _parse(text: str) -> object:
    if len(text) > MAX_SCHEMA_TEXT_CHARS:
        raise SchemaError(
            f"The schema text is {len(text):,} characters; the limit is {MAX_SCHEMA_TEXT_CHARS:,}"
        )
    _check_brackets(text)
    try:
        data = _load(text)
    except RecursionError:
        raise SchemaError(
            f"The schema nests lists or mappings more than {MAX_SCHEMA_NESTING} levels deep"
        ) from None
    _check_tree(data)
    return data


def document_from_text(text: str) -> SchemaDocument:
    """Parse an exported (or hand-written) schema file; SchemaError with every problem."""
    data = _parse(text)
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
