"""Both limiter backends with a 2-second window (20 requests per 2 s stands for 500 a minute):
concurrent tasks, threads and (Redis) processes never exceed the limit in any window, yet keep it
full; tokens, header feedback, 429 pauses and key independence.

Time is virtual (tests/fakes/clock.py; the Redis scripts are given its time instead of reading
the server's): what a test measures is the limiter's own timeline, so a loaded machine's
scheduling delays cannot make it flake, and the seconds of pacing pass at once.

Redis tests use the real server at redis://127.0.0.1:6379/13. Each test has its own key prefix,
whose keys are deleted before and after it: a FLUSHDB would pull the floor from under another
run of this suite on the same server (CI jobs, a colleague's checkout)."""

import asyncio
import contextlib
import multiprocessing
import threading
import time
import uuid

import pytest
import redis

from generation.ratelimit import (
    InMemoryRateLimiter,
    LimiterConfig,
    RedisRateLimiter,
    build_rate_limiter,
    limiter,
)
from generation.ratelimit.core import KeyState, budget, reserve
from generation.ratelimit.redis_backend import PAUSE_STALE_LIMIT
from tests.fakes.clock import VirtualClock
from tests.generation.ratelimit.test_ratelimit_core import max_in_window

REDIS_URL = "redis://127.0.0.1:6379/13"
WINDOW = 2.0
LIMIT = 20
INTERVAL, _ = budget(LIMIT, LimiterConfig(window_seconds=WINDOW))


def flush_redis(prefix: str) -> None:
    """Delete this test's keys (its private slice of database 13)."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def new_prefix() -> str:
    return f"test-rl-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def clock():
    return VirtualClock()


def on_clock(clock: VirtualClock) -> dict:
    return {"clock": clock, "wall_clock": clock.wall, "sleep": clock.sleep}


@pytest.fixture(params=["memory", "redis"])
async def make_limiter(request, clock):
    """A factory of limiters of one backend sharing one namespace (for Redis: a fresh prefix in
    a flushed database), so two made in one test behave like two processes; all on ``clock``."""
    backend = request.param
    prefix = new_prefix()
    made = []
    if backend == "redis":
        flush_redis(prefix)

    def make(**overrides):
        config = LimiterConfig(**{"window_seconds": WINDOW, **overrides})
        if backend == "memory":
            made.append(made[0] if made else InMemoryRateLimiter(config=config, **on_clock(clock)))
        else:
            made.append(
                RedisRateLimiter(REDIS_URL, prefix=prefix, config=config, **on_clock(clock))
            )
        return made[-1]

    make.backend = backend
    yield make
    for item in made:
        await item.aclose()
    if backend == "redis":
        flush_redis(prefix)


def assert_full_but_never_over(times: list[float], count: int) -> None:
    times = sorted(times)
    assert len(times) == count
    assert max_in_window(times, WINDOW) == LIMIT  # never over, and the budget was used up
    # Paced at the limit: the last call left no later than its slot.
    assert times[-1] - times[0] <= (count - 1) * INTERVAL + 1e-3


async def test_concurrent_tasks_never_exceed_the_limit_in_any_window(make_limiter, clock):
    limiter_a, limiter_b = make_limiter(), make_limiter()
    times: list[float] = []
    remaining = [27]

    async def client(lim):
        while remaining[0] > 0:
            remaining[0] -= 1
            await lim.acquire("cred:model", rpm=LIMIT, tpm=0, tokens=0)
            times.append(clock())

    await clock.run(*(client(limiter_a if i % 2 else limiter_b) for i in range(8)))
    assert_full_but_never_over(times, 27)


async def test_threads_with_their_own_event_loops_share_the_budget(make_limiter, clock):
    shared = make_limiter()
    times: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(3)

    def thread_main() -> None:
        async def run() -> None:
            barrier.wait()
            for _ in range(9):
                await shared.acquire("cred:model", rpm=LIMIT, tpm=0, tokens=0)
                with lock:
                    times.append(clock())
            await shared.aclose()

        asyncio.run(clock.client(run()))

    threads = [threading.Thread(target=thread_main) for _ in range(3)]
    clock.expect(len(threads))
    for thread in threads:
        thread.start()
    await clock.drive(lambda: not any(thread.is_alive() for thread in threads))
    assert_full_but_never_over(times, 27)


def _process_client(prefix: str, start: float, barrier, results) -> None:
    """One worker process: two threads, each its own event loop, four calls each, all asked at
    the same instant ``start`` (a stopped clock shared by every process): the grants are then
    decided by Redis's check-and-charge alone, the property under test across processes."""

    def thread_main() -> None:
        async def run() -> None:
            lim = RedisRateLimiter(
                REDIS_URL,
                prefix=prefix,
                config=LimiterConfig(window_seconds=WINDOW),
                clock=lambda: start,
            )
            for _ in range(4):
                granted, wait = await lim.try_acquire("cred:model", rpm=LIMIT, tpm=0, tokens=0)
                assert granted
                results.put(start + wait)  # the slot the limiter granted, on its timeline
            await lim.aclose()

        asyncio.run(run())

    threads = [threading.Thread(target=thread_main) for _ in range(2)]
    barrier.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_redis_processes_share_one_budget():
    prefix = new_prefix()
    flush_redis(prefix)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    results = context.Queue()
    processes = [
        context.Process(target=_process_client, args=(prefix, 1000.0, barrier, results))
        for _ in range(3)
    ]
    for process in processes:
        process.start()
    barrier.wait(timeout=60)
    times = [results.get(timeout=30) for _ in range(24)]
    for process in processes:
        process.join(10)
        assert process.exitcode == 0
    flush_redis(prefix)
    assert_full_but_never_over(times, 24)


