"""OpenAI and any OpenAI-compatible server (vLLM, Ollama, llama.cpp, gateways), through the
official ``openai`` SDK. The SDK's own retries are off: our retry policy is in charge."""

from __future__ import annotations

import time

import openai

from generation.providers.base import (
    Completion,
    CompletionRequest,
    ProviderConfig,
    ProviderError,
    parse_retry_after,
    rate_limit_headers,
)


def _status_error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return exc.message


class OpenAIProvider:
    def __init__(self, config: ProviderConfig) -> None:
        self._client = openai.AsyncOpenAI(
            api_key=config.api_key or "not-needed",
            base_url=config.base_url or None,
            timeout=config.timeout,
            max_retries=0,
        )

    async def complete(self, request: CompletionRequest) -> Completion:
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.extend(request.messages())
        started = time.perf_counter()
        try:
            raw = await self._client.chat.completions.with_raw_response.create(
                model=request.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=request.temperature,
                max_tokens=request.max_tokens,
            )
            response = raw.parse()
        except openai.APIStatusError as exc:
            status = exc.status_code
            raise ProviderError(
                _status_error_message(exc),
                status=status,
                retryable=status == 429 or status >= 500 or status == 408,
                retry_after=parse_retry_after(exc.response.headers),
            ) from exc
        except openai.APITimeoutError as exc:
            raise ProviderError("The provider did not answer in time", retryable=True) from exc
        except openai.APIConnectionError as exc:
            raise ProviderError(f"Cannot reach the provider: {exc}", retryable=True) from exc
        except openai.APIResponseValidationError as exc:
            raise ProviderError(
                f"The provider sent an invalid answer: {exc}", retryable=True
            ) from exc
        except ValueError as exc:  # a body that is not JSON
            raise ProviderError(
                f"The provider sent an invalid answer: {exc}", retryable=True
            ) from exc
        latency_ms = int((time.perf_counter() - started) * 1000)
        if not response.choices:
            raise ProviderError("The provider answered with no choices", retryable=True)
        usage = response.usage
        return Completion(
            text=response.choices[0].message.content or "",
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
            latency_ms=latency_ms,
            rate_limit_headers=rate_limit_headers(raw.headers),
        )

    async def aclose(self) -> None:
        await self._client.close()
