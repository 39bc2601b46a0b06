"""References inside a structured column's JSON schema: a recursive or dangling ``$ref`` is
refused when the schema is saved, naming the column and the place; pure, no database."""

import pytest

from studio.schema import SchemaError, parse_spec


def structured(json_schema):
    return {
        "columns": [
            {
                "name": "answer",
                "kind": "llm_structured",
                "credential_id": 1,
                "model": "m",
                "prompt": "Answer",
                "json_schema": json_schema,
            }
        ]
    }


def problems(json_schema):
    with pytest.raises(SchemaError) as caught:
        parse_spec(structured(json_schema))
    return caught.value.messages


@pytest.mark.parametrize(
    "json_schema",
    [
        {"type": "object", "properties": {"child": {"$ref": "#"}}},
        {
            "type": "object",
            "$defs": {"node": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            "properties": {"tree": {"$ref": "#/$defs/node"}},
        },
        {
            "type": "object",
            "$defs": {
                "a": {"type": "object", "properties": {"b": {"$ref": "#/$defs/b"}}},
                "b": {"type": "object", "properties": {"a": {"$ref": "#/$defs/a"}}},
            },
            "properties": {"start": {"$ref": "#/$defs/a"}},
        },
        # A property that happens to be called like a keyword is still a schema.
        {"type": "object", "properties": {"enum": {"$ref": "#"}}},
    ],
)
def test_a_recursive_reference_is_refused_naming_the_column(json_schema):
    messages = problems(json_schema)
    assert messages
    assert all(m.startswith("Column 'answer': json_schema: ") for m in messages)
    assert any("loop of references" in m for m in messages)


def test_a_reference_to_a_place_the_schema_does_not_have_is_refused():
    messages = problems(
        {"type": "object", "properties": {"x": {"$ref": "#/$defs/missing"}, "y": {"$ref": "#a"}}}
    )
    assert messages == [
        "Column 'answer': json_schema: properties.x refers to '#/$defs/missing', which is not "
        "a place in this schema (write #/$defs/name)",
        "Column 'answer': json_schema: properties.y refers to '#a', which is not a place in "
        "this schema (write #/$defs/name)",
    ]


def test_shared_definitions_without_a_loop_are_accepted():
    spec = parse_spec(
        structured(
            {
                "type": "object",
                "$defs": {
                    "name": {"type": "string"},
                    "person": {
                        "type": "object",
                        "properties": {"first": {"$ref": "#/$defs/name"}},
                    },
                },
                "properties": {
                    "author": {"$ref": "#/$defs/person"},
                    "editor": {"$ref": "#/$defs/person"},
                    "tags": {"type": "array", "items": {"$ref": "#/$defs/name"}},
                },
            }
        )
    )
    assert spec.column("answer").value_fields() == ["author", "editor", "tags"]
