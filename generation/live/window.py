"""Which rows one browser's run page shows, mirrored on the server.

The live page keeps a bounded list of finished rows, newest first. The consumer of each socket
keeps a ``LiveWindow`` that knows exactly which rows that page holds, because it sent them; so a
push carries only what changes the page: rows to prepend, rows to swap in place, and the ids of
rows pushed out of the list (or moved to the top). The browser needs no logic of its own to stay
bounded, and a row can never be shown twice.

A row is *new* to a socket when it has finished at a time the socket has not seen for it: a
first finish, or a failed row that finished again after a retry. A row whose finish is older
than the newest one seen by more than ``horizon`` is not new (a review of an old row, say): it
is swapped in place if the page shows it and otherwise left alone, as a reload would.

Pure: no Django, so it is tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RowState:
    """What the window needs to know of a row."""

    pk: int
    finished_at: datetime | None


@dataclass(frozen=True)
class WindowChange:
    """How one push changes the page: delete ``removed`` first, then prepend ``new`` (newest
    first) and swap ``changed`` in place."""

    new: list[int]
    changed: list[int]
    removed: list[int]

    def __bool__(self) -> bool:
        return bool(self.new or self.changed or self.removed)


class LiveWindow:
    def __init__(self, *, size: int, horizon: timedelta, shown: Sequence[RowState]) -> None:
        """``shown``: the rows of the page's current state, newest first."""
        self.size = size
        self.horizon = horizon
        self.shown: list[int] = [row.pk for row in shown[:size]]
        # Finish time of every row accounted for, kept for rows inside the horizon (and for the
        # shown ones): a row's finish counts once however often it is announced.
        self._seen: dict[int, datetime] = {
            row.pk: row.finished_at for row in shown[:size] if row.finished_at is not None
        }
        self._newest: datetime | None = max(self._seen.values(), default=None)

    def apply(self, rows: Iterable[RowState]) -> WindowChange:
        """Account for announced rows (in any order, repeats allowed) and say what to send."""
        shown = set(self.shown)
        cutoff = self._newest - self.horizon if self._newest is not None else None
        fresh: list[RowState] = []
        changed: list[int] = []
        for row in {row.pk: row for row in rows}.values():
            finished = row.finished_at
            if (
                finished is not None
                and self._seen.get(row.pk) != finished
                and (cutoff is None or finished >= cutoff)
            ):
                fresh.append(row)
            elif row.pk in shown:
                changed.append(row.pk)
        fresh.sort(key=lambda row: (row.finished_at, row.pk), reverse=True)
        for row in fresh:
            self._seen[row.pk] = row.finished_at  # type: ignore[assignment]
            if self._newest is None or row.finished_at > self._newest:  # type: ignore[operator]
                self._newest = row.finished_at
        fresh_pks = {row.pk for row in fresh}
        # A row that finished again (a retried failure) moves to the top: delete it first.
        removed = [pk for pk in self.shown if pk in fresh_pks]
        # More new rows than the page holds: the older ones would be trimmed at once, so they
        # are not sent at all.
        new = [row.pk for row in fresh[: self.size]]
        kept = [pk for pk in self.shown if pk not in fresh_pks]
        combined = new + kept
        removed += combined[self.size :]
        self.shown = combined[: self.size]
        self._forget_old()
        return WindowChange(new=new, changed=changed, removed=removed)

    def _forget_old(self) -> None:
        if self._newest is None or len(self._seen) <= 4 * self.size:
            return
        cutoff = self._newest - self.horizon
        shown = set(self.shown)
        self._seen = {
            pk: finished for pk, finished in self._seen.items() if finished >= cutoff or pk in shown
        }
