"""Anthropic's Messages API through the official ``anthropic`` SDK (own retries off).

Structured output is a forced tool call: the schema becomes the one tool's ``input_schema`` and
``tool_choice`` names it, so the model must answer with that tool's input. It works on every
Claude model, unlike ``output_config.format``, which only recent models accept. The tool input is
returned JSON-dumped as ``text`` so callers see the same shape as OpenAI's JSON answer."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anthropic

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
# A tool's input must be an object; other roots are wrapped in this property and unwrapped.
WRAPPED_KEY = "value"
NO_EMBEDDINGS = "Anthropic has no embeddings endpoint"


async def _guarded(call: Callable[[], Awaitable[T]]) -> T:
    return await sdk_guarded(call, anthropic)


def _tool_schema(schema: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The tool's input schema, and whether the real answer is wrapped in ``WRAPPED_KEY``."""
    if schema.get("type") == "object" or ("properties" in schema and "type" not in schema):
        return {"type": "object", **schema}, False
    wrapped: dict[str, Any] = {
        "type": "object",
        "properties": {WRAPPED_KEY: schema},
        "required": [WRAPPED_KEY],
    }
    if "$defs" in schema:  # references resolve from the root: keep definitions there
        wrapped["$defs"] = schema["$defs"]
    return wrapped, True


def message_params(request: CompletionRequest) -> dict[str, Any]:
    """The Messages API parameters for ``request``, online and in batches. The Messages API of
    this SDK generation takes no sampling temperature, so the column's temperature is not sent
    (it is still part of the ledger key); structured output is a forced tool call."""
    params: dict[str, Any] = {
        "model": request.model,
        "max_tokens": request.max_tokens,
        "messages": request.messages(),
    }
    if request.system:
        params["system"] = request.system
    if request.json_schema is not None:
        tool_name = safe_schema_name(request.schema_name)
        input_schema, _ = _tool_schema(request.json_schema)
        params["tools"] = [
            {
                "name": tool_name,
                "description": "Give the answer. Its input is the whole answer.",
                "input_schema": input_schema,
            }
        ]
        params["tool_choice"] = {"type": "tool", "name": tool_name}
    return params


def message_completion(message: Any, request: CompletionRequest) -> Completion:
    """A Message body (JSON) as a completion: its text, or the forced tool's input as JSON; a
    retryable ProviderError when the body is not a Message."""
    try:
        blocks = [b for b in field_path(message, "content") if isinstance(b, dict)]
        usage = field_path(message, "usage")
        input_tokens = int(usage.get("input_tokens") or 0)
        output_tokens = int(usage.get("output_tokens") or 0)
    except (ValueError, TypeError, AttributeError) as exc:
        raise invalid_answer(exc) from exc
    text = "".join(str(b.get("text") or "") for b in blocks if b.get("type") == "text")
    if request.json_schema is not None:
        tool_name = safe_schema_name(request.schema_name)
        _, wrapped = _tool_schema(request.json_schema)
        tool_input = next(
            (
                b.get("input")
                for b in blocks
                if b.get("type") == "tool_use" and b.get("name") == tool_name
            ),
            None,
        )
        if tool_input is not None:
            if wrapped and isinstance(tool_input, dict) and WRAPPED_KEY in tool_input:
                tool_input = tool_input[WRAPPED_KEY]
            text = json.dumps(tool_input, ensure_ascii=False)
        # No tool call (the model stopped early): the text, if any, is left for the validator
        # to judge and re-ask.
    return Completion(
        text=text, input_tokens=input_tokens, output_tokens=output_tokens, latency_ms=0
    )


class AnthropicProvider:
    def __init__(self, config: ProviderConfig) -> None:
        self._client = anthropic.AsyncAnthropic(
            api_key=config.api_key or "not-needed",
            base_url=config.base_url or None,
            timeout=config.timeout,
            max_retries=0,
            # aiohttp transport, as in the OpenAI provider (half the CPU per call of httpx's).
            http_client=anthropic.DefaultAioHttpClient(
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
            # The SDK's pipeline without its typed create (see base.post_json for why).
            return await post_json(self._client, "/v1/messages", message_params(request))

        response, headers = await _guarded(call)
        completion = message_completion(response, request)
        completion.latency_ms = int((time.perf_counter() - started) * 1000)
        completion.rate_limit_headers = rate_limit_headers(headers)
        return completion

    async def embed(self, request: EmbeddingRequest) -> Embeddings:
        raise ProviderError(NO_EMBEDDINGS, retryable=False)

    async def check_connection(self, model: str | None = None) -> str:
        ids = await _guarded(lambda: list_model_ids(self._client, "/v1/models", {"limit": 1000}))
        message = f"Connected: {len(ids)} model{'s' if len(ids) != 1 else ''} available"
        if model and ids and model not in ids:
            message += f" ({model} is not among them)"
        return message

    async def aclose(self) -> None:
        await self._client.close()
