"""The bound on a worker's calls (generation/worker/call_slots.py): a slot goes to the next call as
soon as an answer is in, but calls stop when answers pile up without reaching the ledger."""

import asyncio

import pytest

from generation.worker.call_slots import CallSlots


async def _acquired(slots: CallSlots, timeout: float = 0.05) -> bool:
    try:
        await asyncio.wait_for(slots.acquire(), timeout)
    except TimeoutError:
        return False
    return True


def test_calls_in_flight_are_bounded_and_an_answer_frees_a_slot_before_its_commit():
    async def scenario():
        slots = CallSlots(3)
        for _ in range(3):
            assert await _acquired(slots)
        assert not await _acquired(slots), "a fourth call went out while three were in flight"
        slots.answered()  # answered, its ledger entry not committed yet
        assert await _acquired(slots), "the next call waited for the commit"

    asyncio.run(scenario())


def test_calls_stop_when_answers_wait_for_the_ledger_and_go_on_once_recorded():
    async def scenario():
        slots = CallSlots(2)
        sent = 0
        # The database is stalled: every call is answered, none is recorded.
        while await _acquired(slots):
            sent += 1
            slots.answered()
        assert sent == 4, "paid calls without a ledger entry must stay within twice the bound"
        slots.recorded()
        assert await _acquired(slots)

    asyncio.run(scenario())


def test_a_call_that_was_never_paid_gives_back_both_places():
    async def scenario():
        slots = CallSlots(1)
        for _ in range(5):  # e.g. refused before sending, or failed: nothing to record
            assert await _acquired(slots)
            slots.release()
        assert await _acquired(slots)

    asyncio.run(scenario())


def test_a_cancelled_wait_takes_nothing():
    async def scenario():
        slots = CallSlots(1)
        assert await _acquired(slots)
        assert not await _acquired(slots)  # cancelled while waiting for the in-flight slot
        slots.release()
        assert await _acquired(slots)
        slots.release()
        # Both places are free again: two paid, unrecorded calls fit, a third does not.
        assert await _acquired(slots)
        slots.answered()
        assert await _acquired(slots)
        slots.answered()
        assert not await _acquired(slots)

    asyncio.run(scenario())


@pytest.mark.parametrize("limit", [0, -3])
def test_a_bound_below_one_still_lets_one_call_through(limit):
    async def scenario():
        slots = CallSlots(limit)
        assert await _acquired(slots)
        assert not await _acquired(slots)

    asyncio.run(scenario())


def test_waiting_calls_go_lowest_priority_first_then_in_arrival_order():
    """Chunks sharing a worker's slots: the oldest chunk's rows (lowest priority) are served
    first, so chunks finish one after another instead of all running dry together."""

    async def scenario():
        slots = CallSlots(1)
        await slots.acquire()
        served: list[str] = []

        async def call(name: str, priority: tuple[int, int]) -> None:
            await slots.acquire(priority)
            served.append(name)

        waiting = [
            asyncio.create_task(call(name, priority))
            for name, priority in [
                ("young chunk, row 0", (2, 0)),
                ("old chunk, row 7", (1, 7)),
                ("old chunk, row 3 (first)", (1, 3)),
                ("old chunk, row 3 (second)", (1, 3)),
            ]
        ]
        await asyncio.sleep(0)
        for _ in waiting:
            slots.answered()
            slots.recorded()
            await asyncio.sleep(0.01)
        assert served == [
            "old chunk, row 3 (first)",
            "old chunk, row 3 (second)",
            "old chunk, row 7",
            "young chunk, row 0",
        ]
        await asyncio.gather(*waiting)

    asyncio.run(scenario())


def test_a_cancelled_waiter_does_not_swallow_the_place_handed_to_it():
    async def scenario():
        slots = CallSlots(1)
        await slots.acquire()
        first = asyncio.create_task(slots.acquire((0,)))
        second = asyncio.create_task(slots.acquire((1,)))
        await asyncio.sleep(0)
        first.cancel()  # the run is cancelled while its call waits
        await asyncio.sleep(0)
        slots.release()
        await asyncio.wait_for(second, 0.1)  # the place went past the cancelled waiter
        assert not await _acquired(slots)

    asyncio.run(scenario())


def test_a_newcomer_does_not_overtake_a_waiting_call():
    async def scenario():
        slots = CallSlots(1)
        await slots.acquire()
        waiting = asyncio.create_task(slots.acquire((5,)))
        await asyncio.sleep(0)
        slots.release()  # the place is handed to the waiter, not left for anyone to grab
        assert not await _acquired(slots)
        await asyncio.wait_for(waiting, 0.1)

    asyncio.run(scenario())


def test_a_lease_gives_each_place_back_once_whoever_asks_first():
    async def scenario():
        slots = CallSlots(1)
        lease = await slots.lease()
        waiting = asyncio.ensure_future(slots.lease())
        await asyncio.sleep(0)
        # The answer arrives (the provider's response hook), then the call ends or fails: the
        # slot went to the waiting call once, not twice.
        assert lease.answered() is True
        assert lease.answered() is False
        second = await asyncio.wait_for(waiting, 1)
        lease.release()  # e.g. the answer then failed to parse: only its unrecorded place
        assert not await _acquired(slots), "a slot given back twice let a second call out"
        assert slots.available() == (0, 1)
        second.release()
        second.release()
        assert slots.available() == (1, 2)

    asyncio.run(scenario())
