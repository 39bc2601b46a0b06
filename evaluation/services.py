"""Review decisions and exports."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from evaluation.actors import push_to_hub
from evaluation.models import HubExport
from generation.live import publish_rows_sync
from generation.models import Row, Run
from studio.crypto import encrypt_secret

REPO_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
MSG_BAD_DECISION = "A review decision is 'accepted', 'rejected' or 'unreviewed'"
MSG_NOT_GENERATED = "Only a generated row can be reviewed"
MSG_BAD_REPO = "A repository id looks like 'your-name/dataset-name'"
MSG_NOTHING_TO_PUSH = "No accepted rows to push yet: accept some rows first"


class ReviewError(Exception):
    pass


class ExportError(Exception):
    pass


@transaction.atomic
def row_review(*, row: Row, user: User, decision: str) -> Row:
    if decision not in Row.Review.values:
        raise ReviewError(MSG_BAD_DECISION)
    if row.status != Row.Status.GENERATED:
        raise ReviewError(MSG_NOT_GENERATED)
    row.review_status = decision
    row.reviewed_by = user
    row.reviewed_at = timezone.now()
    row.save(update_fields=["review_status", "reviewed_by", "reviewed_at"])
    run_id, row_id = row.run_id, row.pk
    transaction.on_commit(lambda: publish_rows_sync(run_id, [row_id]), robust=True)
    return row


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
