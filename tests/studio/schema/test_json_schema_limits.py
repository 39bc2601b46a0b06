"""Issue 15 items 5 and 6, at save time: a structured column's JSON schema cannot hold a pattern
that stalls a process or size constraints that exhaust one; the message names the column."""

import jsonschema._keywords
import jsonschema._utils
import pytest

from studio.schema import SchemaError, parse_spec
from studio.schema.json_schema_limits import (
    MAX_MIN_COUNT,
    MAX_SCHEMA_DEPTH,
    SafeValidator,
    json_schema_limit_problems,
)

CATASTROPHIC = "^(a+)+$"  # Python's re backtracks exponentially on 'aaaa…a!'


def spec_with(json_schema):
    column = {
        "name": "answer",
        "kind": "llm_structured",
        "credential_id": 1,
        "model": "m",
        "prompt": "p",
        "json_schema": json_schema,
    }
    return {"columns": [column]}


def obj(**properties):
    return {"type": "object", "properties": properties, "required": list(properties)}


@pytest.mark.parametrize(
    ("json_schema", "expected"),
    [
        (obj(a={"type": "string", "pattern": r"(a)\1"}), "pattern '(a)\\\\1' at properties.a"),
        (obj(a={"type": "string", "pattern": "(?=x)"}), "RE2"),
        ({**obj(a={}), "patternProperties": {"(?<=x)y": {}}}, "cannot be used"),
        (obj(a={"type": "string", "pattern": "(" * 3000 + ")" * 3000}), "too complex"),
        (obj(a={"type": "string", "pattern": "a" * 1001}), "at most 1,000 characters"),
        (obj(a={"type": "array", "minItems": 10_000_000}), "minItems at properties.a"),
        (obj(a={"type": "string", "minLength": 10**7}), "minLength at properties.a"),
        (obj(a={"type": "object", "minProperties": 10**6}), "minProperties"),
        (obj(a={"type": "array", "maxItems": 10**40}), "maxItems at properties.a"),
        (
            obj(
                a={"type": "array", "minItems": 900, "items": {"type": "string", "minLength": 900}}
            ),
            "accepts no answer shorter than",
        ),
        (
            {**obj(a={"$ref": "#"}, b={"$ref": "#"}, c={"$ref": "#"})},
            "accepts no answer shorter than",
        ),
        (
            {**obj(a={}), "patternProperties": {"x": {}}, "unevaluatedProperties": False},
            "patternProperties with unevaluatedProperties",
        ),
    ],
)
def test_a_schema_that_could_stall_or_exhaust_a_worker_is_refused_naming_the_column(
    json_schema, expected
):
    with pytest.raises(SchemaError) as caught:
        parse_spec(spec_with(json_schema))
    message = " ".join(caught.value.messages)
    assert "Column 'answer': json_schema" in message
    assert expected in message


def test_a_deeply_nested_schema_is_refused_and_a_reasonable_one_accepted():
    deep = {"type": "string"}
    for _ in range(MAX_SCHEMA_DEPTH + 2):
        deep = obj(a=deep)
    assert any("nested more than" in p for p in json_schema_limit_problems(deep))
    fine = obj(
        tags={"type": "array", "minItems": 3, "items": {"type": "string", "pattern": "^[a-z]+$"}},
        code={"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$", "minLength": 8},
        n={"type": "array", "minItems": MAX_MIN_COUNT, "items": {"type": "integer"}},
    )
    assert json_schema_limit_problems(fine) == []
    parse_spec(spec_with(fine))


def test_patterns_are_matched_with_re2_never_with_pythons_backtracking_re(monkeypatch):
    class NoBacktracking:
        def search(self, *args, **kwargs):
            raise AssertionError("Python's re was used to match a JSON-schema pattern")

    monkeypatch.setattr(jsonschema._keywords, "re", NoBacktracking())
    monkeypatch.setattr(jsonschema._utils, "re", NoBacktracking())
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "pattern": CATASTROPHIC}},
        "patternProperties": {"^x_(b+)+$": {"type": "integer"}},
        "additionalProperties": False,
    }
    validator = SafeValidator(schema)
    hostile = "a" * 5000 + "!"  # minutes (exponential) with re, linear with RE2
    errors = list(validator.iter_errors({"a": hostile, "x_bb": "no", "other": 1}))
    messages = sorted(e.message for e in errors)
    assert len(messages) == 3
    assert any("does not match" in m for m in messages)
    assert any("'other'" in m and "do not match any of the regexes" in m for m in messages)
    assert any("is not of type 'integer'" in m for m in messages)
    assert list(validator.iter_errors({"a": "aaa", "x_b": 3})) == []
