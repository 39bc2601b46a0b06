"""Publishing live updates for a run's watchers. Workers call ``publish_rows`` after a row is
committed; the consumer coalesces and renders from the database, so a message only carries ids.

In embedded mode the channel layer lives in memory on the web server's event loop, while rows
are filled on worker threads with loops of their own; asyncio queues are not thread-safe, so a
publish from another loop is handed to the server's loop (bound at start-up by ``serve``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

RUN_GROUP = "run-{run_id}"
EVENT_ROWS = "run.rows"
# At most one push per this many seconds per browser, whatever the row rate. A row waits for
# the next push up to this long, so it bounds the latency too: at 0.25 s the wait alone has a
# p95 of 237 ms, leaving nothing for the render and the swap under the 250 ms target; at 0.2 s
# (5 pushes a second at most) the measured p95 stays under it (docs/performance.md).
PUSH_INTERVAL_SECONDS = 0.2
# Rows the live page keeps; older rows are on the paginated review page.
LIVE_ROWS_SHOWN = 50
# A row announced with a finish older than the newest one a page has seen by more than this is
# not new to it (a review of an old row): it is not prepended (see live_window).
NEW_ROW_HORIZON = timedelta(seconds=60)
# The dashboard and the project page poll their run list while a run in it is going: a page
# that lists many runs would otherwise join a group per run for a two-number summary.
STATUS_POLL_SECONDS = 2
STATUS_RUNS_SHOWN = 10

# The clock the consumers read (monotonic seconds) and sleep by. A test swaps in a virtual one
# (tests/fakes/clock.py): what it measures is then the consumer's own timeline, whatever the
# machine's load.
clock: Callable[[], float] = time.monotonic
sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

_server_loop: asyncio.AbstractEventLoop | None = None
logger = logging.getLogger(__name__)


def run_group(run_id: int) -> str:
    return RUN_GROUP.replace("{run_id}", str(run_id))


def bind_server_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    global _server_loop
    _server_loop = loop


def _on_other_loop() -> bool:
    if _server_loop is None or _server_loop.is_closed():
        return False
    try:
        return asyncio.get_running_loop() is not _server_loop
    except RuntimeError:
        return True


async def publish_rows(run_id: int, row_ids: list[int]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": EVENT_ROWS, "row_ids": row_ids}
    if _on_other_loop():
        future: Future[None] = asyncio.run_coroutine_threadsafe(
            layer.group_send(run_group(run_id), message),
            _server_loop,  # type: ignore[arg-type]
        )
        await asyncio.wrap_future(future)
    else:
        await layer.group_send(run_group(run_id), message)


async def publish_rows_from_worker(run_id: int, row_ids: list[int]) -> None:
    """``publish_rows`` for the code that fills rows: a failed publish (Redis restarting) is
    logged, not raised. The rows are committed already; a watcher that misses an update sees
    them at the next one or when it reconnects (the page is read from the database), while a
    chunk failed by it would drop its calls in flight, paid for, and pay for them again."""
    try:
        await publish_rows(run_id, row_ids)
    except Exception:
        logger.warning("Live update of run %s not published", run_id, exc_info=True)


def publish_rows_sync(run_id: int, row_ids: list[int]) -> None:
    """For synchronous code (views, services) once its transaction has committed."""
    if _server_loop is not None and not _server_loop.is_closed():
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            future = asyncio.run_coroutine_threadsafe(publish_rows(run_id, row_ids), _server_loop)
            future.result(timeout=5)
            return
    async_to_sync(publish_rows)(run_id, row_ids)
