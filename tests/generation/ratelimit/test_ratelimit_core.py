"""The limiter's arithmetic and header parsing, on a fake clock: pure, deterministic, instant."""

import bisect
import random
from datetime import UTC, datetime

import pytest

from generation.ratelimit import InMemoryRateLimiter, LimiterConfig, limited_call
from generation.ratelimit.core import (
    KeyState,
    budget,
    clamp_pause,
    parse_duration,
    parse_reset,
    pause_from_headers,
)


def max_in_window(times: list[float], window: float, weights: list[int] | None = None) -> int:
    """The most units any half-open window (t - window, t] holds (the provider's view)."""
    weights = weights or [1] * len(times)
    prefix = [0]
    for w in weights:
        prefix.append(prefix[-1] + w)
    best = 0
    for i, t in enumerate(times):
        first = bisect.bisect_right(times, t - window)
        best = max(best, prefix[i + 1] - prefix[first])
    return best


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def saturate(limiter, clock, key, calls, *, rpm=0, tpm=0, tokens=lambda i: 0):
    """A client that always wants the next call: returns the start time and cost of each."""
    starts, costs = [], []
    for i in range(calls):
        cost = tokens(i)
        granted, wait = limiter.try_acquire(key, rpm=rpm, tpm=tpm, tokens=cost)
        assert granted
        clock.now += wait
        starts.append(clock.now)
        costs.append(cost)
    return starts, costs


@pytest.mark.parametrize("rpm", [1, 7, 60, 500, 10_000])
def test_requests_never_exceed_the_limit_in_any_minute_and_use_at_least_98_percent(rpm):
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)
    starts, _ = saturate(limiter, clock, "k", rpm * 10 + 1, rpm=rpm)
    assert max_in_window(starts, 60.0) <= rpm
    ten_minutes = sum(1 for t in starts if t < starts[0] + 600)
    assert ten_minutes >= 0.98 * rpm * 10


def test_tokens_never_exceed_the_budget_and_use_at_least_98_percent():
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)
    rng = random.Random(7)
    sizes = [rng.randint(50, 3000) for _ in range(2000)]  # all within 2 % of the TPM
    starts, costs = saturate(
        limiter, clock, "k", len(sizes), rpm=10_000, tpm=200_000, tokens=sizes.__getitem__
    )
    assert max_in_window(starts, 60.0, costs) <= 200_000
    spent = sum(c for t, c in zip(starts, costs, strict=True) if t < starts[0] + 300)
    assert spent >= 0.98 * 200_000 * 5


def test_a_call_bigger_than_the_burst_borrows_and_the_next_calls_repay():
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)
    interval, capacity = budget(30_000, limiter.config)
    assert capacity == 300
    assert limiter.try_acquire("k", rpm=0, tpm=30_000, tokens=5000) == (True, 0.0)
    granted, wait = limiter.try_acquire("k", rpm=0, tpm=30_000, tokens=100)
    assert granted and wait == pytest.approx((5000 - (300 - 100)) * interval)  # the debt
    # An estimate above the whole budget is charged as the whole budget (it can never fit).
    clock.now += 3600
    limiter.try_acquire("k", rpm=0, tpm=30_000, tokens=10**9)
    assert limiter.try_acquire("k", rpm=0, tpm=30_000, tokens=1)[1] == pytest.approx(
        (30_000 - 300 + 1) * interval
    )


async def test_record_usage_refunds_an_overestimate_and_charges_an_underestimate():
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock, config=LimiterConfig(window_seconds=1))
    interval, _ = budget(1000, limiter.config)
    limiter.try_acquire("k", rpm=0, tpm=1000, tokens=600)
    assert limiter.try_acquire("k", rpm=0, tpm=1000, tokens=600)[1] == pytest.approx(600 * interval)
    clock.now += 1200 * interval  # both calls started; the bucket is empty again
    await limiter.record_usage("k", estimated=600, actual=100, tpm=1000)
    await limiter.record_usage("k", estimated=600, actual=100, tpm=1000)
    assert limiter.try_acquire("k", rpm=0, tpm=1000, tokens=500)[1] == 0.0
    await limiter.record_usage("k", estimated=10, actual=410, tpm=1000)  # used more than guessed
    assert limiter.try_acquire("k", rpm=0, tpm=1000, tokens=1)[1] > 0


