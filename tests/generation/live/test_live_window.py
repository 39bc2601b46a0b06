"""The server's mirror of the rows one live page shows: bounded, newest first, each row once."""

from datetime import UTC, datetime, timedelta

from generation.live.window import LiveWindow, RowState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HORIZON = timedelta(seconds=60)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def row(pk: int, seconds: float | None) -> RowState:
    return RowState(pk, None if seconds is None else at(seconds))


def window(size: int = 3, shown: list[RowState] | None = None) -> LiveWindow:
    return LiveWindow(size=size, horizon=HORIZON, shown=shown or [])


def test_new_rows_are_prepended_newest_first():
    live = window(size=5)
    change = live.apply([row(1, 1), row(3, 3), row(2, 2)])
    assert change.new == [3, 2, 1]
    assert change.removed == [] and change.changed == []
    assert live.shown == [3, 2, 1]


def test_the_window_stays_bounded_and_says_which_rows_fall_out():
    live = window(size=3)
    live.apply([row(1, 1), row(2, 2), row(3, 3)])
    change = live.apply([row(4, 4), row(5, 5)])
    assert change.new == [5, 4]
    assert change.removed == [2, 1]
    assert live.shown == [5, 4, 3]


def test_a_burst_larger_than_the_window_sends_only_the_newest_rows():
    live = window(size=3, shown=[row(1, 1)])
    change = live.apply([row(pk, pk) for pk in range(2, 12)])
    assert change.new == [11, 10, 9]
    assert change.removed == [1]
    assert live.shown == [11, 10, 9]


def test_a_row_announced_again_is_swapped_in_place_not_added_twice():
    live = window(size=3)
    live.apply([row(1, 1), row(2, 2)])
    change = live.apply([row(1, 1), row(1, 1)])
    assert change.new == [] and change.removed == []
    assert change.changed == [1]
    assert live.shown == [2, 1]


def test_rows_of_the_initial_state_are_not_new():
    live = window(size=3, shown=[row(2, 2), row(1, 1)])
    change = live.apply([row(2, 2), row(3, 3)])
    assert change.new == [3]
    assert change.changed == [2]
    assert live.shown == [3, 2, 1]


def test_a_row_that_finishes_again_moves_to_the_top():
    live = window(size=3, shown=[row(3, 3), row(2, 2), row(1, 1)])
    assert live.apply([row(1, None)]).changed == [1]  # retried: pending, shown in place
    change = live.apply([row(1, 10)])
    assert change.removed == [1]  # deleted first, then prepended
    assert change.new == [1]
    assert live.shown == [1, 3, 2]


def test_an_old_row_outside_the_window_is_left_alone():
    live = window(size=2, shown=[row(1000, 1000), row(999, 999)])
    change = live.apply([row(5, 5)])  # e.g. reviewed on the all-rows page
    assert not change
    assert live.shown == [1000, 999]


def test_a_pending_row_outside_the_window_is_ignored():
    live = window(size=2, shown=[row(1, 1)])
    assert not live.apply([row(7, None)])


def test_a_row_committed_late_is_still_shown():
    # Finished (timestamped) before the newest row shown, committed and announced after it.
    live = window(size=3, shown=[row(10, 10)])
    change = live.apply([row(9, 9.5)])
    assert change.new == [9]
    assert live.shown == [9, 10]


def test_memory_of_seen_rows_is_bounded_by_the_horizon():
    live = window(size=2)
    for second in range(0, 600):
        live.apply([row(second, second)])
    assert len(live._seen) <= 4 * 2 + 61
    # Rows within the horizon are still known: announcing one again adds nothing.
    assert not live.apply([row(590, 590)]).new