async def test_the_token_budget_is_respected(make_limiter, clock):
    lim = make_limiter(window_seconds=1.0)
    times: list[float] = []

    async def client() -> None:
        for _ in range(3):
            await lim.acquire("cred:model", rpm=1000, tpm=1000, tokens=20)
            times.append(clock())

    # 20 tokens a call against 1000 per window: at most 50 calls per window, paced.
    await clock.run(*(client() for _ in range(20)))
    assert len(times) == 60
    assert max_in_window(sorted(times), 1.0) * 20 == 1000  # full, never over
    big = []

    async def big_client() -> None:
        await lim.acquire("cred:big", rpm=1000, tpm=1000, tokens=400)
        big.append(clock())

    await clock.run(*(big_client() for _ in range(3)))
    big.sort()
    assert big[2] - big[0] >= 0.75  # 3 × 400 tokens do not fit one window of 1000


async def test_reported_usage_corrects_the_token_budget(make_limiter, clock):
    lim = make_limiter()
    await lim.acquire("k", rpm=0, tpm=1000, tokens=500)
    started = clock()
    await clock.run(lim.acquire("k", rpm=0, tpm=1000, tokens=500))
    assert clock() - started > 0.9  # waited for about half the window
    await lim.record_usage("k", estimated=500, actual=40, tpm=1000)
    await lim.record_usage("k", estimated=500, actual=40, tpm=1000)
    started = clock()
    await clock.run(lim.acquire("k", rpm=0, tpm=1000, tokens=500))
    assert clock() == started  # the refund made room at once


async def test_spent_budget_headers_pause_every_client_then_recover(make_limiter, clock):
    lim_a, lim_b = make_limiter(), make_limiter()
    await lim_a.observe_headers(
        "cred:model",
        {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "600ms"},
    )
    started = clock()
    waits = []

    async def client(lim):
        await lim.acquire("cred:model", rpm=600, tpm=0, tokens=0)
        waits.append(clock() - started)

    await clock.run(client(lim_a), client(lim_b), client(lim_b))
    assert min(waits) == pytest.approx(0.6)  # every client waited for the pause...
    assert max(waits) < 0.7  # ...and then went on, paced at 600 per window
    reset = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(clock.wall() + 1.5)) + "Z"
    await lim_b.observe_headers(  # Anthropic's shape; RFC 3339 reset, whole seconds
        "cred:model",
        {"anthropic-ratelimit-tokens-remaining": "0", "anthropic-ratelimit-tokens-reset": reset},
    )
    started = clock()
    await clock.run(lim_a.acquire("cred:model", rpm=600, tpm=0, tokens=0))
    assert 0.5 <= clock() - started <= 1.5
    started = clock()
    await clock.run(lim_a.acquire("cred:model", rpm=600, tpm=0, tokens=0))
    assert clock() - started < 0.01  # recovered: no more pause
    await lim_a.observe_headers("cred:model", {"x-ratelimit-remaining-requests": "250"})
    started = clock()
    await clock.run(lim_b.acquire("cred:model", rpm=600, tpm=0, tokens=0))
    assert clock() - started < 0.01


async def test_penalize_pauses_every_client_on_the_key_only(make_limiter, clock):
    lim_a, lim_b = make_limiter(), make_limiter()
    await lim_a.acquire("cred:model", rpm=600, tpm=0, tokens=0)
    await lim_b.penalize("cred:model", 0.7)
    started = clock()
    done: dict[str, float] = {}

    async def client(name, lim, key):
        await lim.acquire(key, rpm=600, tpm=0, tokens=0)
        done[name] = clock() - started

    await clock.run(
        client("a", lim_a, "cred:model"),
        client("b", lim_b, "cred:model"),
        client("other key", lim_a, "cred:other-model"),
    )
    assert done["a"] >= 0.7 and done["b"] >= 0.7
    assert done["other key"] == 0
    started = clock()
    await clock.run(lim_a.acquire("cred:model", rpm=600, tpm=0, tokens=0))
    assert clock() - started < 0.01  # recovered


