"""The Redis backend: one budget shared by every worker process on every machine.

Each key is one Redis hash (``<prefix>:<key>``: fields ``r`` and ``t``, the request and token
theoretical arrival times, and ``p``, the end of a pause). Each operation is one Lua script, so
check-and-charge is atomic across clients, and one round trip (EVALSHA; redis-py loads the
script again on NOSCRIPT). Times come from Redis's own ``TIME``, never from the clients, so
machines with skewed clocks share one timeline; a client only receives a relative wait. The
hash expires once it no longer matters (its state is then the same as a fresh key's).

``redis.asyncio`` connections belong to the event loop that opened them, and a process runs
several loops (one per worker thread; ``asyncio.run`` per Dramatiq message), so the limiter keeps
one client per running loop, drops those of closed loops, and ``aclose()`` closes the current
loop's client (call it before the loop ends).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from generation.ratelimit.core import (
    DEFAULT_PREFIX,
    LimiterConfig,
    clamp_pause,
    pause_from_headers,
)

_COMMON_LUA = """
local function now_s()
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

# KEYS[1] the key's hash; ARGV rpm, tpm, tokens, window, margin, burst_fraction.
# Returns {granted (0: paused), wait seconds as a string (Lua numbers would be truncated)}.
# Mirrors core.reserve.
ACQUIRE_LUA = (
    _COMMON_LUA
    + """
local key = KEYS[1]
local rpm, tpm, tokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, margin, burst = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_s()
local state = redis.call('HMGET', key, 'r', 't', 'p')
local paused = tonumber(state[3]) or 0
if paused > now then return {0, fmt(paused - now)} end
local rtat = tonumber(state[1]) or now
local ttat = tonumber(state[2]) or now
local start = now
local ri, rc, ti, tc
local cost = 0
if rpm > 0 then
  ri, rc = budget(rpm, window, margin, burst)
  start = math.max(start, rtat - (rc - 1) * ri)
end
if tpm > 0 and tokens > 0 then
  cost = math.min(tokens, tpm)
  ti, tc = budget(tpm, window, margin, burst)
  start = math.max(start, ttat - (tc - math.min(cost, tc)) * ti)
end
local horizon = start
if rpm > 0 then
  rtat = math.max(rtat, start) + ri
  redis.call('HSET', key, 'r', fmt(rtat))
  horizon = math.max(horizon, rtat)
end
if cost > 0 then
  ttat = math.max(ttat, start) + cost * ti
  redis.call('HSET', key, 't', fmt(ttat))
  horizon = math.max(horizon, ttat)
end
if rpm > 0 or cost > 0 then keep_until(key, now, horizon + window) end
return {1, fmt(start - now)}
"""
)

# KEYS[1]; ARGV estimated, actual, tpm, window, margin, burst_fraction. Mirrors core.correct_usage.
USAGE_LUA = (
    _COMMON_LUA
    + """
local key = KEYS[1]
local estimated, actual, tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local window, margin, burst = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
if tpm <= 0 then return 0 end
local delta = math.min(math.max(actual, 0), tpm) - math.min(math.max(estimated, 0), tpm)
if delta == 0 then return 0 end
local now = now_s()
local ti = budget(tpm, window, margin, burst)
local ttat = tonumber(redis.call('HGET', key, 't')) or now
local new = math.max(now, math.max(ttat, now) + delta * ti)
redis.call('HSET', key, 't', fmt(new))
keep_until(key, now, new + window)
return 1
"""
)

# KEYS[1]; ARGV seconds, window. Extends (never shortens) the pause. Mirrors core.pause.
PAUSE_LUA = (
    _COMMON_LUA
    + """
local key = KEYS[1]
local seconds, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_s()
local current = tonumber(redis.call('HGET', key, 'p')) or 0
local target = math.max(current, now + seconds)
redis.call('HSET', key, 'p', fmt(target))
keep_until(key, now, target + window)
return fmt(target - now)
"""
)


# Redis connections per event loop (a loop fills one chunk); commands wait for a free one.
LOOP_CONNECTIONS = 4


@dataclass
class _LoopClient:
    loop: asyncio.AbstractEventLoop
    client: aioredis.Redis
    acquire: Any
    usage: Any
    pause: Any


class RedisRateLimiter:
    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        config: LimiterConfig | None = None,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.config = config or LimiterConfig()
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
                    client.register_script(ACQUIRE_LUA),
                    client.register_script(USAGE_LUA),
                    client.register_script(PAUSE_LUA),
                )
                self._clients[id(loop)] = entry
            return entry

    def _budget_args(self) -> list[float]:
        c = self.config
        return [c.window_seconds, c.margin, c.burst_fraction]

    async def try_acquire(self, key: str, *, rpm: int, tpm: int, tokens: int) -> tuple[bool, float]:
        """One check-and-charge round trip: ``(granted, wait)``."""
        scripts = self._client()
        granted, wait = await scripts.acquire(
            keys=[self._redis_key(key)],
            args=[max(0, rpm), max(0, tpm), max(0, tokens), *self._budget_args()],
        )
        return bool(int(granted)), float(wait)

    async def acquire(self, key: str, *, rpm: int, tpm: int, tokens: int) -> None:
        while True:
            granted, wait = await self.try_acquire(key, rpm=rpm, tpm=tpm, tokens=tokens)
            if wait > 0:
                await asyncio.sleep(wait)
            if granted:
                return

    async def record_usage(self, key: str, *, estimated: int, actual: int, tpm: int) -> None:
        if tpm <= 0 or estimated == actual:
            return  # nothing to correct: spare the round trip
        await self._client().usage(
            keys=[self._redis_key(key)], args=[estimated, actual, tpm, *self._budget_args()]
        )

    async def _pause(self, key: str, seconds: float) -> None:
        await self._client().pause(
            keys=[self._redis_key(key)], args=[seconds, self.config.window_seconds]
        )

    async def observe_headers(self, key: str, headers: Mapping[str, str]) -> None:
        seconds = pause_from_headers(headers, wall_now=time.time(), config=self.config)
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
            await entry.client.aclose()
