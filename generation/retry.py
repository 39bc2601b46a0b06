"""The retry policy for provider calls: exponential backoff with jitter on retryable errors,
honouring the provider's retry-after. Built on tenacity rather than a hand-written loop."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from generation.providers.base import ProviderError

T = TypeVar("T")


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and exc.retryable


class _Wait:
    """Backoff with jitter, but never shorter than what the provider asked for."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._backoff = wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial)
        self._maximum = maximum

    def __call__(self, state: RetryCallState) -> float:
        wait = self._backoff(state)
        outcome = state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, ProviderError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, self._maximum))
        return wait


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    max_attempts: int,
    initial_wait: float = 0.5,
    max_wait: float = 30.0,
    on_retry: Callable[[int], None] | None = None,
) -> T:
    """Await ``call()`` until it succeeds, fails with a non-retryable error, or runs out of
    attempts; the last error is re-raised as it was."""
    retrying = AsyncRetrying(
        stop=stop_after_attempt(max_attempts),
        wait=_Wait(initial_wait, max_wait),
        retry=retry_if_exception(_is_retryable),
        reraise=True,
        before_sleep=(lambda state: on_retry(state.attempt_number)) if on_retry else None,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity re-raises the last error")
