"""LLM structured: a JSON object following a schema, typed as answer fields or as JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from django import forms

from studio.schema import LlmStructuredColumn

from .base import ColumnKind, KindField, ParsedTextField, lines
from .llm import HEAD, MAX_REASKS, TAIL, llm_initial, llm_spec, max_reasks

JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object")
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_json_schema(raw: str) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"Not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        ) from exc
    if not isinstance(value, dict):
        raise ValueError("A JSON schema is an object: {…}.")
    return value


def parse_schema_fields(raw: str) -> dict[str, Any] | None:
    """``reasoning: string — why`` per line → an object schema requiring every field."""
    if not lines(raw):
        return None
    properties: dict[str, Any] = {}
    for number, line in enumerate(lines(raw), 1):
        field, colon, rest = line.partition(":")
        kind, _, description = rest.replace("—", "-").partition("-")
        kind = kind.strip() or "string"
        if not colon or not field.strip():
            raise ValueError(f"Line {number}: write 'name: type - description'.")
        if kind not in JSON_TYPES:
            raise ValueError(f"Line {number}: '{kind}' is not one of {', '.join(JSON_TYPES)}.")
        spec: dict[str, Any] = {"type": kind}
        if description.strip():
            spec["description"] = description.strip()
        properties[field.strip()] = spec
    return {"type": "object", "properties": properties, "required": list(properties)}


def fields_from_schema(schema: dict[str, Any]) -> str | None:
    """The "Answer fields" text that ``parse_schema_fields`` turns into exactly this schema, or
    None when the schema says more than answer fields can (nesting, enums, optional fields...)."""
    properties = schema.get("properties")
    if set(schema) != {"type", "properties", "required"} or schema["type"] != "object":
        return None
    if not isinstance(properties, dict) or not properties:
        return None
    if schema["required"] != list(properties):
        return None
    text = []
    for name, spec in properties.items():
        if not isinstance(spec, dict) or not _FIELD_NAME.fullmatch(name):
            return None
        if not set(spec) <= {"type", "description"} or spec.get("type") not in JSON_TYPES:
            return None
        description = spec.get("description")
        if description is None:
            text.append(f"{name}: {spec['type']}")
            continue
        if (
            not isinstance(description, str)
            or description != description.strip()
            or not description
            or "\n" in description
            or "—" in description
        ):
            return None
        text.append(f"{name}: {spec['type']} — {description}")
    return "\n".join(text)


SCHEMA_FIELDS = KindField(
    "schema_fields",
    ParsedTextField(
        parse_schema_fields,
        label="Answer fields",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: 'reasoning: string — why'. Types: " + ", ".join(JSON_TYPES),
    ),
    full=True,
)
JSON_SCHEMA = KindField(
    "json_schema",
    ParsedTextField(
        parse_json_schema,
        label="…or a JSON schema",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="Takes precedence over the fields when given",
    ),
    full=True,
)


def to_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    spec = llm_spec(data, 0.7)
    spec["json_schema"] = data.get("json_schema") or data.get("schema_fields") or {}
    spec["max_reasks"] = max_reasks(data)
    return spec


def to_initial(column: Mapping[str, Any]) -> dict[str, Any]:
    initial = llm_initial(column)
    # Shown as it was typed: answer fields when they can say it exactly, else the JSON.
    fields = fields_from_schema(column.get("json_schema") or {})
    if fields is None:
        initial["json_schema"] = json.dumps(column.get("json_schema", {}), indent=2)
    else:
        initial.update(schema_fields=fields, json_schema="")
    return initial


KIND = ColumnKind(
    name="llm_structured",
    label="LLM structured (JSON schema)",
    group="Language model",
    spec_model=LlmStructuredColumn,
    fields=(*HEAD, SCHEMA_FIELDS, JSON_SCHEMA, MAX_REASKS, *TAIL),
    to_spec=to_spec,
    to_initial=to_initial,
)
