"""A value checked against a JSON schema the user typed: the schema checked when the evaluation
is created (valid Draft 2020-12, within the limits a structured column's schema has, references
inside the schema only), each value with the validator a structured column uses, which matches
``pattern`` with RE2 (studio/schema/json_schema_limits.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from studio.schema.json_schema_limits import SafeValidator, json_schema_limit_problems
from studio.schema.json_schema_refs import ref_problems

MAX_SCHEMA_CHARS = 20_000
# A text longer than this is not parsed (a row's value is far smaller in practice).
MAX_TEXT_CHARS = 1_000_000


def schema_problems(schema: Mapping[str, Any]) -> list[str]:
    """Why ``schema`` cannot be used, each a sentence (empty when it can)."""
    # First, and without recursion: the checks below recurse.
    problems = [f"the schema {problem}" for problem in json_schema_limit_problems(schema)]
    if problems:
        return problems
    size = len(json.dumps(schema))
    if size > MAX_SCHEMA_CHARS:
        return [f"the schema is too large ({size:,} characters; at most {MAX_SCHEMA_CHARS:,})"]
    try:
        SafeValidator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = ".".join(str(part) for part in exc.absolute_path)
        at = f" (at {where})" if where else ""
        return [f"not a valid JSON Schema: {exc.message}{at}"]
    except RecursionError:
        return ["the schema is nested too deeply to check"]
    problems = [
        f"{where}: only references inside the schema (#/...) are allowed"
        for where in _non_local_refs(schema)
    ]
    return problems + [problem.removeprefix(": ") for problem in ref_problems(schema, "")]


def _non_local_refs(schema: object) -> Iterator[str]:
    """Where a ``$ref`` points outside the schema (validating it would fetch a URL)."""
    stack: list[tuple[object, str]] = [(schema, "")]
    while stack:
        node, path = stack.pop()
        items: list[tuple[str, object]] = []
        if isinstance(node, Mapping):
            items = [(str(key), value) for key, value in node.items()]
        elif isinstance(node, list):
            items = [(str(index), value) for index, value in enumerate(node)]
        for key, value in items:
            here = f"{path}.{key}" if path else key
            if key in ("$ref", "$dynamicRef") and not (
                isinstance(value, str) and value.startswith("#")
            ):
                yield here
            else:
                stack.append((value, here))


@dataclass(frozen=True)
class Violation:
    message: str
    path: str  # where in the value, "$" for the value itself


def _parsed(value: object) -> tuple[object, Violation | None]:
    if value is None:
        return None, Violation("the value is empty", "$")
    if not isinstance(value, str):
        return value, None  # a structured column's value is checked as it is
    text = value.strip()
    if not text:
        return None, Violation("the value is empty", "$")
    if len(text) > MAX_TEXT_CHARS:
        return None, Violation(f"the text is too long to parse ({len(text):,} characters)", "$")
    try:
        return json.loads(text), None
    except (ValueError, RecursionError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) else "nested too deeply"
        return None, Violation(f"not JSON: {reason}", "$")


class JsonCheck:
    """``check(value)``: None when the value (or its text, parsed as JSON) is valid, else the
    violation jsonschema ranks first (``best_match``: the least deep, outside any ``anyOf``)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self._validator = SafeValidator(schema)

    def check(self, value: object) -> Violation | None:
        instance, problem = _parsed(value)
        if problem is not None:
            return problem
        try:
            error = best_match(self._validator.iter_errors(instance))
        except RecursionError:
            return Violation("the value is nested too deeply to check", "$")
        if error is None:
            return None
        return Violation(error.message, error.json_path)
