"""The bound on a worker's provider calls: how many are in flight, how many are paid for but not
yet in the ledger, and which waiting call goes next.

A call takes a slot before it is sent and gives it back as soon as the answer arrives (the
provider's HTTP response hook, ``providers.answer_hook.on_answer``, before the SDK reads and parses it):
the next row's call goes out at once, instead of after the SDK, the engine and the database have
dealt with the answer (a group commit frees many slots together and keeps their calls in
lockstep; and a round of answers arriving together, handled first come first served, kept every
next call waiting for the whole round: docs/performance.md).
The answer still has to reach the ledger before a killed worker would pay for it again, so each
call also holds one of ``2 × limit`` "unrecorded" places until its ledger entry is committed: when
the database is slow, calls stop going out after at most ``limit`` more, and a worker killed at
any moment has paid for at most ``2 × limit`` calls the ledger does not know.

Waiting calls go in order of their ``priority`` (lowest first; equal ones first come, first
served), not of arrival. The chunks of a worker process share its slots and each passes its
start order: the oldest chunk's rows go first and it finishes while the younger ones still have
rows waiting, so when it ends (and its thread loads the next chunk) those rows take its slots at
once. Served in arrival order, chunks that started together progress together and run out of
rows together, leaving every slot idle for about half a call's latency each time
(docs/performance.md)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Any


class PrioritySemaphore:
    """``asyncio.Semaphore`` whose waiters are served lowest priority first. A released place
    goes straight to the next waiter, so a newcomer never overtakes one that waits."""

    def __init__(self, value: int) -> None:
        self._free = value
        self._waiters: list[tuple[Any, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()

    async def acquire(self, priority: Any = ()) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrival), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # handed a place just as it was cancelled: pass it on
            raise

    def available(self) -> int:
        return self._free

    def release(self) -> bool:
        """Give a place back; True when it went to a waiting call."""
        while self._waiters:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():  # a cancelled waiter is skipped
                future.set_result(None)
                return True
        self._free += 1
        return False


class CallLease:
    """One call's two places, each given back at most once: the in-flight slot by whichever
    comes first of the provider's answer arriving (its response hook, before the SDK reads and
    parses the body), the call's end or its failure; the unrecorded place once its ledger entry
    is committed, or with the slot when nothing was paid."""

    __slots__ = ("_slots", "_answered", "_recorded")

    def __init__(self, slots: CallSlots) -> None:
        self._slots = slots
        self._answered = False
        self._recorded = False

    def answered(self) -> bool:
        """The answer is in: the in-flight slot goes to the next call. True when a waiting call
        got it (the first time only)."""
        if self._answered:
            return False
        self._answered = True
        return self._slots.answered()

    def recorded(self) -> None:
        if not self._recorded:
            self._recorded = True
            self._slots.recorded()

    def release(self) -> None:
        """Never paid for (not sent, or failed): both places."""
        self.answered()
        self.recorded()


class CallSlots:
    def __init__(self, limit: int) -> None:
        limit = max(1, limit)
        self._in_flight = PrioritySemaphore(limit)
        self._unrecorded = PrioritySemaphore(2 * limit)

    async def lease(self, priority: Any = ()) -> CallLease:
        """``acquire``, as a lease that gives each place back at most once."""
        await self.acquire(priority)
        return CallLease(self)

    async def acquire(self, priority: Any = ()) -> None:
        # The in-flight slot first: that is where calls queue, in priority order. Only a call
        # holding one waits for an unrecorded place, and only while the ledger lags; no other
        # call could go out then anyway.
        await self._in_flight.acquire(priority)
        try:
            await self._unrecorded.acquire(priority)
        except BaseException:
            self._in_flight.release()
            raise

    def answered(self) -> bool:
        """The call is over (answered or failed): its in-flight slot goes to the next call.
        True when a waiting call got it."""
        return self._in_flight.release()

    def recorded(self) -> None:
        """The call's ledger entry is committed, or there is none to write (it failed)."""
        self._unrecorded.release()

    def release(self) -> None:
        """A call that was never paid for (not sent, or failed): both at once."""
        self.answered()
        self.recorded()

    def available(self) -> tuple[int, int]:
        """Free in-flight slots and free unrecorded places (``(limit, 2 × limit)`` when idle)."""
        return self._in_flight.available(), self._unrecorded.available()
