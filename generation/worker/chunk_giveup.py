"""The end of a chunk whose message failed every attempt (Dramatiq's retries exhausted).

Without this, the message is dropped and its rows stay pending: the run shows "running" forever
and its page keeps waiting. Here the chunk's pending rows end failed with a short reason (the
error's kind only: its text may hold internals), and the run closes like any other, as
"finished with failures", so "retry failed rows" is offered.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from generation.models import Row
from generation.worker.row_writes import run_finish_if_done

MSG_CHUNK_GAVE_UP = (
    "The worker could not fill this row ({kind}, {attempts}); retry the failed rows, and "
    "report the problem if it happens again."
)


def error_kind(traceback_text: str | None) -> str:
    """``RecursionError`` from a traceback's last line (``RecursionError: maximum ...``)."""
    lines = [line for line in (traceback_text or "").splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    kind = lines[-1].split(":", 1)[0].strip().rsplit(".", 1)[-1]
    return kind if kind.isidentifier() else "unknown error"


def chunk_give_up(*, run_id: int, start: int, end: int, attempts: int, kind: str) -> bool:
    """Fail the chunk's rows that are still pending; True if that closed the run."""
    tries = f"{attempts} attempt{'' if attempts == 1 else 's'}"
    message = MSG_CHUNK_GAVE_UP.replace("{attempts}", tries).replace("{kind}", kind)
    with transaction.atomic():
        Row.objects.filter(
            run_id=run_id, index__gte=start, index__lt=end, status=Row.Status.PENDING
        ).update(status=Row.Status.FAILED, errors={"worker": message}, finished_at=timezone.now())
    return run_finish_if_done(run_id=run_id)