async def test_keys_are_independent(make_limiter, clock):
    lim = make_limiter()
    started = clock()
    for key in ("1:gpt-4o-mini", "1:gpt-4o", "2:gpt-4o-mini"):
        await clock.run(lim.acquire(key, rpm=1, tpm=100, tokens=100))
    assert clock() == started  # each key had its own (tiny) budget
    await clock.run(lim.acquire("1:gpt-4o", rpm=1, tpm=100, tokens=100))
    assert clock() - started >= WINDOW  # while a second call on one key waits a window


async def test_redis_state_expires_once_it_no_longer_matters():
    prefix = new_prefix()
    lim = RedisRateLimiter(REDIS_URL, prefix=prefix, config=LimiterConfig(window_seconds=1))
    await lim.acquire("k", rpm=10, tpm=100, tokens=10)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        ttl = client.pttl(f"{prefix}:k")
        assert 0 < ttl <= 2000
    finally:
        client.close()
        await lim.aclose()
        flush_redis(prefix)


def test_build_rate_limiter_chooses_the_backend():
    assert build_rate_limiter("") is limiter
    assert build_rate_limiter(None) is limiter
    shared = build_rate_limiter(REDIS_URL)
    assert isinstance(shared, RedisRateLimiter)
    assert build_rate_limiter(REDIS_URL) is shared


@pytest.fixture
async def redis_limiter(clock):
    prefix = new_prefix()
    flush_redis(prefix)
    config = LimiterConfig(window_seconds=WINDOW)
    lim = RedisRateLimiter(REDIS_URL, prefix=prefix, config=config, **on_clock(clock))
    yield lim
    await lim.aclose()
    flush_redis(prefix)


def count_round_trips(lim: RedisRateLimiter, script: str) -> list[list]:
    """Record the arguments of each round trip this loop's client makes with ``script``."""
    entry = lim._client()
    original = getattr(entry, script)
    sent: list[list] = []

    async def counting(**kwargs):
        sent.append(list(kwargs["args"]))
        return await original(**kwargs)

    setattr(entry, script, counting)
    return sent


async def test_redis_asks_made_together_share_one_round_trip_paced_as_if_one_by_one(
    redis_limiter,
):
    sent = count_round_trips(redis_limiter, "acquire")
    tokens = [100, 300, 50, 700, 10, 400, 200, 90]
    grants = await asyncio.gather(
        *(redis_limiter.try_acquire("k", rpm=LIMIT, tpm=1000, tokens=t) for t in tokens)
    )
    assert len(sent) == 1  # eight calls, one round trip
    state, config = KeyState(), redis_limiter.config
    expected = [reserve(state, 0.0, rpm=LIMIT, tpm=1000, tokens=t, config=config) for t in tokens]
    # The same waits, in the same order, as eight separate check-and-charges (core.reserve).
    assert [granted for granted, _ in grants] == [True] * len(tokens)
    assert [wait for _, wait in grants] == pytest.approx([g.wait for g in expected], abs=1e-5)
    assert max(wait for _, wait in grants) > 1.0  # the group really was paced, not waved through


async def test_redis_asks_grouped_while_the_key_is_paused_all_wait_and_nothing_is_charged(
    redis_limiter, clock
):
    await redis_limiter.penalize("k", 0.5)
    clock.now += 0.1
    grants = await asyncio.gather(
        *(redis_limiter.try_acquire("k", rpm=LIMIT, tpm=0, tokens=0) for _ in range(5))
    )
    assert grants == [(False, pytest.approx(0.4))] * 5
    clock.now += 0.4
    # Nothing was charged during the pause: the burst capacity (1) is there at once.
    assert await redis_limiter.try_acquire("k", rpm=LIMIT, tpm=0, tokens=0) == (True, 0.0)


async def test_redis_usage_reports_made_together_share_one_round_trip(redis_limiter, clock):
    await redis_limiter.try_acquire("k", rpm=0, tpm=1000, tokens=500)
    granted, wait = await redis_limiter.try_acquire("k", rpm=0, tpm=1000, tokens=500)
    assert granted and wait > 0.9  # about half a window
    clock.now += wait  # the second call is made
    sent = count_round_trips(redis_limiter, "usage")
    await asyncio.gather(
        *(redis_limiter.record_usage("k", estimated=500, actual=40, tpm=1000) for _ in range(2))
    )
    assert len(sent) == 1
    # Both refunds were booked: the next call has room at once.
    assert await redis_limiter.try_acquire("k", rpm=0, tpm=1000, tokens=500) == (True, 0.0)


