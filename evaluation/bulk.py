"""Bulk review: one decision on many rows (a selection, everything a filter shows, the rows below
a score, a quality gate's rows below), in bounded batches. Each row changed gets its own
ReviewAction (the activity log), all sharing one ``batch`` id, so one undo puts every row back
(``bulk_undo``, reached through services.review_undo)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from evaluation.models import ReviewAction
from evaluation.services import (
    ACTION_OF_DECISION,
    MSG_BAD_DECISION,
    REVIEW_FIELDS,
    ReviewError,
    row_state,
    same_state,
    state_apply,
)
from generation.models import Row, Run
from generation.services import _publish_after_commit

BATCH_SIZE = 500
DECISIONS = (Row.Review.ACCEPTED, Row.Review.REJECTED)
MSG_NO_ROWS = "No rows match: nothing was changed"


@dataclass(frozen=True)
class BulkResult:
    batch: uuid.UUID
    count: int


def bulk_review(
    *,
    run: Run,
    user: User | None,
    decision: str,
    rows: QuerySet[Row],
    batch_size: int = BATCH_SIZE,
) -> BulkResult:
    """Give ``decision`` to the generated rows of ``run`` among ``rows`` that do not have it
    yet, ``batch_size`` at a time, each batch locked and written in its own transaction.
    ``rows`` is the caller's exact set (its filter and snapshot bound applied). ReviewError
    when none is left to change."""
    if decision not in DECISIONS:
        raise ReviewError(MSG_BAD_DECISION)
    todo = (
        rows.filter(run=run, status=Row.Status.GENERATED)
        .exclude(review_status=decision)
        .order_by("pk")
    )
    batch, count, last = uuid.uuid4(), 0, 0
    while True:
        done, last = _one_batch(todo, last, user, decision, batch, batch_size)
        count += done
        if done < batch_size:
            break
    if not count:
        raise ReviewError(MSG_NO_ROWS)
    _publish_after_commit(run)
    return BulkResult(batch, count)


@transaction.atomic
def _one_batch(
    todo: QuerySet[Row], last: int, user: User | None, decision: str, batch: uuid.UUID, size: int
) -> tuple[int, int]:
    ids = list(todo.filter(pk__gt=last).values_list("pk", flat=True)[:size])
    if not ids:
        return 0, last
    rows = list(Row.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    now, actions = timezone.now(), []
    for row in rows:
        before = row_state(row)
        row.review_status, row.reviewed_by, row.reviewed_at = decision, user, now
        actions.append(
            ReviewAction(
                run_id=row.run_id,
                row=row,
                user=user,
                kind=ACTION_OF_DECISION[decision],
                before=before,
                after=row_state(row),
                batch=batch,
            )
        )
    Row.objects.bulk_update(rows, REVIEW_FIELDS)
    ReviewAction.objects.bulk_create(actions)
    return len(ids), ids[-1]


@transaction.atomic
def bulk_undo(*, action: ReviewAction) -> ReviewAction:
    """Put back every row of ``action``'s batch as it was before, and mark the batch undone.
    A row someone changed since keeps their change (it is counted in ``kept``)."""
    actions = ReviewAction.objects.select_for_update().filter(batch=action.batch, undone_at=None)
    restored = kept = 0
    now = timezone.now()
    ids = list(actions.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = list(ReviewAction.objects.filter(pk__in=ids[start : start + BATCH_SIZE]))
        rows = Row.objects.select_for_update().in_bulk([a.row_id for a in chunk])
        changed = []
        for entry in chunk:
            row = rows.get(entry.row_id or 0)
            if row is None or not same_state(row_state(row), entry.after):
                kept += 1
                continue
            state_apply(row, entry.before)
            changed.append(row)
        Row.objects.bulk_update(changed, REVIEW_FIELDS)
        restored += len(changed)
    actions.update(undone_at=now)
    action.undone_at = now
    action.restored, action.kept = restored, kept  # type: ignore[attr-defined]
    _publish_after_commit(action.run)
    return action
