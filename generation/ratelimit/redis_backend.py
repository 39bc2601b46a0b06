"""The Redis backend: one budget shared by every worker process on every machine.

Each key is one Redis hash (``<prefix>:<key>``: fields ``r`` and ``t``, the request and token
theoretical arrival times, and ``p``, the end of a pause). Each operation is one Lua script, so
check-and-charge is atomic across clients, and one round trip (EVALSHA; redis-py loads the
script again on NOSCRIPT). The asks for one key that an event loop makes while its round trip
for that key is out go together in the next one (coalesce.py): the script charges them one after
the other, as separate round trips would have. Times come from Redis's own ``TIME``, never
from the clients, so machines with skewed clocks share one timeline; a client only receives a
relative wait. A test may give the limiter a ``clock`` instead: every script takes the time as
its first argument, empty in production (Redis's ``TIME``), so a test runs on a fake clock. The
hash expires once it no longer matters (its state is then the same as a fresh key's).

A key with no limit (rpm and tpm ≤ 0, a self-hosted server) has nothing to charge and only its
pause to honour: each loop answers from the pause it read last (and from its own pauses, known
at once), reading it again in the background once that is ``LimiterConfig.pause_recheck``
seconds old; only a read older than ``PAUSE_STALE_LIMIT`` recheck periods (Redis slow or gone)
is waited for. That spares such calls a round trip each.

``redis.asyncio`` connections belong to the event loop that opened them, and a process runs
several loops (one per worker thread; ``asyncio.run`` per Dramatiq message), so the limiter keeps
one client per running loop, drops those of closed loops, and ``aclose()`` closes the current
loop's client (call it before the loop ends).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import redis.asyncio as aioredis

from generation.ratelimit.coalesce import Coalescer
from generation.ratelimit.core import (
    DEFAULT_PREFIX,
    LimiterConfig,
    clamp_pause,
    pause_from_headers,
)

_COMMON_LUA = """
local function now_s()
  if ARGV[1] ~= '' then return tonumber(ARGV[1]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local function fmt(x) return string.format('%.6f', x) end
local function budget(limit, window, margin, burst)
  local capacity = math.max(1, math.floor(limit * burst))
  return window * (1 + margin) / (limit + 1 - capacity), capacity
end
local function keep_until(key, now, horizon)
  local ms = math.ceil((horizon - now) * 1000)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
"""

# Every script's ARGV[1] is the time to use, or '' for Redis's own TIME (production).
# KEYS[1] the key's hash; ARGV now, rpm, tpm, window, margin, burst_fraction, then one token
# estimate per call asking. The calls are charged one after the other, as if each had its own
# round trip.
# Returns {granted (0: paused, nothing charged), then one wait in seconds per call, as strings
# (Lua numbers would be truncated); paused: a single wait, the pause's}. Mirrors core.reserve.
ACQUIRE_LUA = (
    _COMMON_LUA
    + """
local key = KEYS[1]
local rpm, tpm = tonumber(ARGV[2]), tonumber(ARGV[3])
local window, margin, burst = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_s()
local state = redis.call('HMGET', key, 'r', 't', 'p')
local paused = tonumber(state[3]) or 0
if paused > now then return {0, fmt(paused - now)} end
local rtat = tonumber(state[1]) or now
local ttat = tonumber(state[2]) or now
local ri, rc, ti, tc
if rpm > 0 then ri, rc = budget(rpm, window, margin, burst) end
if tpm > 0 then ti, tc = budget(tpm, window, margin, burst) end
local answer = {1}
local horizon = now
local requests, tokens_charged = false, false
for i = 7, #ARGV do
  local tokens = tonumber(ARGV[i])
  local start = now
  local cost = 0
  if rpm > 0 then start = math.max(start, rtat - (rc - 1) * ri) end
  if tpm > 0 and tokens > 0 then
    cost = math.min(tokens, tpm)
    start = math.max(start, ttat - (tc - math.min(cost, tc)) * ti)
  end
  horizon = math.max(horizon, start)
  if rpm > 0 then
    rtat = math.max(rtat, start) + ri
    horizon = math.max(horizon, rtat)
    requests = true
  end
  if cost > 0 then
    ttat = math.max(ttat, start) + cost * ti
    horizon = math.max(horizon, ttat)
    tokens_charged = true
  end
  answer[#answer + 1] = fmt(start - now)
end
if requests then redis.call('HSET', key, 'r', fmt(rtat)) end
if tokens_charged then redis.call('HSET', key, 't', fmt(ttat)) end
if requests or tokens_charged then keep_until(key, now, horizon + window) end
return answer
"""
)

# KEYS[1]; ARGV now, tpm, window, margin, burst_fraction, then (estimated, actual) per call,
# applied one after the other. Mirrors core.correct_usage.
USAGE_LUA = (
    _COMMON_LUA
    + """
local key = KEYS[1]
local tpm = tonumber(ARGV[2])
local window, margin, burst = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if tpm <= 0 then return 0 end
local now = now_s()
local ti = budget(tpm, window, margin, burst)
local stored = tonumber(redis.call('HGET', key, 't'))
local ttat = stored or now
local changed = false
for i = 6, #ARGV - 1, 2 do
  local estimated, actual = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local delta = math.min(math.max(actual, 0), tpm) - math.min(math.max(estimated, 0), tpm)
  if delta ~= 0 then
    ttat = math.max(now, math.max(ttat, now) + delta * ti)
    changed = true
  end
end
if not changed then return 0 end
redis.call('HSET', key, 't', fmt(ttat))
keep_until(key, now, ttat + window)
return 1
"""
)

# KEYS[1]; ARGV now, seconds, window. Extends (never shortens) the pause. Mirrors core.pause.
PAUSE_LUA = (
    _COMMON_LUA
    + """
local key = KEYS[1]
local seconds, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_s()
local current = tonumber(redis.call('HGET', key, 'p')) or 0
local target = math.max(current, now + seconds)
redis.call('HSET', key, 'p', fmt(target))
keep_until(key, now, target + window)
return fmt(target - now)
"""
)


def _server_time() -> str:
    return ""  # the scripts read Redis's own TIME


# Redis connections per event loop (a loop fills one chunk); commands wait for a free one.
LOOP_CONNECTIONS = 4

# An unlimited key's pause read more than this many recheck periods ago is not answered from:
# the ask waits for a new read (and sees Redis's error if it is down).
PAUSE_STALE_LIMIT = 10


def _forget_read(client: _LoopClient, redis_key: str, task: asyncio.Task[Any]) -> None:
    if client.pause_reads.get(redis_key) is task:
        del client.pause_reads[redis_key]
    if not task.cancelled():
        task.exception()  # a failed background read is retried by a later ask; not an error here


@dataclass
class _LoopClient:
    loop: asyncio.AbstractEventLoop
    client: aioredis.Redis
    # The time each script is given: '' (Redis's own TIME) unless a test set a clock.
    script_now: Callable[[], str | float]
    acquire: Any
    usage: Any
    pause: Any
    # The loop's asks for one key while a round trip for it is out go together (coalesce.py).
    acquires: Coalescer[int, tuple[bool, float]] = field(init=False)
    usages: Coalescer[tuple[int, int], None] = field(init=False)
    # Unlimited keys: Redis key -> (end of its pause, when that was read), on the monotonic
    # clock of this process.
    pauses: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Reads of those pauses under way in the background, by Redis key.
    pause_reads: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.acquires = Coalescer(self._send_acquires)
        self.usages = Coalescer(self._send_usages)

    async def _send_acquires(
        self, group: Hashable, tokens: Sequence[int]
    ) -> list[tuple[bool, float]]:
        redis_key, rpm, tpm, budget_args = cast("tuple[str, int, int, tuple[float, ...]]", group)
        granted, *waits = await self.acquire(
            keys=[redis_key], args=[self.script_now(), rpm, tpm, *budget_args, *tokens]
        )
        if not int(granted):  # paused: nothing was charged, every ask waits for the pause
            return [(False, float(waits[0]))] * len(tokens)
        return [(True, float(wait)) for wait in waits]

    async def _send_usages(self, group: Hashable, pairs: Sequence[tuple[int, int]]) -> list[None]:
        redis_key, tpm, budget_args = cast("tuple[str, int, tuple[float, ...]]", group)
        await self.usage(
            keys=[redis_key],
            args=[
                self.script_now(),
                tpm,
                *budget_args,
                *(number for pair in pairs for number in pair),
            ],
        )
        return [None] * len(pairs)


class RedisRateLimiter:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        config: LimiterConfig | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``clock``, ``wall_clock`` and ``sleep`` are for tests (a fake clock): with no
        ``clock``, Redis's TIME is the budget's clock and ``time.monotonic`` the process's."""
        self.url = url
        self.prefix = prefix
        self.config = config or LimiterConfig()
        self._clock = clock or time.monotonic
        self._script_now: Callable[[], str | float] = clock or _server_time
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._clients: dict[int, _LoopClient] = {}

    def _redis_key(self, key: str) -> str:
        return f"{self.prefix}:{key}"

    def _client(self) -> _LoopClient:
        loop = asyncio.get_running_loop()
        with self._lock:
            # A closed loop's connections can never be used again; forget them.
            for loop_id in [i for i, c in self._clients.items() if c.loop.is_closed()]:
                del self._clients[loop_id]
            entry = self._clients.get(id(loop))
            if entry is None or entry.loop is not loop:
                # A few connections per loop: a chunk's rows all ask at once when it starts, and
                # an unbounded pool opened one connection each (~1 ms of CPU apiece, per chunk).
                client = aioredis.Redis.from_pool(
                    aioredis.BlockingConnectionPool.from_url(
                        self.url, max_connections=LOOP_CONNECTIONS
                    )
                )
                entry = _LoopClient(
                    loop,
                    client,
                    self._script_now,
                    client.register_script(ACQUIRE_LUA),
                    client.register_script(USAGE_LUA),
                    client.register_script(PAUSE_LUA),
                )
                self._clients[id(loop)] = entry
            return entry

    def _budget_args(self) -> tuple[float, float, float]:
        c = self.config
        return (c.window_seconds, c.margin, c.burst_fraction)

    async def try_acquire(self, key: str, *, rpm: int, tpm: int, tokens: int) -> tuple[bool, float]:
        """Check and charge, in one round trip shared with this loop's other asks for the same
        key made meanwhile: ``(granted, wait)``."""
        redis_key, client = self._redis_key(key), self._client()
        group = (redis_key, max(0, rpm), max(0, tpm), self._budget_args())
        if rpm > 0 or tpm > 0:
            return await client.acquires.ask(group, max(0, tokens))
        paused_until, read_at = client.pauses.get(redis_key, (0.0, float("-inf")))
        now = self._clock()
        recheck = self.config.pause_recheck
        if now - read_at > PAUSE_STALE_LIMIT * recheck:  # never read, or Redis slow or gone
            return await self._read_pause(client, group)
        if now - read_at > recheck and redis_key not in client.pause_reads:
            read = asyncio.get_running_loop().create_task(self._read_pause(client, group))
            client.pause_reads[redis_key] = read
            read.add_done_callback(lambda task: _forget_read(client, redis_key, task))
        return (True, 0.0) if paused_until <= now else (False, paused_until - now)

    async def _read_pause(self, client: _LoopClient, group: tuple) -> tuple[bool, float]:
        """An unlimited key's pause, read (an acquire that charges nothing) and remembered."""
        granted, wait = await client.acquires.ask(group, 0)
        now = self._clock()
        client.pauses[group[0]] = (now if granted else now + wait, now)
        return granted, wait

    async def acquire(self, key: str, *, rpm: int, tpm: int, tokens: int) -> None:
        while True:
            granted, wait = await self.try_acquire(key, rpm=rpm, tpm=tpm, tokens=tokens)
            if wait > 0:
                await self._sleep(wait)
            if granted:
                return

    async def record_usage(self, key: str, *, estimated: int, actual: int, tpm: int) -> None:
        if tpm <= 0 or estimated == actual:
            return  # nothing to correct: spare the round trip
        group = (self._redis_key(key), tpm, self._budget_args())
        await self._client().usages.ask(group, (estimated, actual))

    async def _pause(self, key: str, seconds: float) -> None:
        redis_key, client = self._redis_key(key), self._client()
        remaining = float(
            await client.pause(
                keys=[redis_key],
                args=[self._script_now(), seconds, self.config.window_seconds],
            )
        )
        now = self._clock()
        client.pauses[redis_key] = (now + remaining, now)  # this loop knows at once

    async def observe_headers(self, key: str, headers: Mapping[str, str]) -> None:
        seconds = pause_from_headers(headers, wall_now=self._wall_clock(), config=self.config)
        if seconds > 0:
            await self._pause(key, seconds)

    async def penalize(self, key: str, retry_after: float | None) -> None:
        seconds = clamp_pause(retry_after, self.config)
        if seconds > 0:
            await self._pause(key, seconds)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            entry = self._clients.pop(id(loop), None)
        if entry is not None and entry.loop is loop:
            reads = list(entry.pause_reads.values())
            for read in reads:
                read.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
            await entry.client.aclose()
