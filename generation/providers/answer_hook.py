"""Who is told when a call's answer arrives: its status and headers are in, the SDK has yet
to read and parse the body. The caller sets a callback around its call (``on_answer``), the
providers' HTTP clients run ``answer_hooks``; a call slot is given back this way before the
answer is read (worker/call_slots.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

# Per task: a client serves many concurrent calls, each with its own callback.
_on_answer: ContextVar[Callable[[], bool] | None] = ContextVar("on_answer", default=None)

# Turns of the event loop an answer gives way for when its callback woke another call (True):
# the woken call builds and sends its request before this answer is read, parsed and stored.
# When a round of answers arrives at once (a constant latency keeps calls in step), answers
# processed first-come-first-served kept every next request waiting for the whole round's
# processing (docs/performance.md, eighth round); three turns cover the woken call's way to
# the wire (its slot, the run's status, an in-memory limiter, the SDK's request).
ANSWER_GIVES_WAY = 3


@contextmanager
def on_answer(callback: Callable[[], bool] | None) -> Iterator[None]:
    """Within the block, ``callback`` is called as each of this task's provider answers
    arrives (a redirect's too, so it must be idempotent, as ``CallLease.answered`` is); it
    returns whether it woke another call, which this answer then gives way to."""
    token = _on_answer.set(callback)
    try:
        yield
    finally:
        _on_answer.reset(token)


async def _answer_arrived(response: Any) -> None:
    callback = _on_answer.get()
    if callback is not None and callback():
        for _ in range(ANSWER_GIVES_WAY):
            await asyncio.sleep(0)


def answer_hooks() -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """The ``event_hooks`` of a provider's HTTP client: ``on_answer`` callbacks on arrival."""
    return {"response": [_answer_arrived]}
