"""Large downloads streamed under both Django handlers, never held whole in memory.

The studio serves through ASGI (`serve` runs uvicorn). There Django's `StreamingHttpResponse`
cannot iterate a synchronous iterator: it warns and reads the whole iterator into a list first,
so a 100 000-row export sat in memory before its first byte left. Under ASGI the lines are
handed over as an asynchronous iterator instead, pulled in batches on the request's own sync
thread (`thread_sensitive`: the database cursor behind the lines stays on its connection).
Under WSGI (the test client, a WSGI deployment) the synchronous iterator is streamed as is."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import islice

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

# Lines per hop to the sync thread: few hops, and a batch stays small (a few hundred kB).
BATCH_LINES = 500


def _batches(lines: Iterator[str]) -> Iterator[str]:
    while batch := "".join(islice(lines, BATCH_LINES)):
        yield batch


async def _async_batches(lines: Iterator[str]) -> AsyncIterator[str]:
    batches = _batches(lines)
    next_batch = sync_to_async(lambda: next(batches, ""), thread_sensitive=True)
    while batch := await next_batch():
        yield batch


def streaming_lines(
    request: HttpRequest, lines: Iterable[str], *, content_type: str
) -> StreamingHttpResponse:
    """A streaming response of ``lines`` (each ending with its newline)."""
    iterator = iter(lines)
    if isinstance(request, ASGIRequest):
        return StreamingHttpResponse(_async_batches(iterator), content_type=content_type)
    return StreamingHttpResponse(_batches(iterator), content_type=content_type)
