"""Publishing live updates for a run's watchers. Workers call ``publish_rows`` after a row is
committed; the consumer coalesces and renders from the database, so a message only carries ids.

In embedded mode the channel layer lives in memory on the web server's event loop, while rows
are filled on worker threads with loops of their own; asyncio queues are not thread-safe, so a
publish from another loop is handed to the server's loop (bound at start-up by ``serve``)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

RUN_GROUP = "run-{run_id}"
EVENT_ROWS = "run.rows"
# At most one push per this many seconds per browser, whatever the row rate.
PUSH_INTERVAL_SECONDS = 0.25
# Rows the live page keeps; older rows are on the paginated review page.
LIVE_ROWS_SHOWN = 50

_server_loop: asyncio.AbstractEventLoop | None = None


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
