"""The coalescer that lets a loop's concurrent limiter asks for one key share a round trip: who
goes together, in which order, and what happens to cancelled asks and failed round trips."""

import asyncio

import pytest

from generation.ratelimit.coalesce import Coalescer


class Recorder:
    """A round trip that records what it was sent and answers each item doubled, after an
    event the test sets (so the test decides when it "comes back")."""

    def __init__(self, *, hold: bool = False) -> None:
        self.sent: list[tuple[object, list[int]]] = []
        self.back = asyncio.Event()
        if not hold:
            self.back.set()
        self.fail_next: Exception | None = None

    async def __call__(self, group, items):
        self.sent.append((group, list(items)))
        await self.back.wait()
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        return [item * 2 for item in items]


async def test_asks_made_together_share_one_round_trip_and_get_their_own_answers():
    send = Recorder()
    coalescer = Coalescer(send)
    answers = await asyncio.gather(*(coalescer.ask("k", n) for n in range(5)))
    assert answers == [0, 2, 4, 6, 8]
    assert send.sent == [("k", [0, 1, 2, 3, 4])]  # one round trip, in the order asked


async def test_asks_made_while_a_round_trip_is_out_go_together_in_the_next():
    send = Recorder(hold=True)
    coalescer = Coalescer(send)
    first = asyncio.create_task(coalescer.ask("k", 1))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert send.sent == [("k", [1])]  # the first ask left without waiting for company
    later = [asyncio.create_task(coalescer.ask("k", n)) for n in (2, 3, 4)]
    await asyncio.sleep(0.01)
    assert len(send.sent) == 1  # they wait for the one out
    send.back.set()
    assert await first == 2
    assert [await task for task in later] == [4, 6, 8]
    assert send.sent == [("k", [1]), ("k", [2, 3, 4])]


async def test_groups_are_separate_and_a_long_group_is_split():
    send = Recorder()
    coalescer = Coalescer(send, max_group=3)
    answers = await asyncio.gather(
        *(coalescer.ask("a", n) for n in range(5)), coalescer.ask("b", 10)
    )
    assert answers == [0, 2, 4, 6, 8, 20]
    assert sorted(send.sent) == [("a", [0, 1, 2]), ("a", [3, 4]), ("b", [10])]


async def test_an_ask_cancelled_before_its_round_trip_is_not_sent():
    send = Recorder(hold=True)
    coalescer = Coalescer(send)
    first = asyncio.create_task(coalescer.ask("k", 1))
    await asyncio.sleep(0.01)
    cancelled = asyncio.create_task(coalescer.ask("k", 2))
    kept = asyncio.create_task(coalescer.ask("k", 3))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    send.back.set()
    assert (await first, await kept) == (2, 6)
    assert cancelled.cancelled()
    assert send.sent == [("k", [1]), ("k", [3])]  # nothing charged for the cancelled ask


async def test_a_failed_round_trip_fails_its_asks_only_and_the_next_ask_works():
    send = Recorder()
    coalescer = Coalescer(send)
    send.fail_next = ConnectionError("Redis is gone")
    results = await asyncio.gather(
        *(coalescer.ask("k", n) for n in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) and "Redis is gone" in str(r) for r in results)
    assert await coalescer.ask("k", 7) == 14


async def test_a_round_trip_with_the_wrong_number_of_answers_is_an_error_not_a_hang():
    async def short(group, items):
        return [0]

    coalescer = Coalescer(short)
    with pytest.raises(RuntimeError, match="1 answers for 2 asks"):
        await asyncio.wait_for(
            asyncio.gather(coalescer.ask("k", 1), coalescer.ask("k", 2)), timeout=1
        )
