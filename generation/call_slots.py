"""The bound on a worker's provider calls: how many are in flight, and how many are paid for
but not yet in the ledger.

A call takes a slot before it is sent and gives it back as soon as the answer is in: the next
row's call goes out at once instead of after the database has committed the answer (which, in a
group commit, frees many slots together and keeps their calls in lockstep; docs/performance.md).
The answer still has to reach the ledger before a killed worker would pay for it again, so each
call also holds one of ``2 × limit`` "unrecorded" places until its ledger entry is committed: when
the database is slow, calls stop going out after at most ``limit`` more, and a worker killed at
any moment has paid for at most ``2 × limit`` calls the ledger does not know."""

from __future__ import annotations

import asyncio


class CallSlots:
    def __init__(self, limit: int) -> None:
        limit = max(1, limit)
        self._in_flight = asyncio.Semaphore(limit)
        self._unrecorded = asyncio.Semaphore(2 * limit)

    async def acquire(self) -> None:
        await self._unrecorded.acquire()
        try:
            await self._in_flight.acquire()
        except BaseException:
            self._unrecorded.release()
            raise

    def answered(self) -> None:
        """The call is over (answered or failed): its in-flight slot goes to the next call."""
        self._in_flight.release()

    def recorded(self) -> None:
        """The call's ledger entry is committed, or there is none to write (it failed)."""
        self._unrecorded.release()

    def release(self) -> None:
        """A call that was never paid for (not sent, or failed): both at once."""
        self.answered()
        self.recorded()
