"""OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp, gateways), through the
official ``openai`` SDK. The SDK's own retries are off: our retry policy is in charge."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import openai

from generation.providers.answer_hook import answer_hooks
from generation.providers.base import (
    Completion,
    CompletionRequest,
    EmbeddingRequest,
    Embeddings,
    ProviderConfig,
    ProviderError,
)
from generation.providers.sdk_errors import invalid_answer, rate_limit_headers, sdk_guarded
from generation.providers.sdk_requests import (
    field_path,
    list_model_ids,
    post_json,
    safe_schema_name,
    shared_ssl_context,
)

T = TypeVar("T")


async def _guarded(call: Callable[[], Awaitable[T]]) -> T:
    return await sdk_guarded(call, openai)


def chat_body(request: CompletionRequest) -> dict[str, Any]:
    """The chat-completions body for ``request``, online and in batches (system message first;
    structured output as a non-strict json_schema)."""
    messages: list[dict[str, str]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    messages.extend(request.messages())
    body: dict[str, Any] = {
        "model": request.model,
        "messages": messages,
        "temperature": request.temperature,
        "max_tokens": request.max_tokens,
    }
    if request.json_schema is not None:
        # strict=False: strict mode rejects common schemas (optional properties, formats);
        # the answer is validated on our side and re-asked when it does not conform.
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {
                "name": safe_schema_name(request.schema_name),
                "schema": request.json_schema,
                "strict": False,
            },
        }
    return body


MSG_NO_CHOICES = "The provider answered with no choices"


def chat_completion(body: Any, *, latency_ms: int = 0, headers: object | None = None) -> Completion:
    """The completion in a chat-completions answer body, online and in batches; a retryable
    ProviderError when the body is none."""
    if not isinstance(body, dict) or not body.get("choices"):
        raise ProviderError(MSG_NO_CHOICES, retryable=True)
    try:
        text = field_path(body, "choices", 0, "message").get("content") or ""
        usage = body.get("usage") or {}
        input_tokens = int(usage.get("prompt_tokens") or 0)
        output_tokens = int(usage.get("completion_tokens") or 0)
    except (ValueError, TypeError, AttributeError) as exc:
        raise invalid_answer(exc) from exc
    return Completion(
        text=str(text),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=latency_ms,
        rate_limit_headers=rate_limit_headers(headers) if headers is not None else {},
    )


class OpenAIProvider:
    def __init__(self, config: ProviderConfig) -> None:
        self._client = openai.AsyncOpenAI(
            api_key=config.api_key or "not-needed",
            base_url=config.base_url or None,
            timeout=config.timeout,
            max_retries=0,
            # The SDK's aiohttp transport (the ``aiohttp`` extra): the same requests and errors,
            # about half the CPU per call of its default httpx transport (1.3 against 2.4 ms on
            # the benchmark machine), which dominated the engine's cost per row.
            http_client=openai.DefaultAioHttpClient(
                verify=shared_ssl_context(),
                event_hooks=answer_hooks(),
                # A redirect would take the request (and the key, in Anthropic's header) to a
                # URL nobody checked (generation/provider_configs.py); providers do not redirect.
                follow_redirects=False,
            ),
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()

        async def call() -> tuple[dict[str, Any], Any]:
            return await post_json(self._client, "/chat/completions", chat_body(request))

        response, headers = await _guarded(call)
        return chat_completion(
            response,
            latency_ms=int((time.perf_counter() - started) * 1000),
            headers=headers,
        )

    async def embed(self, request: EmbeddingRequest) -> Embeddings:
        """One embeddings request through the SDK (``client.embeddings.create``), with its
        usage and rate-limit headers. The caller bounds the number of texts."""
        started = time.perf_counter()

        async def call() -> tuple[Any, Any]:
            raw = await self._client.embeddings.with_raw_response.create(
                model=request.model, input=list(request.texts)
            )
            return raw.parse(), raw.headers

        response, headers = await _guarded(call)
        # The API answers with an index per input; do not rely on the order of ``data``.
        ordered = sorted(response.data, key=lambda item: item.index)
        if len(ordered) != len(request.texts):
            raise ProviderError(
                f"The provider returned {len(ordered)} embeddings for {len(request.texts)} texts",
                retryable=True,
            )
        usage = response.usage
        return Embeddings(
            vectors=[[float(x) for x in item.embedding] for item in ordered],
            input_tokens=int(usage.prompt_tokens or 0) if usage is not None else 0,
            latency_ms=int((time.perf_counter() - started) * 1000),
            rate_limit_headers=rate_limit_headers(headers),
        )

    async def check_connection(self, model: str | None = None) -> str:
        ids = await _guarded(lambda: list_model_ids(self._client, "/models"))
        message = f"Connected: the server lists {len(ids)} model{'s' if len(ids) != 1 else ''}"
        if model and ids and model not in ids:
            # Not an error: gateways and some servers list only part of what they serve.
            message += f" ({model} is not among them)"
        return message

    async def aclose(self) -> None:
        await self._client.close()
