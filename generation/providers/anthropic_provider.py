"""Anthropic's Messages API through the official ``anthropic`` SDK (own retries off)."""

from __future__ import annotations

import time

import anthropic

from generation.providers.base import (
    Completion,
    CompletionRequest,
    ProviderConfig,
    ProviderError,
    parse_retry_after,
    rate_limit_headers,
)


def _status_error_message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return exc.message


class AnthropicProvider:
    def __init__(self, config: ProviderConfig) -> None:
        self._client = anthropic.AsyncAnthropic(
            api_key=config.api_key or "not-needed",
            base_url=config.base_url or None,
            timeout=config.timeout,
            max_retries=0,
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        # The Messages API of this SDK generation takes no sampling temperature, so the column's
        # temperature is not sent (it is still part of the ledger key).
        kwargs: dict[str, object] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": request.messages(),
        }
        if request.system:
            kwargs["system"] = request.system
        started = time.perf_counter()
        try:
            raw = await self._client.messages.with_raw_response.create(**kwargs)  # type: ignore[call-overload]
            response = await raw.parse()
        except anthropic.APIStatusError as exc:
            status = exc.status_code
            raise ProviderError(
                _status_error_message(exc),
                status=status,
                retryable=status in (408, 429, 529) or status >= 500,
                retry_after=parse_retry_after(exc.response.headers),
            ) from exc
        except anthropic.APITimeoutError as exc:
            raise ProviderError("The provider did not answer in time", retryable=True) from exc
        except anthropic.APIConnectionError as exc:
            raise ProviderError(f"Cannot reach the provider: {exc}", retryable=True) from exc
        except anthropic.APIResponseValidationError as exc:
            raise ProviderError(
                f"The provider sent an invalid answer: {exc}", retryable=True
            ) from exc
        except ValueError as exc:
            raise ProviderError(
                f"The provider sent an invalid answer: {exc}", retryable=True
            ) from exc
        latency_ms = int((time.perf_counter() - started) * 1000)
        text = "".join(block.text for block in response.content if block.type == "text")
        return Completion(
            text=text,
            input_tokens=response.usage.input_tokens,
            output_tokens=response.usage.output_tokens,
            latency_ms=latency_ms,
            rate_limit_headers=rate_limit_headers(raw.headers),
        )

    async def aclose(self) -> None:
        await self._client.close()
