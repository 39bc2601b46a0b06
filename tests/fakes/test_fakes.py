"""Contract tests: the fakes must work with the real openai, anthropic and huggingface_hub clients."""

from __future__ import annotations

import io
import json
from pathlib import Path

import anthropic
import openai
import pandas as pd
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from pydantic import BaseModel

from tests.fakes.hub_server import FakeHubServer
from tests.fakes.llm_server import FakeLLMServer

# Harmless once tests/conftest.py registers the plugin too (plugins are registered once by name).

PROMPT = "Write a haiku about {topic}: autumn leaves"
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": PROMPT}]


def openai_client(server: FakeLLMServer, key: str = "sk-test-key") -> openai.OpenAI:
    return openai.OpenAI(base_url=server.openai_base_url, api_key=key, max_retries=0)


def anthropic_client(server: FakeLLMServer, key: str = "sk-ant-test") -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.base_url, api_key=key, max_retries=0)


def chat(client: openai.OpenAI) -> str | None:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=50)
    return reply.choices[0].message.content


# ---- OpenAI ---------------------------------------------------------------------------------


def test_openai_chat_completion(llm_server: FakeLLMServer) -> None:
    reply = openai_client(llm_server).chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_completion_tokens=64
    )
    assert reply.choices[0].message.content == f"Simulated answer to: {PROMPT}"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.model == "gpt-4o-mini"
    assert reply.usage is not None and reply.usage.prompt_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert llm_server.prompts() == [PROMPT]
    recorded = llm_server.generation_requests()[0]
    assert recorded.body["temperature"] == 0.2 and recorded.api_key == "sk-test-key"


async def test_openai_async_chat_completion(llm_server: FakeLLMServer) -> None:
    client = openai.AsyncOpenAI(base_url=llm_server.openai_base_url, api_key="sk-x", max_retries=0)
    reply = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert PROMPT in (reply.choices[0].message.content or "")
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    await client.close()


def test_openai_prompt_is_truncated_to_200_chars(llm_server: FakeLLMServer) -> None:
    long_prompt = "x" * 500
    reply = openai_client(llm_server).chat.completions.create(
        model="m", messages=[{"role": "user", "content": long_prompt}]
    )
    assert reply.choices[0].message.content == "Simulated answer to: " + "x" * 200
    assert llm_server.prompts() == [long_prompt]


def test_openai_structured_output(llm_server: FakeLLMServer) -> None:
    class Row(BaseModel):
        question: str
        score: float
        tags: list[str]
        valid: bool

    parsed = openai_client(llm_server).chat.completions.parse(
        model="gpt-4o", messages=MESSAGES, response_format=Row
    )
    row = parsed.choices[0].message.parsed
    assert row == Row(question="Simulated question", score=1, tags=["Simulated tags"], valid=True)


def test_openai_embeddings_and_models(llm_server: FakeLLMServer) -> None:
    client = openai_client(llm_server)
    first = client.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"]
    )  # base64 wire
    again = client.embeddings.create(model="e", input="a", encoding_format="float")
    assert len(first.data) == 2 and len(first.data[0].embedding) == 8
    assert first.data[0].embedding == pytest.approx(again.data[0].embedding, abs=1e-6)
    assert first.data[0].embedding != first.data[1].embedding
    assert "gpt-4o-mini" in [m.id for m in client.models.list()]


def test_openai_wrong_key_is_authentication_error(llm_server: FakeLLMServer) -> None:
    llm_server.valid_keys = {"sk-good"}
    with pytest.raises(openai.AuthenticationError) as caught:
        chat(openai_client(llm_server, key="sk-wrong-1234"))
    assert caught.value.status_code == 401
    assert caught.value.code == "invalid_api_key"
    assert "Incorrect API key provided: sk-...1234." in caught.value.message
    assert chat(openai_client(llm_server, key="sk-good"))


def test_openai_fail_next_429_then_500(llm_server: FakeLLMServer) -> None:
    llm_server.fail_next(1, 429, {"retry-after": "0"})
    llm_server.fail_next(1, 500)
    client = openai_client(llm_server)
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client)
    assert caught.value.response.headers["retry-after"] == "0"
    with pytest.raises(openai.InternalServerError):
        chat(client)
    assert chat(client)  # queue drained
    assert [r.status for r in llm_server.generation_requests()] == [429, 500, 200]


def test_openai_sdk_retries_through_failures(llm_server: FakeLLMServer) -> None:
    llm_server.fail_next(2, 429, {"retry-after": "0.01"})
    client = openai.OpenAI(base_url=llm_server.openai_base_url, api_key="k", max_retries=2)
    assert chat(client)
    assert len(llm_server.generation_requests()) == 3


