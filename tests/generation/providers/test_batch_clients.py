"""The batch clients over the real openai and anthropic SDKs, against the fake's batch endpoints:
what goes on the wire, how results and failures come back. No database."""

from __future__ import annotations

import json

import pytest

from generation.providers import (
    CompletionRequest,
    ProviderConfig,
    ProviderError,
    build_batch_client,
)
from generation.providers.anthropic.batch import message_params
from generation.providers.anthropic.online import AnthropicProvider
from generation.providers.batch import BatchItem
from generation.providers.openai.batch import chat_body
from generation.providers.openai.online import OpenAIProvider

SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}


def plain(prompt: str = "Name a planet") -> CompletionRequest:
    return CompletionRequest(model="gpt-4o-mini", prompt=prompt, system="Be brief.", max_tokens=30)


def structured(model: str = "gpt-4o-mini") -> CompletionRequest:
    return CompletionRequest(
        model=model, prompt="Answer in JSON", json_schema=SCHEMA, schema_name="my answer"
    )


def openai_config(server, key: str = "sk-test") -> ProviderConfig:
    return ProviderConfig(provider="openai", api_key=key, base_url=server.openai_base_url)


def anthropic_config(server) -> ProviderConfig:
    return ProviderConfig(provider="anthropic", api_key="sk-ant", base_url=server.base_url)


def key(n: int) -> str:
    return f"{n:064x}"  # the shape of a ledger key


async def test_batched_bodies_are_what_the_online_providers_send(llm_server):
    """Batch lines carry the bodies the providers' one builder makes (chat_body,
    message_params): online, the server receives exactly that body too."""
    for request in (plain(), structured()):
        provider = OpenAIProvider(openai_config(llm_server))
        await provider.complete(request)
        await provider.aclose()
        assert llm_server.generation_requests()[-1].body == chat_body(request)
    for request in (plain(), structured("claude-haiku-4-5")):
        provider = AnthropicProvider(anthropic_config(llm_server))
        await provider.complete(request)
        await provider.aclose()
        assert llm_server.generation_requests()[-1].body == message_params(request)


def test_openai_batch_submit_poll_and_results(llm_server):
    llm_server.batch_polls_in_progress = 1
    llm_server.fail_batch_requests("Pluto", status=400, message="Pluto is not a planet.")
    client = build_batch_client(openai_config(llm_server))
    requests = {key(1): plain(), key(2): structured(), key(3): plain("Is Pluto one?")}
    submitted = client.submit(
        [BatchItem(k, r) for k, r in requests.items()], metadata={"studio_job": "7"}
    )
    assert submitted.input_file_id.startswith("file-")
    [creation] = llm_server.batch_creations()
    assert creation.body["endpoint"] == "/v1/chat/completions"
    assert creation.body["completion_window"] == "24h"
    lines = [
        json.loads(line)
        for line in llm_server.files[submitted.input_file_id]["content"].splitlines()
    ]
    assert [line["custom_id"] for line in lines] == list(requests)
    assert lines[0]["method"] == "POST" and lines[0]["url"] == "/v1/chat/completions"
    assert lines[1]["body"]["response_format"]["json_schema"]["name"] == "my_answer"

    first = client.state(submitted.batch_id)
    assert (first.ended, first.status) == (False, "in_progress")
    done = client.state(submitted.batch_id)
    assert (done.ended, done.status, done.succeeded, done.failed) == (True, "completed", 2, 1)
    results = {r.custom_id: r for r in client.results(submitted.batch_id, requests)}
    assert results[key(1)].completion.text == "Simulated answer to: Name a planet"
    assert results[key(1)].completion.input_tokens > 0
    assert json.loads(results[key(2)].completion.text) == {"answer": "Simulated answer"}
    assert results[key(3)].completion is None
    assert results[key(3)].error == "HTTP 400: Pluto is not a planet."
    assert client.find_submitted("7") == submitted
    assert client.find_submitted("8") is None
    client.close()
    assert llm_server.generation_requests() == []


def test_an_openai_batch_cancelled_before_it_ran_reports_every_request_unprocessed(llm_server):
    llm_server.batch_polls_in_progress = 100
    client = build_batch_client(openai_config(llm_server))
    requests = {key(1): plain()}
    submitted = client.submit([BatchItem(key(1), plain())], metadata={})
    client.cancel(submitted.batch_id)
    state = client.state(submitted.batch_id)
    assert (state.ended, state.status) == (True, "cancelled")
    [result] = client.results(submitted.batch_id, requests)
    assert result.completion is None and "cancelled" in result.error
    client.close()


def test_a_wrong_key_is_a_provider_error_with_the_providers_message(llm_server):
    llm_server.valid_keys = {"sk-right"}
    client = build_batch_client(openai_config(llm_server, key="sk-wrong-0000"))
    with pytest.raises(ProviderError) as caught:
        client.submit([BatchItem(key(1), plain())], metadata={})
    assert caught.value.status == 401 and not caught.value.retryable
    assert "Incorrect API key provided" in str(caught.value)
    client.close()


def test_anthropic_message_batch_submit_poll_and_results(llm_server):
    llm_server.batch_polls_in_progress = 1
    llm_server.fail_batch_requests("Pluto", status=400, message="Pluto is not a planet.")
    client = build_batch_client(anthropic_config(llm_server))
    requests = {
        key(1): CompletionRequest(model="claude-haiku-4-5", prompt="Name a planet"),
        key(2): structured("claude-haiku-4-5"),
        key(3): CompletionRequest(model="claude-haiku-4-5", prompt="Is Pluto one?"),
    }
    submitted = client.submit([BatchItem(k, r) for k, r in requests.items()], metadata={})
    [creation] = llm_server.batch_creations("anthropic")
    sent = creation.body["requests"]
    assert [item["custom_id"] for item in sent] == list(requests)
    assert sent[1]["params"]["tool_choice"] == {"type": "tool", "name": "my_answer"}
    assert client.state(submitted.batch_id).ended is False
    state = client.state(submitted.batch_id)
    assert (state.ended, state.status, state.succeeded, state.failed) == (True, "ended", 2, 1)
    results = {r.custom_id: r for r in client.results(submitted.batch_id, requests)}
    assert results[key(1)].completion.text == "Simulated answer to: Name a planet"
    # The forced tool's input comes back as JSON text, as online.
    assert json.loads(results[key(2)].completion.text) == {"answer": "Simulated answer"}
    assert results[key(3)].error == "Pluto is not a planet. (invalid_request_error)"
    client.close()


def test_an_anthropic_batch_cancelled_reports_its_requests_as_canceled(llm_server):
    llm_server.batch_polls_in_progress = 100
    client = build_batch_client(anthropic_config(llm_server))
    request = CompletionRequest(model="claude-haiku-4-5", prompt="Hi")
    submitted = client.submit([BatchItem(key(1), request)], metadata={})
    client.cancel(submitted.batch_id)
    assert client.state(submitted.batch_id).ended
    [result] = client.results(submitted.batch_id, {key(1): request})
    assert result.error == "The batch ended before this request was processed (canceled)"
    assert client.find_submitted("1") is None  # Message Batches carry no metadata
    client.close()


def test_anthropic_custom_ids_must_fit_its_rule(llm_server):
    client = build_batch_client(anthropic_config(llm_server))
    with pytest.raises(ValueError, match="custom_id"):
        client.submit([BatchItem("x" * 65, plain())], metadata={})
    assert llm_server.batch_creations() == []
    client.close()


def test_the_simulator_has_no_batch_client():
    with pytest.raises(ValueError, match="no batch API"):
        build_batch_client(ProviderConfig(provider="simulator", api_key=""))
