"""One round trip for many asks: the asks for one key made on one event loop while its previous
round trip is out go together in the next one.

A worker's rows ask the limiter in bursts (a chunk's rows when it starts; a round of calls whose
answers came back together). With one Redis round trip each, the asks of a burst queue on the
loop's few connections, a call waits behind the other checks of its burst before the SDK is even
called, and each check costs the loop a redis-py command. Grouped, the first ask of a burst
leaves at once (on the loop's next turn, with whatever else asked meanwhile), the rest wait at
most for that one to come back, and the server applies the group's asks one after the other in
one script: the same result, in the same order, as one round trip each.

An ask cancelled before its group leaves is not sent (nothing charged for it); one cancelled
after is charged, as it would have been with its own round trip. If the round trip fails, every
ask of the group gets its error. Pure asyncio: one instance per event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Asks per round trip at most: a longer group would hold the server's single thread (one Lua
# script runs alone) and the asks behind it; the rest go in the next round trip.
MAX_GROUP = 128


class Coalescer(Generic[Item, Result]):
    def __init__(
        self,
        send: Callable[[Hashable, Sequence[Item]], Awaitable[Sequence[Result]]],
        *,
        max_group: int = MAX_GROUP,
    ) -> None:
        """``send(group, items)`` makes one round trip for ``items`` (all of one ``group``) and
        returns one result per item, in their order."""
        self._send = send
        self._max_group = max(1, max_group)
        self._waiting: dict[Hashable, list[tuple[Item, asyncio.Future[Result]]]] = {}
        self._senders: set[asyncio.Task[None]] = set()

    async def ask(self, group: Hashable, item: Item) -> Result:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Result] = loop.create_future()
        waiting = self._waiting.get(group)
        if waiting is None:
            # No round trip of this group is out: one leaves on the loop's next turn, with every
            # ask made until then. Otherwise this ask waits for the one out to come back.
            waiting = self._waiting[group] = []
            sender = loop.create_task(self._send_all(group, waiting))
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        waiting.append((item, future))
        return await future

    async def _send_all(
        self, group: Hashable, waiting: list[tuple[Item, asyncio.Future[Result]]]
    ) -> None:
        try:
            while waiting:
                taken = waiting[: self._max_group]
                del waiting[: self._max_group]
                taken = [(item, future) for item, future in taken if not future.done()]
                if not taken:
                    continue
                try:
                    results = await self._send(group, [item for item, _ in taken])
                    if len(results) != len(taken):
                        raise RuntimeError(f"{len(results)} answers for {len(taken)} asks")
                except asyncio.CancelledError:
                    for _, future in taken:
                        future.cancel()
                    raise
                except Exception as exc:
                    for _, future in taken:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), result in zip(taken, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            # No await since the loop's test: nobody joined the list after it was found empty.
            if self._waiting.get(group) is waiting:
                del self._waiting[group]
            for _, future in waiting:  # only when cancelled (the loop is closing)
                future.cancel()