@contextlib.asynccontextmanager
async def two_redis_workers(clock, **config):
    """Two Redis limiters sharing a fresh namespace, as two worker processes would."""
    prefix = new_prefix()
    config = LimiterConfig(window_seconds=WINDOW, **config)
    pair = [
        RedisRateLimiter(REDIS_URL, prefix=prefix, config=config, **on_clock(clock))
        for _ in range(2)
    ]
    try:
        yield pair
    finally:
        for lim in pair:
            await lim.aclose()
        flush_redis(prefix)


async def background_reads(lim: RedisRateLimiter) -> None:
    """Wait for the pause reads ``lim`` sent in the background (a real round trip each)."""
    await asyncio.gather(*lim._client().pause_reads.values(), return_exceptions=True)


async def test_redis_unlimited_key_reads_its_pause_once_per_recheck_not_once_per_call(clock):
    async with two_redis_workers(clock, pause_recheck=0.3) as (mine, other_worker):
        sent = count_round_trips(mine, "acquire")
        for _ in range(20):  # a self-hosted server: no RPM, no TPM
            assert await mine.try_acquire("k", rpm=0, tpm=0, tokens=500) == (True, 0.0)
        assert len(sent) == 1
        # Another worker is told to back off (a 429): this one sees it at its next read.
        await other_worker.penalize("k", 1.0)
        assert await mine.try_acquire("k", rpm=0, tpm=0, tokens=500) == (True, 0.0)
        clock.now += 0.35
        # Its read is older than the recheck period: this ask goes on with it (no wait) and a
        # new read goes out in the background; the asks after it see the pause.
        assert await mine.try_acquire("k", rpm=0, tpm=0, tokens=500) == (True, 0.0)
        await background_reads(mine)
        clock.now += 0.05
        assert await mine.try_acquire("k", rpm=0, tpm=0, tokens=500) == (False, pytest.approx(0.6))
        assert len(sent) == 2
        # Limited keys are charged by Redis on every call, as before.
        for _ in range(3):
            await mine.try_acquire("limited", rpm=LIMIT, tpm=0, tokens=0)
        assert len(sent) == 5


async def test_redis_unlimited_key_knows_its_own_pause_at_once(redis_limiter):
    assert await redis_limiter.try_acquire("k", rpm=0, tpm=0, tokens=0) == (True, 0.0)
    sent = count_round_trips(redis_limiter, "acquire")
    await redis_limiter.penalize("k", 0.5)  # this worker's own 429
    granted, wait = await redis_limiter.try_acquire("k", rpm=0, tpm=0, tokens=0)
    assert (granted, wait) == (False, pytest.approx(0.5))
    assert sent == []  # known without asking Redis again


async def test_redis_unlimited_key_waits_for_a_new_read_when_the_last_is_too_old(clock):
    async with two_redis_workers(clock, pause_recheck=0.02) as (mine, other_worker):
        assert await mine.try_acquire("k", rpm=0, tpm=0, tokens=0) == (True, 0.0)
        await other_worker.penalize("k", 1.0)
        clock.now += 0.02 * PAUSE_STALE_LIMIT + 0.05  # idle: the last read is too old
        granted, wait = await mine.try_acquire("k", rpm=0, tpm=0, tokens=0)
        # Read before answering: the pause is seen.
        assert (granted, wait) == (False, pytest.approx(1.0 - 0.02 * PAUSE_STALE_LIMIT - 0.05))


async def test_redis_unlimited_key_with_redis_gone_goes_on_briefly_then_fails_with_its_error(
    redis_limiter, clock
):
    redis_limiter.config = LimiterConfig(window_seconds=WINDOW, pause_recheck=0.02)
    assert await redis_limiter.try_acquire("k", rpm=0, tpm=0, tokens=0) == (True, 0.0)
    entry = redis_limiter._client()
    script = entry.acquire

    async def redis_gone(**kwargs):
        raise redis.ConnectionError("Connection refused (Redis is down)")

    entry.acquire = redis_gone
    clock.now += 0.03
    # The read is stale: the ask goes on with it and the failed background read is no error.
    assert await redis_limiter.try_acquire("k", rpm=0, tpm=0, tokens=0) == (True, 0.0)
    await background_reads(redis_limiter)
    clock.now += 0.02 * PAUSE_STALE_LIMIT
    # Too old to answer from: the ask waits for a read and gets Redis's own error.
    with pytest.raises(redis.ConnectionError, match="Redis is down"):
        await redis_limiter.try_acquire("k", rpm=0, tpm=0, tokens=0)
    entry.acquire = script  # Redis is back: the next ask reads again and goes on
    assert await redis_limiter.try_acquire("k", rpm=0, tpm=0, tokens=0) == (True, 0.0)