def test_openai_broken_json_raises_json_decode_error(llm_server: FakeLLMServer) -> None:
    llm_server.broken_json_next(1)
    # Surprise: the SDK does not wrap this; the stdlib JSONDecodeError (a ValueError) escapes.
    with pytest.raises(json.JSONDecodeError):
        chat(openai_client(llm_server))
    assert chat(openai_client(llm_server))


def test_openai_rate_limit_headers_and_rpm_limit(llm_server: FakeLLMServer) -> None:
    llm_server.rpm_limit = 2
    client = openai_client(llm_server)
    raw = client.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
    assert raw.headers["x-ratelimit-limit-requests"] == "2"
    assert raw.headers["x-ratelimit-remaining-requests"] == "1"
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) > 0
    assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
    assert PROMPT in (raw.parse().choices[0].message.content or "")
    chat(client)
    with pytest.raises(openai.RateLimitError) as caught:
        chat(client)
    headers = caught.value.response.headers
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert int(headers["retry-after"]) > 0


# ---- Anthropic ------------------------------------------------------------------------------


def test_anthropic_message(llm_server: FakeLLMServer) -> None:
    message = anthropic_client(llm_server).messages.create(
        model="claude-haiku-4-5",
        system="Be brief.",
        max_tokens=100,
        messages=[{"role": "user", "content": PROMPT}],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == f"Simulated answer to: {PROMPT}"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    recorded = llm_server.generation_requests()[0]
    assert recorded.provider == "anthropic" and recorded.system_prompt == "Be brief."


def test_anthropic_wrong_key_and_headers(llm_server: FakeLLMServer) -> None:
    llm_server.valid_keys = {"sk-ant-good"}
    with pytest.raises(anthropic.AuthenticationError) as caught:
        anthropic_client(llm_server, key="sk-ant-bad").messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.body["error"] == {
        "type": "authentication_error",
        "message": "invalid x-api-key",
    }
    raw = anthropic_client(llm_server, key="sk-ant-good").messages.with_raw_response.create(
        model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["anthropic-ratelimit-requests-remaining"] == "9999"
    assert "anthropic-ratelimit-requests-reset" in raw.headers


def test_anthropic_fail_next_429(llm_server: FakeLLMServer) -> None:
    llm_server.fail_next(1, 429, {"retry-after": "0"})
    with pytest.raises(anthropic.RateLimitError) as caught:
        anthropic_client(llm_server).messages.create(
            model="claude-haiku-4-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.body["error"]["type"] == "rate_limit_error"


# ---- Hugging Face Hub -----------------------------------------------------------------------


def test_hub_create_repo_and_upload_folder(hub_server: FakeHubServer, tmp_path: Path) -> None:
    api = HfApi(endpoint=hub_server.url, token="hf_test_token")
    assert api.whoami()["name"] == "test-user"
    url = api.create_repo("test-user/my-set", repo_type="dataset", private=True, exist_ok=True)
    assert (
        url == f"{hub_server.url}/datasets/test-user/my-set" and url.repo_id == "test-user/my-set"
    )
    api.create_repo("test-user/my-set", repo_type="dataset", exist_ok=True)  # 409 tolerated

    readme = "---\nlicense: mit\npretty_name: My set\n---\n# My set\n"
    (tmp_path / "README.md").write_text(readme)
    (tmp_path / "data").mkdir()
    frame = pd.DataFrame({"prompt": ["a", "b", "c"], "score": [1, 2, 3]})
    frame.to_parquet(tmp_path / "data" / "train.parquet", index=False)
    commit = api.upload_folder(
        folder_path=tmp_path,
        repo_id="test-user/my-set",
        repo_type="dataset",
        commit_message="Publish",
    )

    repo = hub_server.repos["test-user/my-set"]
    assert repo.private is True
    assert repo.files["README.md"].decode() == readme
    assert commit.oid == repo.sha and commit.commit_url.endswith(f"/commit/{repo.sha}")
    assert repo.commits[-1]["message"] == "Publish"
    pd.testing.assert_frame_equal(
        pd.read_parquet(io.BytesIO(repo.files["data/train.parquet"])), frame
    )

    info = api.dataset_info("test-user/my-set")
    assert info.private is True and info.sha == repo.sha
    assert sorted(api.list_repo_files("test-user/my-set", repo_type="dataset")) == [
        "README.md",
        "data/train.parquet",
    ]


def test_hub_wrong_token(hub_server: FakeHubServer) -> None:
    api = HfApi(endpoint=hub_server.url, token="hf_wrong")
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_repo("test-user/x", repo_type="dataset", exist_ok=True)
    assert caught.value.response.status_code == 401
    assert "Invalid credentials in Authorization header" in str(caught.value)
    assert hub_server.repos == {}
