"""One provider call under the rate limiter, with the provider's feedback fed back in: the
seam ``worker.online_call`` wraps around ``provider.complete`` (inside the retry policy, so
every attempt waits for its own slot)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from generation.providers.base import Completion, ProviderError
from generation.ratelimit.core import RateLimiter


async def limited_call(
    limiter: RateLimiter,
    key: str,
    call: Callable[[], Awaitable[Completion]],
    *,
    rpm: int,
    tpm: int,
    tokens: int,
) -> Completion:
    """Wait for a slot, call, then tell the limiter what happened: the rate-limit headers (a
    spent budget pauses every worker on the key), the real token usage, or a 429 (pause for
    its retry-after). The error is re-raised unchanged for the retry policy."""
    await limiter.acquire(key, rpm=rpm, tpm=tpm, tokens=tokens)
    try:
        completion = await call()
    except ProviderError as exc:
        if exc.status == 429:
            await limiter.penalize(key, exc.retry_after)
        if exc.rate_limit_headers:
            await limiter.observe_headers(key, exc.rate_limit_headers)
        raise
    if completion.rate_limit_headers:
        await limiter.observe_headers(key, completion.rate_limit_headers)
    await limiter.record_usage(
        key,
        estimated=tokens,
        actual=completion.input_tokens + completion.output_tokens,
        tpm=tpm,
    )
    return completion
