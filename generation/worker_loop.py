"""One event loop per worker thread, kept from one Dramatiq message to the next.

``asyncio.run`` per message would build and tear down, for every chunk, the provider clients
(their TLS context and connection pool: one TCP connect per concurrent row), the rate limiter's
Redis connections and channels-redis' connections: about a millisecond of CPU per row in the
profile of docs/performance.md. On a kept loop they live as long as the worker thread, bounded:

- provider clients are pooled per loop by their full configuration (provider, key, base URL,
  timeout), at most ``MAX_PROVIDERS`` of them, the least recently used closed first; a credential
  whose key changes gets a new client, and the old one ages out;
- ``close_worker_loop`` (called by ``WorkerLoopMiddleware`` when Dramatiq stops the thread)
  closes the clients and the loop.

Code that is not on a worker thread (previews, tests, management commands) keeps using a loop
of its own and builds and closes its own clients: ``worker_provider`` returns None there.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any, TypeVar

import dramatiq

from generation.providers import Provider, ProviderConfig, build_provider

T = TypeVar("T")

MAX_PROVIDERS = 16


class _WorkerLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.providers: OrderedDict[ProviderConfig, Provider] = OrderedDict()


_local = threading.local()


def _current() -> _WorkerLoop | None:
    worker: _WorkerLoop | None = getattr(_local, "worker", None)
    if worker is not None and worker.loop.is_closed():
        worker = _local.worker = None
    return worker


def run_on_worker_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on this thread's kept loop (made on first use)."""
    worker = _current()
    if worker is None:
        worker = _local.worker = _WorkerLoop()
    return worker.loop.run_until_complete(coroutine)


def _running_worker() -> _WorkerLoop | None:
    worker = _current()
    if worker is None:
        return None
    try:
        return worker if asyncio.get_running_loop() is worker.loop else None
    except RuntimeError:
        return None


def on_worker_loop() -> bool:
    """Whether the running loop is this thread's kept loop (its connections outlive a chunk)."""
    return _running_worker() is not None


def worker_provider(config: ProviderConfig) -> Provider | None:
    """The pooled provider for ``config`` when running on this thread's kept loop, else None
    (the caller then builds a provider of its own and closes it)."""
    worker = _running_worker()
    if worker is None:
        return None
    provider = worker.providers.get(config)
    if provider is not None:
        worker.providers.move_to_end(config)
        return provider
    provider = worker.providers[config] = build_provider(config)
    while len(worker.providers) > MAX_PROVIDERS:
        _, oldest = worker.providers.popitem(last=False)
        worker.loop.create_task(oldest.aclose())
    return provider


def close_worker_loop() -> None:
    """Close this thread's kept loop and what lives on it (no-op without one)."""
    worker = _current()
    _local.worker = None
    if worker is None:
        return
    loop = worker.loop

    async def close_all() -> None:
        from django.conf import settings

        from generation.ratelimit import build_rate_limiter

        for provider in worker.providers.values():
            try:
                await provider.aclose()
            except Exception:  # closing a dead connection must not stop the others
                pass
        worker.providers.clear()
        try:
            await build_rate_limiter(settings.STUDIO_REDIS_URL).aclose()
        except Exception:
            pass

    try:
        loop.run_until_complete(close_all())
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


class WorkerLoopMiddleware(dramatiq.Middleware):
    """Closes a worker thread's kept loop when Dramatiq stops the thread (it emits this hook
    on the thread itself)."""

    def before_worker_thread_shutdown(self, broker: dramatiq.Broker, thread: object) -> None:
        close_worker_loop()
