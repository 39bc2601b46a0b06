"""Virtual time for code that reads a clock and sleeps through callables it was given (the rate
limiters' ``clock``, ``wall_clock`` and ``sleep``).

Time moves only when every client is asleep: the earliest sleeper wakes with the clock set to
its wake-up time. Concurrent tasks, threads (each with its own loop) and real Redis round trips
then interleave as they would in real time, but a loaded machine's scheduling delays cannot show
up in what a test measures, and a test of several seconds runs at once.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from collections.abc import Awaitable, Callable
from typing import Any

# The wall clock is the monotonic one shifted to a plausible Unix time.
WALL_EPOCH = 1_700_000_000.0


class VirtualClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._lock = threading.Lock()
        self._sleepers: list[tuple[float, int, asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._order = itertools.count()
        self._clients = 0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL_EPOCH + self.now

    async def sleep(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        wake = loop.create_future()
        with self._lock:
            entry = (self.now + max(0.0, seconds), next(self._order), loop, wake)
            heapq.heappush(self._sleepers, entry)
        await wake

    def expect(self, clients: int) -> None:
        """Announce clients before they start (threads), so time waits for them."""
        with self._lock:
            self._clients += clients

    async def client(self, work: Awaitable[Any]) -> Any:
        """Run ``work`` as one of the announced clients (from any thread's loop)."""
        try:
            return await work
        finally:
            with self._lock:
                self._clients -= 1

    async def drive(self, done: Callable[[], bool], timeout: float = 60.0) -> None:
        """Advance time until ``done()``: whenever every client sleeps, wake the earliest.
        Polls in real time, so clients waiting for I/O (Redis) are waited for."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            assert loop.time() < deadline, "virtual clock: clients neither slept nor finished"
            await asyncio.sleep(0.001)
            with self._lock:
                if not self._sleepers or len(self._sleepers) < self._clients:
                    continue
                wake_at, _, sleeper_loop, wake = heapq.heappop(self._sleepers)
                self.now = max(self.now, wake_at)
            sleeper_loop.call_soon_threadsafe(_wake, wake)

    async def run(self, *works: Awaitable[Any]) -> list[Any]:
        """Run ``works`` concurrently as clients on this loop, driving time until all are done."""
        self.expect(len(works))
        tasks = [asyncio.ensure_future(self.client(work)) for work in works]
        await self.drive(lambda: all(task.done() for task in tasks))
        return [task.result() for task in tasks]


def _wake(wake: asyncio.Future) -> None:
    if not wake.done():
        wake.set_result(None)
