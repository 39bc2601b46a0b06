"""Schema files: YAML and JSON export, import with detection, exact round trips."""

import json
from typing import Any

import pytest
import yaml

from studio.schema import KINDS, SchemaError, parse_spec
from studio.schema.serialization import (
    SchemaDocument,
    document_from_text,
    spec_from_text,
    spec_to_data,
    spec_to_json,
    spec_to_yaml,
)

LLM: dict[str, Any] = {"credential_id": 3, "model": "gpt-x"}

EVERY_KIND: dict[str, Any] = {
    "columns": [
        {"name": "topic", "kind": "category", "values": ["yes", "no", "null", "2024-01-01"]},
        {
            "name": "sub",
            "kind": "subcategory",
            "parent": "topic",
            "values": {"yes": ["a", "b"], "no": ["c"], "null": ["d"], "2024-01-01": ["e"]},
            "weights": {"yes": [1, 2.5]},
        },
        {
            "name": "n",
            "kind": "integer",
            "low": -5,
            "high": 5,
            "distribution": "gaussian",
            "stddev": 2,
        },
        {"name": "x", "kind": "float", "low": 0, "high": 1, "decimals": 3},
        {"name": "flag", "kind": "boolean", "probability": 0.25, "drop": True},
        {"name": "when", "kind": "datetime", "start": "2024-01-01", "end": "2024-12-31T23:59"},
        {"name": "who", "kind": "person", "field": "email", "locale": "ja_JP"},
        {"name": "id", "kind": "uuid"},
        {
            "name": "rows",
            "kind": "seed_data",
            "seed_file_id": 9,
            "fields": ["question", "gold"],
            "sampling": "ordered",
        },
        {"name": "doc", "kind": "document", "seed_file_id": 10, "chunk_size": 800},
        {
            "name": "draft",
            "kind": "llm_text",
            **LLM,
            "system_prompt": "  Leading spaces\nand trailing spaces   \nend",
            "prompt": "Topic: {{ topic }} / {{ sub }}\n\nQuestion: {{ question }}\n",
            "temperature": 1.1,
        },
        {
            "name": "answer",
            "kind": "llm_structured",
            **LLM,
            "prompt": "{{ draft }}\n{{ doc }}",
            "json_schema": {
                "type": "object",
                "properties": {
                    "reasoning": {"type": "string"},
                    "answer": {"type": "string", "enum": ["yes", "no"]},
                },
                "required": ["reasoning", "answer"],
            },
            "max_reasks": 0,
        },
        {
            "name": "judge",
            "kind": "llm_judge",
            **LLM,
            "prompt": "Q: {{ question }}\nA: {{ answer.answer }}\nGold: {{ gold }}",
            "criteria": [
                {"name": "correct", "description": "Matches the gold answer."},
                {
                    "name": "tone",
                    "description": "Polite: ünïcödé ✓",
                    "min_score": 0,
                    "max_score": 3,
                },
            ],
            "pass_threshold": 2.5,
        },
        {
            "name": "summary",
            "kind": "expression",
            "template": "{{ judge.score }}\t{{ answer.reasoning }} {{ n }} {{ x }} {{ flag }} "
            "{{ when }} {{ who }} {{ id }}",
        },
    ]
}


def test_the_fixture_uses_every_kind() -> None:
    assert {c["kind"] for c in EVERY_KIND["columns"]} == set(KINDS)


@pytest.mark.parametrize("export", [spec_to_yaml, spec_to_json])
def test_export_then_import_is_exact_for_every_kind(export: Any) -> None:
    spec = parse_spec(EVERY_KIND)
    text = export(spec)
    again = spec_from_text(text)
    assert again.model_dump() == spec.model_dump()
    assert again == spec
    # And the second export is identical to the first.
    assert export(again) == text


def test_exports_are_compact_and_readable() -> None:
    data = spec_to_data(EVERY_KIND)
    uuid_column = next(c for c in data["columns"] if c["name"] == "id")
    assert uuid_column == {"name": "id", "kind": "uuid"}
    for column in data["columns"]:
        assert list(column)[:2] == ["name", "kind"]
        assert "drop" not in column or column["drop"] is True
    text = spec_to_yaml(EVERY_KIND)
    assert "prompt: |" in text  # multi-line prompts are blocks, not escaped strings
    assert "ünïcödé ✓" in text
    assert json.loads(spec_to_json(EVERY_KIND)) == data


