"""Runs that stopped advancing get their pending chunks sent again, from the database.

A run's chunks travel as Dramatiq messages, and the broker can lose them: a Redis restarted
without persistence forgets every queued message, and a killed worker's prefetched messages come
back only if a maintenance pass happens to see them (docs/chaos.md). The database knows which
rows are still pending, so every worker process looks, every ``STUDIO_STALLED_RUN_CHECK_SECONDS``,
for running runs of which no row finished and no call was recorded for
``STUDIO_STALLED_RUN_SECONDS``, and sends their pending chunks again (``run_enqueue_pending``,
what ``manage.py resume_runs`` does by hand).

A run is swept by one worker at a time: claiming it is a conditional UPDATE of its
``swept_at``, which also counts as progress, so the next sweep waits a whole threshold again.
The threshold must be longer than a chunk can go without finishing a row (slow, rate-limited
calls and their retries): a chunk sent again while its first copy still runs is written once
(rows are written only while pending) but may pay for the calls of its rows in flight twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Max, Q
from django.utils import timezone

# Models are imported where they are used: Django-Dramatiq builds the worker middleware
# (StalledRunSweeper) while the apps are still loading.

logger = logging.getLogger(__name__)


def _last_progress(run: Mapping[str, Any]) -> datetime:
    """When the run last moved: started, swept, a row finished or a call was recorded."""
    from generation.models import LlmCall, Row

    moments = [
        run["started_at"],
        run["swept_at"],
        Row.objects.filter(run_id=run["pk"]).aggregate(at=Max("finished_at"))["at"],
        LlmCall.objects.filter(run_id=run["pk"]).aggregate(at=Max("created_at"))["at"],
    ]
    return max((m for m in moments if m is not None), default=run["created_at"])


def stalled_runs_sweep(*, now: datetime | None = None) -> list[int]:
    """Send the pending chunks of every online run that has been running without progress for
    ``STUDIO_STALLED_RUN_SECONDS`` again; returns the ids of the runs swept by this call."""
    from generation.models import Run
    from generation.services import run_enqueue_pending
    from generation.worker.row_writes import run_finish_if_done

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.STUDIO_STALLED_RUN_SECONDS)
    swept = []
    candidates = Run.objects.filter(status=Run.Status.RUNNING, mode=Run.Mode.ONLINE).values(
        "pk", "created_at", "started_at", "swept_at"
    )
    for run in candidates:
        if _last_progress(run) > cutoff:
            continue
        with transaction.atomic():
            claimed = (
                Run.objects.filter(pk=run["pk"], status=Run.Status.RUNNING)
                .filter(Q(swept_at__isnull=True) | Q(swept_at__lte=cutoff))
                .update(swept_at=now)
            )
            if not claimed:
                continue  # another worker swept it, or it stopped meanwhile
            if run_enqueue_pending(run_id=run["pk"]) == 0:
                run_finish_if_done(run_id=run["pk"])
        swept.append(run["pk"])
        logger.warning(
            "Run %s made no progress since %s: its pending chunks are sent again",
            run["pk"],
            cutoff.isoformat(),
        )
    return swept


def sweep_once() -> list[int]:
    """One sweep as the worker's sweeper thread makes it: connections that a database restart
    broke are dropped before and after, and an error is logged, never raised (the next sweep
    tries again)."""
    close_old_connections()
    try:
        return stalled_runs_sweep()
    except Exception:
        logger.exception("The stalled-run sweep failed; it is tried again later")
        return []
    finally:
        close_old_connections()


class StalledRunSweeper(dramatiq.Middleware):
    """Runs ``sweep_once`` on a thread of each worker process, every
    ``STUDIO_STALLED_RUN_CHECK_SECONDS`` (0: never), from boot to shutdown."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        interval = settings.STUDIO_STALLED_RUN_CHECK_SECONDS
        if interval <= 0:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.wait(interval):
                sweep_once()

        self._thread = threading.Thread(target=loop, name="stalled-run-sweeper", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
