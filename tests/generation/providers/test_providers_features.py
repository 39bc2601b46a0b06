"""Conversations, structured output, embeddings and connection checks through the real SDKs
against the local fake server; the request type's compatibility and ledger key."""

import hashlib
import json

import pytest

from generation.providers import (
    CompletionRequest,
    EmbeddingRequest,
    Message,
    ProviderConfig,
    ProviderError,
    build_provider,
)
from generation.providers.base import project_ledger_key
from generation.providers.simulator.online import CONNECTION_MESSAGE, SIMULATED_PREFIX

SCHEMA = {
    "type": "object",
    "properties": {
        "question": {"type": "string"},
        "difficulty": {"type": "string", "enum": ["easy", "hard"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
    },
    "required": ["question", "difficulty", "tags"],
}
CONVERSATION = (
    Message("user", "Name a planet."),
    Message("assistant", "Mars."),
    Message("user", "Now a moon of it."),
)


def openai_provider(llm_server, key="sk-good"):
    return build_provider(ProviderConfig("openai_compatible", key, llm_server.openai_base_url, 5))


def anthropic_provider(llm_server, key="sk-ant-good"):
    return build_provider(ProviderConfig("anthropic", key, llm_server.base_url, 5))


def test_prompt_keyword_still_makes_a_single_user_message():
    old = CompletionRequest(model="m", prompt="Hi", system="S", temperature=0.2, max_tokens=9)
    new = CompletionRequest(model="m", prompt="Hi", system="S", temperature=0.2, max_tokens=9)
    assert old.messages() == new.messages() == [{"role": "user", "content": "Hi"}]
    assert old.prompt == new.prompt == "Hi"
    assert old.ledger_key(
        project_id=1, provider="openai", base_url=None, sample="1"
    ) == new.ledger_key(project_id=1, provider="openai", base_url=None, sample="1")


def test_the_ledger_key_of_a_plain_request_is_its_old_key_scoped_to_the_project():
    # The hash that existing ledger entries were recorded under (before conversations and
    # schemas existed), then scoped to their project by migration generation 0006 with the
    # same formula: a resumed run must still find them.
    request = CompletionRequest(model="gpt-4o-mini", prompt="Write a question about space")
    old = "ae87a7ff5a76636b5c30a86056a5c9e05fed1a881acd204359eb500c338147e1"
    assert request.request_key(provider="openai", base_url=None, sample="run-seed:1:0") == old
    assert request.ledger_key(
        project_id=7, provider="openai", base_url=None, sample="run-seed:1:0"
    ) == project_ledger_key(7, old)
    assert project_ledger_key(7, old) == hashlib.sha256(f"project:7:{old}".encode()).hexdigest()


def test_the_same_question_has_another_key_in_another_project():
    request = CompletionRequest(model="m", prompt="Hi")
    keys = {
        request.ledger_key(project_id=p, provider="openai", base_url=None, sample="s")
        for p in (1, 2, 12)
    }
    assert len(keys) == 3
    with pytest.raises(TypeError):
        request.ledger_key(project_id=None, provider="openai", base_url=None, sample="s")


def test_the_ledger_key_covers_the_conversation_and_the_schema():
    base = CompletionRequest(model="m", prompt="Now a moon of it.")
    multi = CompletionRequest(model="m", conversation=CONVERSATION)
    structured = CompletionRequest(model="m", prompt="Now a moon of it.", json_schema=SCHEMA)
    renamed = CompletionRequest(
        model="m", prompt="Now a moon of it.", json_schema=SCHEMA, schema_name="other"
    )
    keys = {
        r.ledger_key(project_id=1, provider="openai", base_url=None, sample="s")
        for r in (base, multi, structured, renamed)
    }
    assert len(keys) == 4
    assert multi.prompt == "Now a moon of it."  # the last user turn
    assert multi.with_turns(Message("assistant", "Phobos.")).messages()[-1]["content"] == "Phobos."


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
async def test_a_conversation_is_sent_turn_by_turn(llm_server, make):
    provider = make(llm_server)
    completion = await provider.complete(
        CompletionRequest(model="gpt-4o-mini", system="Be brief.", conversation=CONVERSATION)
    )
    await provider.aclose()
    sent = llm_server.generation_requests()[-1]
    turns = [(m["role"], m["content"]) for m in sent.body["messages"] if m["role"] != "system"]
    assert turns == [(m.role, m.content) for m in CONVERSATION]
    assert sent.system_prompt == "Be brief."
    assert "Now a moon of it." in completion.text
    assert completion.parsed is None


async def test_openai_structured_output_uses_response_format(llm_server):
    provider = openai_provider(llm_server)
    completion = await provider.complete(
        CompletionRequest(
            model="gpt-4o-mini", prompt="A quiz question", json_schema=SCHEMA, schema_name="quiz q"
        )
    )
    await provider.aclose()
    sent = llm_server.generation_requests()[-1].body
    assert sent["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "quiz_q", "schema": SCHEMA, "strict": False},
    }
    answer = json.loads(completion.text)
    assert set(answer) == {"question", "difficulty", "tags"}
    assert completion.parsed is None  # validation is not the provider's job


async def test_anthropic_structured_output_is_a_forced_tool_call(llm_server):
    provider = anthropic_provider(llm_server)
    completion = await provider.complete(
        CompletionRequest(model="claude-haiku-4-5", prompt="A quiz question", json_schema=SCHEMA)
    )
    await provider.aclose()
    sent = llm_server.generation_requests()[-1].body
    assert sent["tools"][0]["name"] == "answer"
    assert sent["tools"][0]["input_schema"] == SCHEMA
    assert sent["tool_choice"] == {"type": "tool", "name": "answer"}
    assert "temperature" not in sent
    answer = json.loads(completion.text)
    assert answer["difficulty"] == "easy" and len(answer["tags"]) == 2


async def test_anthropic_wraps_a_schema_whose_root_is_not_an_object(llm_server):
    provider = anthropic_provider(llm_server)
    schema = {"type": "array", "items": {"type": "string"}, "minItems": 3}
    completion = await provider.complete(
        CompletionRequest(model="claude-haiku-4-5", prompt="Three words", json_schema=schema)
    )
    await provider.aclose()
    sent = llm_server.generation_requests()[-1].body
    assert sent["tools"][0]["input_schema"]["type"] == "object"
    assert json.loads(completion.text) == ["Simulated value"] * 3


async def test_embeddings_come_back_in_input_order(llm_server):
    provider = openai_provider(llm_server)
    texts = ("alpha", "beta", "alpha")
    answer = await provider.embed(EmbeddingRequest("text-embedding-3-small", texts))
    await provider.aclose()
    vectors = answer.vectors
    assert len(vectors) == 3 and len(vectors[0]) == 8
    assert vectors[0] == pytest.approx(vectors[2])
    assert vectors[0] != pytest.approx(vectors[1])
    assert llm_server.requests[-1].path == "/v1/embeddings"
    # One request, with its usage and the rate-limit headers the limiter reads.
    assert len([r for r in llm_server.requests if r.path == "/v1/embeddings"]) == 1
    assert answer.input_tokens > 0
    assert any("remaining" in k for k in answer.rate_limit_headers)


async def test_anthropic_has_no_embeddings():
    provider = build_provider(ProviderConfig("anthropic", "k", "http://127.0.0.1:9", 1))
    with pytest.raises(ProviderError, match="no embeddings endpoint") as caught:
        await provider.embed(EmbeddingRequest("any", ("x",)))
    await provider.aclose()
    assert not caught.value.retryable


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
async def test_check_connection_lists_models(llm_server, make):
    provider = make(llm_server)
    message = await provider.check_connection("gpt-4o-mini")
    missing = await provider.check_connection("no-such-model")
    await provider.aclose()
    assert "4 models" in message and "not among" not in message
    assert "no-such-model is not among them" in missing
    assert llm_server.requests[-1].path == "/v1/models"


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
async def test_check_connection_reports_the_providers_own_401_message(llm_server, make):
    llm_server.valid_keys = {"the-right-key"}
    provider = make(llm_server, key="the-wrong-key")
    with pytest.raises(ProviderError) as caught:
        await provider.check_connection(None)
    await provider.aclose()
    assert caught.value.status == 401 and not caught.value.retryable
    assert "key" in caught.value.message.lower()


async def test_check_connection_to_nowhere_is_a_connection_error():
    provider = build_provider(ProviderConfig("openai_compatible", "k", "http://127.0.0.1:9/v1", 2))
    with pytest.raises(ProviderError, match="Cannot reach"):
        await provider.check_connection(None)
    await provider.aclose()


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
async def test_a_429_carries_its_rate_limit_headers(llm_server, make):
    llm_server.fail_next(1, status=429, headers={"retry-after": "3"})
    provider = make(llm_server)
    with pytest.raises(ProviderError) as caught:
        await provider.complete(CompletionRequest(model="gpt-4o-mini", prompt="x"))
    await provider.aclose()
    assert caught.value.retry_after == 3.0
    assert caught.value.rate_limit_headers["retry-after"] == "3"
    assert any(
        k.endswith("remaining") or "remaining-" in k for k in caught.value.rate_limit_headers
    )


async def test_the_simulator_answers_structured_requests_and_embeds_offline():
    provider = build_provider(ProviderConfig("simulator", ""))
    provider._latency = 0  # type: ignore[attr-defined]
    plain = await provider.complete(CompletionRequest(model="sim", prompt="Tell me about tea"))
    structured = await provider.complete(
        CompletionRequest(model="sim", prompt="A quiz", json_schema=SCHEMA)
    )
    vectors = (await provider.embed(EmbeddingRequest("sim", ("a", "b")))).vectors
    assert plain.text.startswith(SIMULATED_PREFIX)
    answer = json.loads(structured.text)
    assert answer["question"].startswith(SIMULATED_PREFIX) and len(answer["tags"]) == 2
    assert len(vectors) == 2 and vectors[0] != vectors[1]
    assert await provider.check_connection("sim") == CONNECTION_MESSAGE
