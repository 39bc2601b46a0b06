"""The in-memory backend: one process (the embedded mode).

The in-process Dramatiq worker fills chunks on several threads, each running its own event loop,
so asyncio locks (bound to one loop) cannot guard the shared state: a ``threading.Lock`` does, held
only for the arithmetic, never across an await. Waiting is ``asyncio.sleep`` so a waiting call
never blocks its loop's other rows.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Mapping

from generation.ratelimit.core import (
    KeyState,
    LimiterConfig,
    clamp_pause,
    correct_usage,
    pause,
    pause_from_headers,
    reserve,
)


class InMemoryRateLimiter:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        config: LimiterConfig | None = None,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self.config = config or LimiterConfig()
        self._lock = threading.Lock()
        self._states: dict[str, KeyState] = {}

    def _state(self, key: str) -> KeyState:
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = KeyState()
        return state

    def try_acquire(self, key: str, *, rpm: int, tpm: int, tokens: int) -> tuple[bool, float]:
        """One step of ``acquire`` without the sleep: ``(granted, wait)``. For tests and for
        callers that schedule their own waiting."""
        with self._lock:
            grant = reserve(
                self._state(key), self._clock(), rpm=rpm, tpm=tpm, tokens=tokens, config=self.config
            )
        return grant.granted, grant.wait

    async def acquire(self, key: str, *, rpm: int, tpm: int, tokens: int) -> None:
        while True:
            granted, wait = self.try_acquire(key, rpm=rpm, tpm=tpm, tokens=tokens)
            if wait > 0:
                await self._sleep(wait)
            if granted:
                return

    async def record_usage(self, key: str, *, estimated: int, actual: int, tpm: int) -> None:
        with self._lock:
            correct_usage(
                self._state(key),
                self._clock(),
                estimated=estimated,
                actual=actual,
                tpm=tpm,
                config=self.config,
            )

    async def observe_headers(self, key: str, headers: Mapping[str, str]) -> None:
        seconds = pause_from_headers(headers, wall_now=self._wall_clock(), config=self.config)
        if seconds > 0:
            with self._lock:
                pause(self._state(key), self._clock(), seconds)

    async def penalize(self, key: str, retry_after: float | None) -> None:
        seconds = clamp_pause(retry_after, self.config)
        if seconds > 0:
            with self._lock:
                pause(self._state(key), self._clock(), seconds)

    async def aclose(self) -> None:
        return None
