"""Provider plug-ins through the real openai and anthropic SDKs, against the local fake server."""

import pytest

from generation.providers import CompletionRequest, ProviderConfig, ProviderError, build_provider
from tests.fakes.llm_server import Reply

REQUEST = CompletionRequest(
    model="gpt-4o-mini", prompt="Write a question about space", system="Be brief.", max_tokens=64
)


def openai_provider(llm_server, key="sk-good"):
    return build_provider(ProviderConfig("openai_compatible", key, llm_server.openai_base_url, 5))


def anthropic_provider(llm_server, key="sk-ant-good"):
    return build_provider(ProviderConfig("anthropic", key, llm_server.base_url, 5))


async def test_openai_compatible_answer_usage_and_rate_limit_headers(llm_server):
    provider = openai_provider(llm_server)
    completion = await provider.complete(REQUEST)
    await provider.aclose()
    assert "Write a question about space" in completion.text
    assert completion.input_tokens > 0 and completion.output_tokens > 0
    assert "x-ratelimit-remaining-requests" in completion.rate_limit_headers
    sent = llm_server.generation_requests()[-1]
    assert sent.system_prompt == "Be brief."
    assert sent.body["model"] == "gpt-4o-mini"


async def test_anthropic_answer_and_usage(llm_server):
    provider = anthropic_provider(llm_server)
    completion = await provider.complete(REQUEST)
    await provider.aclose()
    assert "Write a question about space" in completion.text
    assert completion.input_tokens > 0
    assert llm_server.generation_requests()[-1].path == "/v1/messages"


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
async def test_wrong_key_fails_fast_with_the_providers_message(llm_server, make):
    llm_server.valid_keys = {"the-right-key"}
    provider = make(llm_server, key="the-wrong-key")
    with pytest.raises(ProviderError) as caught:
        await provider.complete(REQUEST)
    await provider.aclose()
    assert caught.value.status == 401
    assert not caught.value.retryable
    assert "key" in caught.value.message.lower()


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
async def test_429_is_retryable_and_carries_retry_after(llm_server, make):
    llm_server.fail_next(1, status=429, headers={"retry-after": "7"}, message="Slow down")
    provider = make(llm_server)
    with pytest.raises(ProviderError) as caught:
        await provider.complete(REQUEST)
    await provider.aclose()
    assert caught.value.retryable and caught.value.status == 429
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
async def test_server_errors_and_broken_json_are_retryable(llm_server, make):
    provider = make(llm_server)
    llm_server.fail_next(1, status=503)
    with pytest.raises(ProviderError) as server_error:
        await provider.complete(REQUEST)
    llm_server.broken_json_next(1)
    with pytest.raises(ProviderError) as broken:
        await provider.complete(REQUEST)
    ok = await provider.complete(REQUEST)
    await provider.aclose()
    assert server_error.value.retryable and server_error.value.status == 503
    assert broken.value.retryable
    assert "space" in ok.text


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
async def test_a_200_that_is_not_a_completion_is_a_retryable_invalid_answer(llm_server, make):
    provider = make(llm_server)
    llm_server.wrong_shape_next(1)
    with pytest.raises(ProviderError, match="invalid answer") as caught:
        await provider.complete(REQUEST)
    ok = await provider.complete(REQUEST)
    await provider.aclose()
    assert caught.value.retryable
    assert "space" in ok.text


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
async def test_an_html_page_instead_of_an_answer_is_named_without_its_body(llm_server, make):
    provider = make(llm_server)
    page = b"<html><body>internal dashboard, token abc123</body></html>"
    llm_server.raw_reply_next(Reply(200, page, {"Content-Type": "text/html"}))
    with pytest.raises(ProviderError) as not_json:
        await provider.complete(REQUEST)
    llm_server.raw_reply_next(Reply(500, page, {"Content-Type": "text/html"}))
    with pytest.raises(ProviderError) as error_page:
        await provider.complete(REQUEST)
    await provider.aclose()
    assert "expected a JSON answer, got text/html" in str(not_json.value)
    assert not_json.value.retryable
    assert str(error_page.value) == "HTTP 500: Internal Server Error from 127.0.0.1"
    assert error_page.value.retryable


async def test_unreachable_server_is_a_retryable_connection_error():
    provider = build_provider(ProviderConfig("openai_compatible", "k", "http://127.0.0.1:9/v1", 2))
    with pytest.raises(ProviderError) as caught:
        await provider.complete(REQUEST)
    await provider.aclose()
    assert caught.value.retryable


@pytest.mark.parametrize("make", [openai_provider, anthropic_provider])
async def test_on_answer_is_told_when_an_answer_arrives_before_the_sdk_reads_it(llm_server, make):
    from generation.providers import on_answer

    told = []
    provider = make(llm_server)
    with on_answer(lambda: told.append("arrived") or False):
        await provider.complete(REQUEST)
        assert told == ["arrived"]
        llm_server.fail_next(1, status=503)  # an error answer has arrived too
        with pytest.raises(ProviderError):
            await provider.complete(REQUEST)
        assert told == ["arrived"] * 2
        # Told before the body is read: a body that cannot be parsed was still an answer.
        llm_server.broken_json_next(1)
        with pytest.raises(ProviderError):
            await provider.complete(REQUEST)
        assert told == ["arrived"] * 3
    await provider.complete(REQUEST)  # outside the block: nobody is told
    await provider.aclose()
    assert told == ["arrived"] * 3


async def test_on_answer_is_not_told_when_no_answer_came(llm_server):
    from generation.providers import on_answer

    told = []
    provider = build_provider(ProviderConfig("openai_compatible", "k", "http://127.0.0.1:9/v1", 2))
    with on_answer(lambda: told.append(1) or False), pytest.raises(ProviderError):
        await provider.complete(REQUEST)
    await provider.aclose()
    assert told == []  # the caller gives its slot back itself (llm_calls)
