"""Structured answers: parsing, schema validation in plain words, re-asking; pure, then end to
end through both SDKs against the fake server's schema-breaking knob."""

import json

import pytest
from jsonschema.exceptions import SchemaError

from generation.providers import (
    Completion,
    CompletionRequest,
    ProviderConfig,
    ProviderError,
    build_provider,
)
from generation.structured import (
    REASK_AFTER,
    REASK_BEFORE,
    check_schema,
    complete_structured,
    reask_messages,
    validate_answer,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string"},
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
            },
        },
    },
    "required": ["reasoning", "score"],
}
VALID = {"reasoning": "because", "score": 3}


@pytest.mark.parametrize(
    "text",
    [
        json.dumps(VALID),
        "```json\n" + json.dumps(VALID) + "\n```",
        "```\n" + json.dumps(VALID) + "```",
        "Here is the JSON you asked for:\n" + json.dumps(VALID, indent=2),
        json.dumps(VALID) + "\n\nLet me know if you need more.",
        "Sure! ```json\n" + json.dumps(VALID) + "\n``` Hope that helps.",
    ],
)
def test_json_is_found_in_fences_and_after_prose(text):
    assert validate_answer(text, SCHEMA) == (VALID, None)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "not JSON: Expecting value at line 1 column 1"),
        ("I cannot answer that.", "not JSON: Expecting value at line 1 column 1"),
        ('{"reasoning": "x", "score": ', "not JSON: Expecting value at line 1 column 28"),
        ('{"score": 3}', "property 'reasoning' is required"),
        ("{}", "property 'reasoning' is required, property 'score' is required"),
        ('{"reasoning": "x", "score": 9}', "9 is greater than the maximum of 5 at $.score"),
        ('{"reasoning": "x", "score": "high"}', "'high' is not of type 'integer' at $.score"),
        (
            '{"reasoning": "x", "score": 2, "items": [{"name": "a"}, {}]}',
            "property 'name' is required at $.items[1]",
        ),
        ("[1, 2]", "[1, 2] is not of type 'object'"),
    ],
)
def test_errors_are_plain_words_a_model_can_act_on(text, error):
    assert validate_answer(text, SCHEMA) == (None, error)


def test_several_errors_are_listed_and_long_values_shortened():
    text = json.dumps({"reasoning": 1, "score": "x" * 1000})
    parsed, error = validate_answer(text, SCHEMA)
    assert parsed is None
    assert "1 is not of type 'string' at $.reasoning" in error
    assert "is not of type 'integer' at $.score" in error
    assert len(error) < 700


def test_an_invalid_schema_is_the_callers_error():
    assert check_schema({"type": "objekt"}) is not None
    assert check_schema(SCHEMA) is None
    with pytest.raises(SchemaError):
        validate_answer("{}", {"type": "objekt"})


def test_a_reask_appends_the_bad_answer_and_the_correction():
    request = CompletionRequest(model="m", prompt="Rate it", system="S", json_schema=SCHEMA)
    bad = 'Sure: {"score": 3} {{ not a template }}'
    again = reask_messages(request, bad, "property 'reasoning' is required")
    assert again.messages() == [
        {"role": "user", "content": "Rate it"},
        {"role": "assistant", "content": bad},
        {
            "role": "user",
            "content": REASK_BEFORE + "property 'reasoning' is required" + REASK_AFTER,
        },
    ]
    assert again.messages()[-1]["content"] == (
        "Your answer did not match the required JSON schema: property 'reasoning' is required. "
        "Reply again with only a JSON object that satisfies the schema."
    )
    assert (again.system, again.json_schema, again.model) == ("S", SCHEMA, "m")
    assert request.messages() == [{"role": "user", "content": "Rate it"}]  # unchanged
    assert reask_messages(request, "  ", "x").messages()[1]["content"] == "(empty answer)"


def completion(text: str) -> Completion:
    return Completion(text=text, input_tokens=10, output_tokens=5, latency_ms=1)


async def test_complete_structured_reasks_until_the_answer_is_valid():
    answers = iter(["no JSON here", '{"score": 3}', json.dumps(VALID)])
    seen: list[CompletionRequest] = []

    async def call(request: CompletionRequest) -> Completion:
        seen.append(request)
        return completion(next(answers))

    request = CompletionRequest(model="m", prompt="Rate it", json_schema=SCHEMA)
    result = await complete_structured(call, request, max_reasks=2)
    assert result.ok and result.parsed == VALID and result.error is None
    assert [len(r.messages()) for r in seen] == [1, 3, 5]
    assert len(result.attempts) == 3 and result.attempts[-1].parsed == VALID
    assert result.text == json.dumps(VALID)


async def test_complete_structured_gives_up_keeping_the_last_text_and_error():
    async def call(request: CompletionRequest) -> Completion:
        return completion('{"score": 3}')

    request = CompletionRequest(model="m", prompt="Rate it", json_schema=SCHEMA)
    result = await complete_structured(call, request, max_reasks=1)
    assert not result.ok and result.parsed is None
    assert result.text == '{"score": 3}'
    assert result.error == "property 'reasoning' is required"
    assert len(result.attempts) == 2
    no_reask = await complete_structured(call, request, max_reasks=0)
    assert len(no_reask.attempts) == 1


async def test_complete_structured_lets_provider_errors_through_and_needs_a_schema():
    async def call(request: CompletionRequest) -> Completion:
        raise ProviderError("boom", status=500, retryable=True)

    with pytest.raises(ProviderError, match="boom"):
        await complete_structured(
            call, CompletionRequest(model="m", prompt="x", json_schema=SCHEMA), max_reasks=2
        )
    with pytest.raises(ValueError):
        await complete_structured(call, CompletionRequest(model="m", prompt="x"), max_reasks=1)


@pytest.mark.parametrize("provider_name", ["openai_compatible", "anthropic"])
async def test_a_schema_breaking_answer_is_reasked_through_the_real_sdks(llm_server, provider_name):
    base_url = (
        llm_server.openai_base_url if provider_name == "openai_compatible" else llm_server.base_url
    )
    provider = build_provider(ProviderConfig(provider_name, "k", base_url, 5))
    llm_server.invalid_json_next(1)
    request = CompletionRequest(
        model="gpt-4o-mini", prompt="Rate this sentence", json_schema=SCHEMA, max_tokens=100
    )
    result = await complete_structured(provider.complete, request, max_reasks=2)
    await provider.aclose()
    assert result.ok, result.error
    assert set(result.parsed) == {"reasoning", "score"}
    assert len(result.attempts) == 2
    second = llm_server.generation_requests()[-1].body["messages"]
    assert second[-1]["content"].startswith(REASK_BEFORE + "property 'reasoning' is required")
    assert second[-2]["role"] == "assistant"
