"""Virtual time for code that reads a clock and sleeps through callables it was given (the rate
limiters' ``clock``, ``wall_clock`` and ``sleep``; the live consumer's ``live.clock`` and
``live.sleep``).

Time moves only when every client is asleep: the earliest sleeper wakes with the clock set to
its wake-up time. Concurrent tasks, threads (each with its own loop) and real Redis round trips
then interleave as they would in real time, but a loaded machine's scheduling delays cannot show
up in what a test measures, and a test of several seconds runs at once. ``drive`` moves time for
clients it was told of; a test that knows better when the code under test is idle moves it
itself with ``wake_next`` (tests/generation/live/test_live_consumer.py).
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
        self._sleepers: list[
            tuple[float, int, asyncio.AbstractEventLoop, asyncio.Future, asyncio.Task | None]
        ] = []
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
            entry = (
                self.now + max(0.0, seconds),
                next(self._order),
                loop,
                wake,
                asyncio.current_task(),
            )
            heapq.heappush(self._sleepers, entry)
        await wake

    def spend(self, seconds: float) -> None:
        """Work that takes time: the clock moves on and wakes no one (a sleeper due meanwhile
        wakes late, as on a busy machine)."""
        with self._lock:
            self.now += seconds

    def asleep(self, task: asyncio.Task | None) -> bool:
        """Whether ``task`` waits in ``sleep``, not woken yet."""
        with self._lock:
            return any(entry[4] is task and not entry[3].done() for entry in self._sleepers)

    def wake_next(self, until: float) -> bool:
        """Wake the earliest sleeper due by ``until``, the clock set to its wake-up time; False
        when none is due. For a test that moves time itself instead of ``drive``."""
        with self._lock:
            while self._sleepers and self._sleepers[0][0] <= until:
                wake_at, _, sleeper_loop, wake, _ = heapq.heappop(self._sleepers)
                if not wake.done():  # else its sleeper was cancelled
                    self.now = max(self.now, wake_at)
                    break
            else:
                return False
        sleeper_loop.call_soon_threadsafe(_wake, wake)
        return True

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
                wake_at, _, sleeper_loop, wake, _ = heapq.heappop(self._sleepers)
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