def test_name_and_description_travel_with_the_file() -> None:
    for export in (spec_to_yaml, spec_to_json):
        text = export(EVERY_KIND, name="My set", description="Line one\nline two")
        document = document_from_text(text)
        assert isinstance(document, SchemaDocument)
        assert (document.name, document.description) == ("My set", "Line one\nline two")
        assert document.spec == parse_spec(EVERY_KIND)
    plain = document_from_text(spec_to_yaml(EVERY_KIND))
    assert (plain.name, plain.description) == (None, None)


def test_hand_written_yaml_with_unquoted_dates() -> None:
    text = """
name: Dates
columns:
  - name: when
    kind: datetime
    start: 2024-01-01
    end: 2024-06-30
"""
    document = document_from_text(text)
    assert document.name == "Dates"
    column = document.spec.column("when")
    assert (column.start, column.end) == ("2024-01-01", "2024-06-30")  # type: ignore[union-attr]


def test_yaml_flow_style_that_looks_like_json_is_still_read() -> None:
    spec = spec_from_text("{columns: [{name: id, kind: uuid}]}")
    assert spec.output_columns() == ["id"]


def test_yaml_syntax_error_names_the_line() -> None:
    text = "columns:\n  - name: a\n    kind: uuid\n   bad: [\n"
    with pytest.raises(SchemaError) as info:
        spec_from_text(text)
    (message,) = info.value.messages
    assert message.startswith("YAML syntax error on line 4, column 4: ")


def test_json_syntax_error_names_the_line() -> None:
    with pytest.raises(SchemaError) as info:
        spec_from_text('{"columns": [\n  {"name": "a" "kind": "uuid"}\n]}')
    assert info.value.messages == [
        "JSON syntax error on line 2, column 16: Expecting ',' delimiter"
    ]
    # A trailing comma is fine: YAML (of which JSON is nearly a subset) reads it.
    assert spec_from_text('{"columns": [{"name": "a", "kind": "uuid"},]}')


def test_schema_problems_come_from_parse_spec() -> None:
    with pytest.raises(SchemaError) as info:
        spec_from_text("columns:\n  - name: a\n    kind: nope\n")
    assert info.value.messages[0].startswith("Column 'a': kind — unknown kind 'nope'")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- just\n- a list\n", "A schema file must be a mapping with a 'columns' list"),
        ("", "A schema file must be a mapping with a 'columns' list"),
        ("name: [1]\ncolumns: []\n", "The schema's name must be text"),
        (
            "columns:\n  - name: id\n    kind: uuid\nextra: 1\n",
            "extra — Extra inputs are not permitted",
        ),
    ],
)
def test_file_shape_errors(text: str, message: str) -> None:
    with pytest.raises(SchemaError) as info:
        spec_from_text(text)
    assert info.value.messages == [message]


def test_yaml_aliases_are_refused() -> None:
    # A "billion laughs" document: each level references the previous one ten times.
    levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        levels.append(
            f"l{i}: &l{i} [" + ", ".join([f"*{'a' if i == 1 else f'l{i - 1}'}"] * 10) + "]"
        )
    text = "\n".join(levels) + "\ncolumns: *l8\n"
    with pytest.raises(SchemaError) as info:
        spec_from_text(text)
    assert info.value.messages == ["YAML aliases (*name) are not allowed in a schema file (line 2)"]


def test_only_safe_yaml_is_loaded() -> None:
    with pytest.raises(SchemaError, match="YAML syntax error"):
        spec_from_text("columns: !!python/object/apply:os.system ['true']\n")


def test_export_validates_raw_dicts() -> None:
    with pytest.raises(SchemaError):
        spec_to_yaml({"columns": [{"name": "a", "kind": "nope"}]})
    assert yaml.safe_load(spec_to_yaml({"columns": [{"name": "a", "kind": "uuid"}]})) == {
        "columns": [{"name": "a", "kind": "uuid"}]
    }
