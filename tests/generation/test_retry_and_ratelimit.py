"""The retry policy and the in-memory rate limiter; pure, no database."""

import pytest

from generation.providers import ProviderError
from generation.retry import call_with_retries


async def test_retryable_errors_are_retried_until_success():
    calls = []

    async def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ProviderError("overloaded", status=503, retryable=True)
        return "ok"

    assert await call_with_retries(flaky, max_attempts=4, initial_wait=0.01) == "ok"
    assert len(calls) == 3


async def test_client_errors_fail_fast_with_the_provider_message():
    calls = []

    async def unauthorized():
        calls.append(1)
        raise ProviderError("Incorrect API key provided", status=401, retryable=False)

    with pytest.raises(ProviderError, match="Incorrect API key"):
        await call_with_retries(unauthorized, max_attempts=4, initial_wait=0.01)
    assert len(calls) == 1


async def test_attempts_are_bounded_and_the_last_error_is_kept():
    calls = []

    async def always_429():
        calls.append(1)
        raise ProviderError(
            f"rate limited {len(calls)}", status=429, retryable=True, retry_after=0.01
        )

    with pytest.raises(ProviderError, match="rate limited 3"):
        await call_with_retries(always_429, max_attempts=3, initial_wait=0.01)
    assert len(calls) == 3
