"""What the chunks of one worker process share on its event loop.

``generate_chunk`` is an async actor: Dramatiq's ``AsyncIO`` middleware runs every async actor of
a worker process on one event loop thread, while the worker threads wait for their message's
coroutine. That loop lives as long as the worker, so what lives on it is kept from one chunk to
the next instead of being built and torn down for each:

- provider clients, pooled by their full configuration (provider, key, base URL, timeout), at
  most ``MAX_PROVIDERS``, the least recently used closed first: a credential whose key changes
  gets a new client and the old one ages out; the rate limiter's Redis connections and
  channels-redis' connections are per loop already;
- the calls in flight: ``call_slots`` bounds the whole process to ``STUDIO_ROW_CONCURRENCY`` per
  worker thread. A chunk takes free slots as its rows are ready, so while one chunk is starting
  or finishing (loading rows, committing its last ones) another uses the slots it leaves idle.

Code that does not run on that loop (previews, tests calling ``fill_chunk`` themselves) gets
None from both and builds, bounds and closes what it needs itself.
"""

from __future__ import annotations

import asyncio
import gc
from collections import OrderedDict

import dramatiq
from django.conf import settings
from dramatiq.asyncio import get_event_loop_thread

from generation.providers import Provider, ProviderConfig, build_provider
from generation.worker.call_slots import CallSlots

MAX_PROVIDERS = 16


class _Shared:
    def __init__(self, loop: asyncio.AbstractEventLoop, threads: int) -> None:
        self.loop = loop
        self.threads = threads
        self.providers: OrderedDict[ProviderConfig, Provider] = OrderedDict()
        self.slots: CallSlots | None = None


_shared: _Shared | None = None


def bind_worker_loop(loop: asyncio.AbstractEventLoop | None, threads: int = 1) -> None:
    """Make ``loop`` the one whose chunks share clients and slots (None: unbind). Done by
    ``WorkerLoopMiddleware`` in workers; the profiler (bench/profile_engine.py) binds its own."""
    global _shared
    _shared = _Shared(loop, max(1, threads)) if loop is not None else None


def _on_loop() -> _Shared | None:
    shared = _shared
    if shared is None:
        return None
    try:
        return shared if asyncio.get_running_loop() is shared.loop else None
    except RuntimeError:
        return None


def on_worker_loop() -> bool:
    """Whether this code runs on the worker process's actor loop (its connections are kept)."""
    return _on_loop() is not None


def worker_provider(config: ProviderConfig) -> Provider | None:
    """The pooled provider for ``config`` on the worker's actor loop, else None (the caller
    then builds a provider of its own and closes it)."""
    shared = _on_loop()
    if shared is None:
        return None
    provider = shared.providers.get(config)
    if provider is not None:
        shared.providers.move_to_end(config)
        return provider
    provider = shared.providers[config] = build_provider(config)
    while len(shared.providers) > MAX_PROVIDERS:
        _, oldest = shared.providers.popitem(last=False)
        shared.loop.create_task(oldest.aclose())
    return provider


def call_slots() -> CallSlots | None:
    """The process's bound on calls in flight, on the worker's actor loop; else None."""
    shared = _on_loop()
    if shared is None:
        return None
    if shared.slots is None:
        shared.slots = CallSlots(settings.STUDIO_ROW_CONCURRENCY * shared.threads)
    return shared.slots


async def _close(shared: _Shared) -> None:
    from generation.ratelimit import build_rate_limiter

    for provider in shared.providers.values():
        try:
            await provider.aclose()
        except Exception:  # a dead connection must not keep the others open
            pass
    shared.providers.clear()
    try:
        await build_rate_limiter(settings.STUDIO_REDIS_URL).aclose()
    except Exception:
        pass


async def unbind_and_close() -> None:
    """Unbind the loop this runs on and close what its chunks kept (provider clients, the
    limiter's connections): for tools that bound a loop of their own (bench/profile_engine.py)."""
    global _shared
    shared = _on_loop()
    if shared is not None:
        _shared = None
        await _close(shared)


class WorkerLoopMiddleware(dramatiq.Middleware):
    """Binds the shared state to the actor loop when a worker boots (after Dramatiq's
    ``AsyncIO`` middleware started it) and closes the pooled clients before it stops.

    It also shortens the idle poll: an idle Redis consumer waits up to the worker's timeout
    (Dramatiq's default 1 s, which ``rundramatiq`` does not expose) before it sees a new
    message, so a new run started 0.2–0.6 s late (docs/performance.md). At
    ``STUDIO_WORKER_POLL_MS`` (100) an idle queue costs ten cheap Redis reads a second."""

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        worker.worker_timeout = min(worker.worker_timeout, settings.STUDIO_WORKER_POLL_MS)

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Everything loaded so far (Django, the SDKs, the app) lives as long as the process:
        # moved out of the collector's reach, a full collection scans only what runs create.
        # Without it each one paused the loop for 75-85 ms, every call in flight waiting.
        gc.freeze()
        thread = get_event_loop_thread()
        if thread is not None:
            bind_worker_loop(thread.loop, worker.worker_threads)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        global _shared
        shared, _shared = _shared, None
        thread = get_event_loop_thread()
        if shared is not None and thread is not None and thread.loop is shared.loop:
            try:
                thread.run_coroutine(_close(shared))
            except Exception:  # the loop may already be stopping: nothing left to close
                pass
