"""A column's value (or its text, parsed as JSON) validated against a JSON schema."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from pydantic import field_validator

from evaluation.metrics.json_check import JsonCheck, schema_problems
from studio.kinds.base import KindField, ParsedTextField

from .base import COLUMN, EvaluationKind, KindSettings, RowInput, ScoreResult


class JsonSchemaSettings(KindSettings):
    json_schema: dict[str, Any]

    @field_validator("json_schema")
    @classmethod
    def _usable(cls, schema: dict[str, Any]) -> dict[str, Any]:
        problems = schema_problems(schema)
        if problems:
            raise ValueError("; ".join(problems))
        return schema


def score(settings: JsonSchemaSettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    check = JsonCheck(settings.json_schema)
    results = []
    for row in rows:
        violation = check.check(row.values.get(settings.column))
        if violation is None:
            results.append(ScoreResult(1.0, True, {"rule": "valid"}))
        else:
            detail = {
                "violation": violation.message[:500],
                "at": violation.path,
                "rule": f"{violation.path}: {violation.message[:500]}",
            }
            results.append(ScoreResult(0.0, False, detail))
    return results


def parse_schema(text: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"Not JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise ValueError('A JSON schema is an object: {"type": "object", …}')
    return schema


SCHEMA = KindField(
    "json_schema",
    ParsedTextField(
        parse_schema,
        required=True,
        label="JSON schema",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text='A JSON Schema (Draft 2020-12), e.g. {"type": "object", "required": ["name"]}. '
        "Text values are parsed as JSON first.",
    ),
    full=True,
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"column": data.get("column"), "json_schema": data.get("json_schema")}


def to_initial(settings: Mapping[str, Any]) -> dict[str, Any]:
    schema = settings.get("json_schema")
    return {"json_schema": json.dumps(schema, indent=2)} if schema is not None else {}


KIND = EvaluationKind(
    name="json_schema",
    label="JSON schema",
    group="Reference-free checks",
    description="1 when the column is valid against the JSON schema (a text column is parsed "
    "as JSON first); the detail names the first violation.",
    settings_model=JsonSchemaSettings,
    fields=(COLUMN, SCHEMA),
    to_settings=to_settings,
    to_initial=to_initial,
    score=score,
    scale=(0.0, 1.0),
)
