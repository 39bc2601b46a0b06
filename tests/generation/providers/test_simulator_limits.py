"""Issue 15 items 5 and 6, at run time: the simulator builds no answer larger than its cap, and a
structured answer is validated with RE2 and within a size bound (also for schemas stored before
the save-time checks existed)."""

import json

import pytest

from generation.providers import CompletionRequest, ProviderConfig, ProviderError, build_provider
from generation.providers.simulator.schema_sample import (
    MAX_SAMPLE_CHARS,
    SampleTooLarge,
    sample_from_schema,
)
from generation.structured import MAX_ANSWER_CHARS, validate_answer


def obj(**properties):
    return {"type": "object", "properties": properties, "required": list(properties)}


@pytest.mark.parametrize(
    "schema",
    [
        obj(items={"type": "array", "minItems": 10_000_000}),  # was a 170 MB answer, +2 GB
        obj(text={"type": "string", "minLength": 10**12}),
        obj(grid={"type": "array", "minItems": 2000, "items": {"type": "array", "minItems": 2000}}),
        obj(loop={"$ref": "#"}),  # refers to itself: never ends
    ],
)
def test_the_simulator_refuses_a_schema_whose_smallest_answer_exceeds_its_cap(schema):
    with pytest.raises(SampleTooLarge, match="simulator|levels deep"):
        sample_from_schema(schema)


def test_the_simulator_still_builds_what_the_cap_allows():
    schema = obj(
        tags={"type": "array", "minItems": 50, "items": {"type": "string", "minLength": 9}}
    )
    value = sample_from_schema(schema, label="[simulated]")
    assert len(value["tags"]) == 50 and all(len(tag) >= 9 for tag in value["tags"])
    assert len(json.dumps(value)) < MAX_SAMPLE_CHARS


async def test_the_simulated_provider_fails_the_call_with_the_reason():
    provider = build_provider(ProviderConfig("simulator", ""))
    provider._latency = 0  # type: ignore[attr-defined]
    request = CompletionRequest(
        model="sim", prompt="p", json_schema=obj(items={"type": "array", "minItems": 10**7})
    )
    with pytest.raises(ProviderError, match="Simulated provider: the smallest answer"):
        await provider.complete(request)


def test_a_stored_schema_with_a_pattern_re2_cannot_run_is_refused_before_any_call():
    from jsonschema.exceptions import SchemaError

    schema = obj(a={"type": "string", "pattern": r"(a)\1"})
    with pytest.raises(SchemaError, match="RE2"):
        validate_answer('{"a": "aa"}', schema)


def test_a_catastrophic_pattern_and_absurd_answers_are_answered_with_a_message():
    schema = obj(a={"type": "string", "pattern": "^(a+)+$"})
    value, error = validate_answer(json.dumps({"a": "a" * 20_000 + "!"}), schema)
    assert value is None and "does not match" in error
    value, error = validate_answer("[" * 100_000 + "]" * 100_000, schema)
    assert value is None and "nested too deeply" in error
    value, error = validate_answer(" " * (MAX_ANSWER_CHARS + 1), schema)
    assert value is None and f"{MAX_ANSWER_CHARS:,}" in error
