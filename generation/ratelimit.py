"""Requests-per-minute limiting per (credential, model).

The seam every provider call goes through: ``await limiter.acquire(key, rpm=...)``. This is the
in-memory backend (one process: the embedded mode); it is a token bucket guarded by a thread lock
because the in-process worker fills chunks on several threads, each with its own event loop, so
asyncio primitives cannot be shared. The shared Redis backend and header feedback plug in here.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    capacity: float
    tokens: float
    refill_per_second: float
    updated: float


class InMemoryRateLimiter:
    def __init__(self, clock: callable = time.monotonic) -> None:  # type: ignore[valid-type]
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def reserve(self, key: str, *, per_minute: int) -> float:
        """Take one request from the bucket; return how long to wait before sending it."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            rate = per_minute / 60.0
            # A small burst lets a run start at full speed without exceeding the minute's budget.
            capacity = max(1.0, per_minute / 60.0)
            if bucket is None or bucket.refill_per_second != rate:
                bucket = _Bucket(capacity, capacity, rate, now)
                self._buckets[key] = bucket
            bucket.tokens = min(
                bucket.capacity, bucket.tokens + (now - bucket.updated) * bucket.refill_per_second
            )
            bucket.updated = now
            bucket.tokens -= 1.0
            if bucket.tokens >= 0:
                return 0.0
            return -bucket.tokens / bucket.refill_per_second

    async def acquire(self, key: str, *, per_minute: int) -> None:
        wait = self.reserve(key, per_minute=per_minute)
        if wait > 0:
            await asyncio.sleep(wait)


# One per process, shared by every chunk the process fills.
limiter = InMemoryRateLimiter()
