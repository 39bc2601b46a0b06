"""The database side of filling one chunk, grouped: a group commit for the rows in flight.

Each row in flight needs, per LLM call, a ledger lookup, (with a budget) a hold on the run's
budget (budget_holds) and a ledger record, and at its end a stored outcome and a live update.
One ORM round trip each would make five per row, each a hand-off to the DB thread and a commit.
Here rows queue what they need and one flusher hands the whole queue to the chunk's DB thread at
once (``row_writes.chunk_writes_apply``): one SELECT for all lookups, one transaction for all
records, outcomes and budget holds, one read of the run's state after them, and one live publish
for the rows stored.

Nothing waits on a timer. A request made while the DB thread is idle is flushed at once; those
made while it is busy go into the next flush. So a finished call is committed as soon as the
database can take it, as with one round trip per call, and never after its row: a worker killed
mid-chunk loses at most the calls of the flush under way, and a stored row's calls are always in
the ledger."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from generation import live
from generation.engine import RowOutcome
from generation.models import LlmCall
from generation.worker.budget_holds import HoldAnswer
from generation.worker.db_thread import DbThread
from generation.worker.row_writes import ChunkWrites, RunState, chunk_writes_apply

# How old the run's state may be when a row starts or a call goes out: pause and cancel are seen
# within this, plus one flush (and the calls already in flight). Older than that, the state is
# read again in the next flush while calls go on with the one known, unless it is older than
# STATE_STALE_LIMIT_SECONDS (a database that slow stops the calls until it answers). Waiting for
# every read instead held each round of calls 10-25 ms behind the chunk's flush
# (docs/performance.md, eighth round).
STATE_MAX_AGE_SECONDS = 0.1
STATE_STALE_LIMIT_SECONDS = 1.0
# A flush that fails because the database dropped the connection (a PostgreSQL restart or
# fail-over, seconds) is tried again on a new connection for this long before the chunk fails:
# the calls it records were paid for, and a failed chunk would pay for them again when retried.
# Trying again is safe: a ledger entry already there is not added twice (nor its cost), a row is
# written only while pending (row_writes).
DB_OUTAGE_RETRY_SECONDS = 30.0
DB_OUTAGE_FIRST_WAIT = 0.25


class ChunkStore:
    def __init__(self, db: DbThread, run_id: int, *, project_id: int) -> None:
        self._db = db
        self._run_id = run_id
        # Whose ledger the lookups read and the records go to: the run's project's.
        self.project_id = project_id
        self._lookups: dict[str, list[asyncio.Future[LlmCall | None]]] = {}
        self._records: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._outcomes: list[tuple[int, RowOutcome, asyncio.Future[bool]]] = []
        self._holds: list[tuple[Decimal, asyncio.Future[HoldAnswer]]] = []
        self._settled: list[int] = []
        # Holds granted to this chunk's calls and not yet settled: their leases are renewed
        # every third of a lease while the chunk lives (budget_holds).
        self._live_holds: set[int] = set()
        self._renew_due = False
        self._renew_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._state_waiters: list[asyncio.Future[RunState]] = []
        self._state: RunState | None = None
        self._state_at = float("-inf")
        # A read of the state asked by nobody waiting (``state`` went on with the known one),
        # and one under way in a flush: one read at a time is enough.
        self._state_wanted = False
        self._state_reading = False
        self._flusher: asyncio.Task[None] | None = None
        self._failed: BaseException | None = None

    # --- what rows ask ---------------------------------------------------------------------

    async def lookup(self, key: str) -> LlmCall | None:
        future = self._future()
        self._lookups.setdefault(key, []).append(future)
        return await future

    def record(
        self,
        fields: dict[str, Any],
        on_done: Callable[[], None] | None = None,
        *,
        hold_id: int | None = None,
    ) -> None:
        """Queue a finished call's ledger entry; it is committed by the next flush, with the
        outcome of its row when that is ready by then (one commit for both). Not awaited: the
        flush starts as soon as the DB thread is free, as an awaited write would. If that flush
        fails, every later request of the chunk fails with the same error, so the row is never
        stored without its calls. ``on_done`` runs once the entry is committed (or failed).
        The call's budget hold goes in the same transaction that adds its cost to the spend."""
        future = self._future()
        if on_done is not None:
            future.add_done_callback(lambda _: on_done())
        self._records.append((fields, future))
        if hold_id is not None:
            self._live_holds.discard(hold_id)
            self._settled.append(hold_id)

    async def hold(self, amount: Decimal) -> HoldAnswer:
        """Hold ``amount`` of the run's budget for a call about to go out (budget_holds)."""
        future = self._future()
        self._holds.append((amount, future))
        return await future

    def settle(self, hold_id: int | None) -> None:
        """Give back the hold of a call that was not paid for (not sent, or failed); written by
        the next flush. Nothing is awaited."""
        if hold_id is not None and self._failed is None:
            self._live_holds.discard(hold_id)
            self._settled.append(hold_id)
            self._start_flush()

    async def store_row(self, row_id: int, outcome: RowOutcome) -> bool:
        """Store a row's outcome if it is still pending; its live update is published."""
        future = self._future()
        self._outcomes.append((row_id, outcome, future))
        return await future

    async def state(self, *, max_age: float = STATE_MAX_AGE_SECONDS) -> RunState:
        """The run's status and spend, read at most ``max_age`` seconds ago (0: read after
        this call, so it includes every record this chunk made before). When the known state is
        older but still within ``STATE_STALE_LIMIT_SECONDS``, it is returned and read again in
        the next flush (one read at a time), for the calls after this one."""
        if self._state is not None:
            age = time.monotonic() - self._state_at
            if age <= max_age:
                return self._state
            if max_age > 0 and age <= STATE_STALE_LIMIT_SECONDS:
                if not (self._state_wanted or self._state_reading or self._failed):
                    self._state_wanted = True
                    self._start_flush()
                return self._state
        future = self._future()
        self._state_waiters.append(future)
        return await future

    async def aclose(self) -> None:
        """Wait for the last flush (a chunk ends only once its writes are committed). Holds
        still live after it (a chunk stopped with calls out) are no longer renewed."""
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        self._closed = True
        if self._renew_timer is not None:
            self._renew_timer.cancel()
            self._renew_timer = None

    # --- the flusher -----------------------------------------------------------------------

    def _future(self) -> asyncio.Future[Any]:
        if self._failed is not None:
            raise self._failed
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._start_flush()
        return future

    def _start_flush(self) -> None:
        if self._flusher is None or self._flusher.done():
            # Started now, it runs once the current step yields: everything asked in the
            # meantime goes into its first flush.
            self._flusher = asyncio.get_running_loop().create_task(self._flush_all())

    def _pending(self) -> bool:
        return bool(
            self._lookups
            or self._records
            or self._outcomes
            or self._state_waiters
            or self._state_wanted
            or self._holds
            or self._settled
            or self._renew_due
        )

    def _renew_later(self) -> None:
        if self._live_holds and self._renew_timer is None and not self._closed:
            self._renew_timer = asyncio.get_running_loop().call_later(
                settings.STUDIO_BUDGET_HOLD_SECONDS / 3, self._renew_now
            )

    def _renew_now(self) -> None:
        self._renew_timer = None
        if self._live_holds and not self._closed and self._failed is None:
            self._renew_due = True
            self._start_flush()

    async def _flush_all(self) -> None:
        while self._pending():
            lookups, self._lookups = self._lookups, {}
            records, self._records = self._records, []
            outcomes, self._outcomes = self._outcomes, []
            waiters, self._state_waiters = self._state_waiters, []
            holds, self._holds = self._holds, []
            settled, self._settled = self._settled, []
            renewed = sorted(self._live_holds) if self._renew_due else []
            self._renew_due = False
            read_state = bool(waiters) or self._state_wanted
            self._state_wanted = False
            self._state_reading = read_state
            writes = ChunkWrites(
                lookups=list(lookups),
                records=[fields for fields, _ in records],
                outcomes=[(row_id, outcome) for row_id, outcome, _ in outcomes],
                read_state=read_state,
                holds=[amount for amount, _ in holds],
                settled=settled,
                renewed=renewed,
            )
            futures: list[asyncio.Future[Any]] = [f for fs in lookups.values() for f in fs]
            futures += [f for _, f in records]
            futures += [f for _, _, f in outcomes]
            futures += waiters
            futures += [f for _, f in holds]
            try:
                done = await self._apply(writes)
            except BaseException as exc:
                self._failed = exc
                self._state_reading = False
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            for key, key_futures in lookups.items():
                for future in key_futures:
                    _resolve(future, done.hits.get(key))
            for _, future in records:
                _resolve(future, None)  # nobody awaits it: its on_done callback runs
            stored = set(done.stored)
            for row_id, _, future in outcomes:
                _resolve(future, row_id in stored)
            for (_, future), answer in zip(holds, done.held, strict=True):
                if answer.hold_id is not None:
                    self._live_holds.add(answer.hold_id)
                _resolve(future, answer)
            self._renew_later()
            self._state_reading = False
            if done.state is not None:
                self._state, self._state_at = done.state, time.monotonic()
                for future in waiters:
                    _resolve(future, done.state)
            if done.stored:
                await live.publish_rows_from_worker(self._run_id, done.stored)

    async def _apply(self, writes: ChunkWrites) -> Any:
        """One flush's writes, tried again on a new connection while the database is away for
        at most ``DB_OUTAGE_RETRY_SECONDS``."""
        deadline = time.monotonic() + DB_OUTAGE_RETRY_SECONDS
        wait = DB_OUTAGE_FIRST_WAIT
        while True:
            try:
                return await self._db.run(
                    chunk_writes_apply,
                    run_id=self._run_id,
                    project_id=self.project_id,
                    writes=writes,
                )
            except (OperationalError, InterfaceError):
                if time.monotonic() + wait > deadline:
                    raise
            await self._db.run(connections.close_all)  # the next try connects again
            await asyncio.sleep(wait)
            wait = min(wait * 2, 4.0)


def _resolve(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)
