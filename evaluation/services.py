"""Review decisions and exports."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from evaluation.actors import push_to_hub
from evaluation.models import HubExport, ReviewAction
from evaluation.review_values import MSG_UNKNOWN_COLUMN, EditError, check_edit, column_infos
from generation.live import publish_rows_sync
from generation.models import Row, Run
from studio.crypto import encrypt_secret

REPO_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
MSG_BAD_DECISION = "A review decision is 'accepted', 'rejected' or 'unreviewed'"
MSG_NOT_GENERATED = "Only a generated row can be reviewed"
MSG_NOTHING_CHANGED = "Send a decision, edited values or both"
MSG_NOTHING_TO_UNDO = "Nothing of yours to undo on this run"
MSG_CHANGED_SINCE = "Row #{index} was changed since by someone else; undo would lose their change"
MSG_NO_UNDO_REGENERATE = (
    "Row #{index} was regenerated: a regeneration is not undone (its earlier values are in the "
    "row's history)"
)
ACTION_OF_DECISION: dict[str, ReviewAction.Kind] = {
    Row.Review.ACCEPTED: ReviewAction.Kind.ACCEPT,
    Row.Review.REJECTED: ReviewAction.Kind.REJECT,
    Row.Review.UNREVIEWED: ReviewAction.Kind.RESET,
}
MSG_BAD_REPO = "A repository id looks like 'your-name/dataset-name'"
MSG_NOTHING_TO_PUSH = "No accepted rows to push yet: accept some rows first"


class ReviewError(Exception):
    pass


class ExportError(Exception):
    pass


def row_review(*, row: Row, user: User, decision: str) -> Row:
    return row_review_change(row=row, user=user, decision=decision)


def row_state(row: Row) -> dict[str, Any]:
    return {
        "review_status": row.review_status,
        "reviewed_by": row.reviewed_by_id,
        "reviewed_at": row.reviewed_at.isoformat() if row.reviewed_at else None,
        "edited_values": row.edited_values,
    }


REVIEW_FIELDS = ["review_status", "reviewed_by", "reviewed_at", "edited_values"]


def state_apply(row: Row, state: dict[str, Any]) -> None:
    """Set the row's review state as ``row_state`` recorded it (not saved)."""
    row.review_status = state["review_status"]
    row.reviewed_by_id = state["reviewed_by"]
    at = state["reviewed_at"]
    row.reviewed_at = datetime.fromisoformat(at) if at else None
    row.edited_values = state["edited_values"]


def _restore(row: Row, state: dict[str, Any]) -> None:
    state_apply(row, state)
    row.save(update_fields=REVIEW_FIELDS)


def same_state(state: dict[str, Any], other: dict[str, Any]) -> bool:
    keys = ("review_status", "reviewed_by", "edited_values")
    return all(state.get(key) == other.get(key) for key in keys)


def _edited(row: Row, edits: dict[str, object]) -> dict[str, Any]:
    """The row's edited copy with ``edits`` applied, each checked against its column."""
    infos = column_infos(row.run.spec)
    edited = dict(row.final_values)
    for column, value in edits.items():
        if column not in infos:
            raise ReviewError(MSG_UNKNOWN_COLUMN.format(column=column))
        try:
            edited[column] = check_edit(infos[column], row.values.get(column), value)
        except EditError as exc:
            raise ReviewError(f"{column}: {exc}") from exc
    return edited


def _publish(row: Row) -> None:
    run_id, row_id = row.run_id, row.pk
    transaction.on_commit(lambda: publish_rows_sync(run_id, [row_id]), robust=True)


@transaction.atomic
def row_review_change(
    *, row: Row, user: User, decision: str | None = None, edits: dict[str, object] | None = None
) -> Row:
    """Every review change of a row: a decision, an edit of some columns' values, or both.
    Locks the row, writes it and its ReviewAction (the activity log, the undo stack) in one
    transaction. ``values`` is never changed; ``edited_values`` holds the edited copy."""
    if decision is not None and decision not in Row.Review.values:
        raise ReviewError(MSG_BAD_DECISION)
    if decision is None and not edits:
        raise ReviewError(MSG_NOTHING_CHANGED)
    row = Row.objects.select_for_update().select_related("run").get(pk=row.pk)
    if row.status != Row.Status.GENERATED:
        raise ReviewError(MSG_NOT_GENERATED)
    before = row_state(row)
    if edits:
        row.edited_values = _edited(row, edits)
    if decision is not None:
        row.review_status = decision
    row.reviewed_by = user
    row.reviewed_at = timezone.now()
    row.save(update_fields=["review_status", "reviewed_by", "reviewed_at", "edited_values"])
    kind = ReviewAction.Kind.EDIT if edits else ACTION_OF_DECISION[str(decision)]
    ReviewAction.objects.create(
        run_id=row.run_id,
        row=row,
        user=user,
        kind=kind,
        column=", ".join(edits or {})[:64],
        before=before,
        after=row_state(row),
    )
    _publish(row)
    return row


@transaction.atomic
def review_undo(*, run: Run, user: User) -> ReviewAction:
    """Put back the row state from before ``user``'s last action on ``run`` not undone yet,
    and mark that action undone. Refused when someone changed the row since (their change
    would be lost) and for a regeneration (the row's content is new; its history keeps the old)."""
    action = (
        ReviewAction.objects.select_for_update()
        .filter(run=run, user=user, undone_at=None, row__isnull=False)
        .order_by("-created_at", "-pk")
        .first()
    )
    if action is None or action.row_id is None:
        raise ReviewError(MSG_NOTHING_TO_UNDO)
    if action.batch is not None:
        from evaluation.bulk import bulk_undo

        return bulk_undo(action=action)
    row = Row.objects.select_for_update().get(pk=action.row_id)
    if action.kind == ReviewAction.Kind.REGENERATE:
        raise ReviewError(MSG_NO_UNDO_REGENERATE.format(index=row.index))
    if not same_state(row_state(row), action.after):
        raise ReviewError(MSG_CHANGED_SINCE.format(index=row.index))
    _restore(row, action.before)
    action.undone_at = timezone.now()
    action.save(update_fields=["undone_at"])
    _publish(row)
    return action


@transaction.atomic
def hub_export_create(
    *, run: Run, user: User, repo_id: str, token: str, private: bool = True
) -> HubExport:
    """Record the push and queue it; the token is kept encrypted until the push ends."""
    repo_id = repo_id.strip()
    if not REPO_ID_PATTERN.match(repo_id):
        raise ExportError(MSG_BAD_REPO)
    if not run.rows.filter(status=Row.Status.GENERATED, review_status=Row.Review.ACCEPTED).exists():
        raise ExportError(MSG_NOTHING_TO_PUSH)
    export = HubExport.objects.create(
        run=run,
        repo_id=repo_id,
        private=private,
        token_encrypted=encrypt_secret(token),
        created_by=user,
    )
    transaction.on_commit(lambda: push_to_hub.send(export.pk))
    return export