def test_unlimited_budgets_never_wait():
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)
    assert all(
        limiter.try_acquire("k", rpm=0, tpm=0, tokens=10**6) == (True, 0.0) for _ in range(50)
    )


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1s", 1.0),
        ("6m0s", 360.0),
        ("20ms", 0.02),
        ("1h2m3.5s", 3723.5),
        ("0.5s", 0.5),
        ("12", 12.0),
        ("soon", None),
        ("", None),
    ],
)
def test_openai_reset_durations(text, seconds):
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_anthropic_reset_times_are_relative_to_the_wall_clock():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    assert parse_reset("2026-01-01T12:00:07Z", now) == pytest.approx(7.0)
    assert parse_reset("2026-01-01T12:00:00.250000+00:00", now) == pytest.approx(0.25)
    assert parse_reset("2026-01-01T11:59:00Z", now) == 0.0  # already past
    assert parse_reset("not a time", now) is None


def test_a_spent_budget_in_the_headers_pauses_until_its_reset():
    config = LimiterConfig()
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    openai = {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "200000",
        "x-ratelimit-remaining-tokens": "150000",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    assert pause_from_headers(openai, wall_now=now, config=config) == pytest.approx(0.12)
    low_tokens = {**openai, "x-ratelimit-remaining-requests": "499"}
    assert pause_from_headers(low_tokens, wall_now=now, config=config) == 0.0
    low_tokens["x-ratelimit-remaining-tokens"] = "900"  # under 0.5 % of 200 000
    assert pause_from_headers(low_tokens, wall_now=now, config=config) == pytest.approx(300.0)
    anthropic = {
        "Anthropic-Ratelimit-Requests-Remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-01-01T12:00:03Z",
        "anthropic-ratelimit-input-tokens-remaining": "0",
        "anthropic-ratelimit-input-tokens-reset": "2026-01-01T12:00:05Z",
    }
    assert pause_from_headers(anthropic, wall_now=now, config=config) == pytest.approx(5.0)
    assert (
        pause_from_headers({"x-ratelimit-remaining-requests": "3"}, wall_now=now, config=config)
        == 0
    )
    unknown_reset = {"x-ratelimit-remaining-requests": "0"}
    assert pause_from_headers(unknown_reset, wall_now=now, config=config) == config.default_pause


def test_retry_after_is_bounded():
    config = LimiterConfig(max_pause=30, default_pause=1)
    assert clamp_pause(None, config) == 1
    assert clamp_pause(-3, config) == 1
    assert clamp_pause(7.5, config) == 7.5
    assert clamp_pause(86_400, config) == 30


async def test_a_pause_holds_every_call_on_the_key_then_lifts():
    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)
    await limiter.penalize("k", 2.0)
    assert limiter.try_acquire("k", rpm=60, tpm=0, tokens=0) == (False, pytest.approx(2.0))
    assert limiter.try_acquire("other", rpm=60, tpm=0, tokens=0) == (True, 0.0)
    await limiter.penalize("k", 0.5)  # a shorter pause never shortens the current one
    clock.now += 2.0
    assert limiter.try_acquire("k", rpm=60, tpm=0, tokens=0) == (True, 0.0)
    assert KeyState().paused_until == 0.0


async def test_limited_call_feeds_429s_headers_and_usage_back(llm_server):
    from generation.providers import CompletionRequest, ProviderConfig, build_provider

    clock = FakeClock()
    limiter = InMemoryRateLimiter(clock)
    provider = build_provider(
        ProviderConfig("openai_compatible", "k", llm_server.openai_base_url, 5)
    )
    request = CompletionRequest(model="gpt-4o-mini", prompt="hello", max_tokens=50)
    llm_server.fail_next(1, status=429, headers={"retry-after": "4"})
    with pytest.raises(Exception, match="Rate limit"):
        await limited_call(
            limiter, "k", lambda: provider.complete(request), rpm=100, tpm=10_000, tokens=60
        )
    assert limiter.try_acquire("k", rpm=100, tpm=10_000, tokens=0)[0] is False  # paused 4 s
    clock.now += 4
    llm_server.requests_limit = 3  # the fake advertises 3 a minute and has counted 1 (the 429)
    completion = await limited_call(
        limiter, "k", lambda: provider.complete(request), rpm=100, tpm=10_000, tokens=60
    )
    assert completion.text
    assert limiter.try_acquire("k", rpm=100, tpm=10_000, tokens=0)[0] is True  # 1 left: go on
    await limited_call(
        limiter, "k", lambda: provider.complete(request), rpm=100, tpm=10_000, tokens=60
    )
    await provider.aclose()
    # Its headers now say 0 remaining until its minute resets: every call on the key waits.
    granted, wait = limiter.try_acquire("k", rpm=100, tpm=10_000, tokens=0)
    assert not granted and 55 <= wait <= 60
