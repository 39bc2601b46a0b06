"""What went wrong with a call, as our one error type: the openai and anthropic SDKs'
exceptions mapped to a ``ProviderError`` that says whether trying again may help, and a
server's error reply put in words fit for a page (the provider's own message, cleaned, or what
the reply was, never its body)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

from generation.providers.base import ProviderError

T = TypeVar("T")

RATE_LIMIT_HEADER_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "retry-after")


def rate_limit_headers(headers: object) -> dict[str, str]:
    items = getattr(headers, "items", None)
    if items is None:
        return {}
    return {
        key.lower(): value
        for key, value in items()
        if key.lower().startswith(RATE_LIMIT_HEADER_PREFIXES)
    }


def parse_retry_after(headers: object) -> float | None:
    get = getattr(headers, "get", None)
    raw = get("retry-after") if get else None
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def error_message(body: object, fallback: str) -> str:
    """The provider's own error message from an error body (both APIs nest it in ``error``;
    vLLM puts it at the top), cleaned; ``fallback`` when the body is not that JSON format."""
    if isinstance(body, Mapping):
        error = body.get("error", body)
        if isinstance(error, Mapping) and error.get("message"):
            return clean_message(str(error["message"])) or fallback
    return fallback


# An error message read from a server is cut to this many characters: enough for a provider's
# explanation, too little to carry a page of whatever the server at the base URL holds.
MAX_SERVER_MESSAGE = 300
_MARKUP = re.compile(r"<[^<>]*>")
_SPACES_AND_CONTROLS = re.compile(r"[\s\x00-\x1f\x7f]+")


def clean_message(text: str) -> str:
    """A server's message as plain text for a page: no markup, no control characters, one
    line, at most MAX_SERVER_MESSAGE characters."""
    text = _SPACES_AND_CONTROLS.sub(" ", _MARKUP.sub(" ", text)).strip()
    if len(text) > MAX_SERVER_MESSAGE:
        text = text[: MAX_SERVER_MESSAGE - 1].rstrip() + "…"
    return text


def status_line(status: int, response: Any) -> str:
    """What a non-2xx answer that is not the provider's JSON error was ("Not Found from
    api.example.com"), without its body (the server at a base URL may be anything; its page is not
    ours to show)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown status"
    host = response_host(response)
    return f"{phrase} from {host}" if host else phrase


def response_host(response: Any) -> str:
    """The host a response came from; "" when the SDK did not say."""
    try:
        return str(response.request.url.host)
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError for a missing request
        return ""


def sdk_error(exc: Exception, sdk: Any) -> ProviderError | None:
    """Our error for an error of the openai or anthropic SDK (they share exception names);
    None for an exception that is not the SDK's to map."""
    if isinstance(exc, sdk.APIStatusError):
        status = exc.status_code
        return ProviderError(
            error_message(exc.body, status_line(status, exc.response)),
            status=status,
            # 408/409/429 and every 5xx (Anthropic's 529 "overloaded" included) may pass later.
            retryable=status in (408, 409, 429) or status >= 500,
            retry_after=parse_retry_after(exc.response.headers),
            rate_limit_headers=rate_limit_headers(exc.response.headers),
        )
    if isinstance(exc, sdk.APITimeoutError):
        dropped = _connection_failure(exc)
        if dropped is not None:
            return ProviderError(f"Cannot reach the provider: {dropped}", retryable=True)
        return ProviderError("The provider did not answer in time", retryable=True)
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderError(f"Cannot reach the provider: {exc}", retryable=True)
    if isinstance(exc, sdk.APIResponseValidationError | ValueError):
        # A 200 whose body is not JSON (json.JSONDecodeError is a ValueError) or not the
        # expected shape: a broken proxy or a cut connection, so trying again may work.
        return invalid_answer(exc)
    return None


def invalid_answer(exc: Exception) -> ProviderError:
    return ProviderError(f"The provider sent an invalid answer: {exc}", retryable=True)


def _connection_failure(exc: BaseException) -> BaseException | None:
    """The aiohttp error behind an SDK "timeout" that was no timeout. The SDKs' aiohttp
    transport maps every aiohttp connection error (refused, reset, server gone) to a connect
    timeout; the user should read what happened."""
    import aiohttp

    cause = exc.__cause__ or exc.__context__
    for _ in range(5):
        if cause is None:
            return None
        if isinstance(cause, aiohttp.ClientConnectionError) and not isinstance(cause, TimeoutError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def sdk_guarded_sync(call: Callable[[], T], sdk: Any) -> T:
    """``sdk_guarded`` for the SDKs' synchronous clients (batch mode)."""
    try:
        return call()
    except Exception as exc:
        mapped = sdk_error(exc, sdk)
        if mapped is None:
            raise
        raise mapped from exc


async def sdk_guarded(call: Callable[[], Awaitable[T]], sdk: Any) -> T:
    """Await an SDK call, raising our ProviderError for the SDK's errors."""
    try:
        return await call()
    except Exception as exc:
        mapped = sdk_error(exc, sdk)
        if mapped is None:
            raise
        raise mapped from exc
