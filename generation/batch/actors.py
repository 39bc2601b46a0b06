"""Dramatiq actors of batch mode: thin wrappers around ``flow``. Any of them may run twice.
Registered through ``generation.actors`` (which Django-Dramatiq discovers)."""

from __future__ import annotations

import dramatiq

from generation.batch.flow import Next, pass_step, poll_delay_ms, poll_step
from generation.batch.jobs import jobs_cancel

# A pass goes through every pending row of the run; collecting downloads a whole batch.
BATCH_TIME_LIMIT_MS = 60 * 60 * 1000


def _follow(run_id: int, step: Next) -> None:
    if step is Next.POLL:
        batch_poll.send_with_options(args=(run_id,), delay=poll_delay_ms())
    elif step is Next.PASS:
        batch_pass.send(run_id)


@dramatiq.actor(queue_name="generation", max_retries=5, time_limit=BATCH_TIME_LIMIT_MS)
def batch_pass(run_id: int) -> None:
    _follow(run_id, pass_step(run_id))


@dramatiq.actor(queue_name="generation", max_retries=5, time_limit=BATCH_TIME_LIMIT_MS)
def batch_poll(run_id: int) -> None:
    _follow(run_id, poll_step(run_id))


@dramatiq.actor(queue_name="generation", max_retries=5)
def batch_cancel(run_id: int) -> None:
    """Cancel a cancelled run's batches at the provider; the poll then collects what they
    answered before the cancel took effect."""
    jobs_cancel(run_id=run_id)
