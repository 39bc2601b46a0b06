"""The worker side of a Hub push: build the Parquet file and the card, push, record.

A push always ends, as done or failed with a short reason, and its encrypted Hub token is
dropped in every ending: nothing a push can raise leaves it queued (the page would poll forever
and the token would stay in the database).
"""

from __future__ import annotations

import logging

import pyarrow as pa
from django.conf import settings
from django.utils import timezone

from evaluation.dataset_card import CardFacts, build_card
from evaluation.formats import parquet_bytes
from evaluation.hub_push import DATA_PATH, HubPushError, HubPushResult, push_dataset
from evaluation.models import HubExport
from evaluation.selectors import export_records
from generation.models import Row
from studio.crypto import SecretUnavailable, decrypt_secret

logger = logging.getLogger(__name__)

MSG_UNCONVERTIBLE = "The accepted rows could not be converted to Parquet: {reason}"
MSG_UNEXPECTED = "The push failed unexpectedly ({kind}); nothing was recorded as pushed."
MSG_INTERRUPTED = (
    "The push was interrupted (its worker stopped): check the repository on the Hub, and push "
    "again if it is not there."
)
REASON_MAX_CHARS = 300


class RowsNotConvertible(Exception):
    """pyarrow refused the rows (e.g. one column mixing objects and text)."""


def hub_export_claim(*, export_id: int) -> HubExport | None:
    """Move a queued export to pushing, atomically: a redelivered message finds it claimed
    and does not push a second time."""
    claimed = HubExport.objects.filter(pk=export_id, status=HubExport.Status.QUEUED).update(
        status=HubExport.Status.PUSHING
    )
    if not claimed:
        return None
    return HubExport.objects.select_related("run", "run__project").get(pk=export_id)


def hub_export_push(*, export_id: int) -> None:
    """Do a queued push, once. Its message comes again only when the broker redelivers it
    after the worker that claimed it died (the actor has no retries): the push is then ended
    as interrupted, not pushed a second time. A finished or failed export is left alone."""
    export = hub_export_claim(export_id=export_id)
    if export is None:
        HubExport.objects.filter(pk=export_id, status=HubExport.Status.PUSHING).update(
            status=HubExport.Status.FAILED,
            error=MSG_INTERRUPTED,
            token_encrypted="",
            finished_at=timezone.now(),
        )
        return
    try:
        result, rows = _push(export)
    except (HubPushError, SecretUnavailable, RowsNotConvertible) as exc:
        _finish(export, error=_short(str(exc)))
    except Exception as exc:
        logger.exception("Hub push %s failed", export_id)
        _finish(export, error=MSG_UNEXPECTED.format(kind=type(exc).__name__))
    else:
        _finish(export, result=result, rows=rows)


def _push(export: HubExport) -> tuple[HubPushResult, int]:
    run = export.run
    spec = run.spec
    columns = spec.output_columns()
    records = list(export_records(run=run))
    llm_columns = spec.llm_columns()
    card = build_card(
        CardFacts(
            repo_id=export.repo_id,
            schema_name=run.schema_name,
            schema_version=run.schema_version,
            spec=spec,
            rows=len(records),
            rows_generated=run.rows.filter(status=Row.Status.GENERATED).count(),
            models=sorted({c.model for c in llm_columns}),
            seed=run.seed,
            data_path=DATA_PATH,
            simulated=run.project.credentials.filter(
                provider="simulator", pk__in=[c.credential_id for c in llm_columns]
            ).exists(),
        )
    )
    try:
        parquet = parquet_bytes(records, columns)
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
        raise RowsNotConvertible(MSG_UNCONVERTIBLE.format(reason=str(exc))) from exc
    result = push_dataset(
        repo_id=export.repo_id,
        token=decrypt_secret(export.token_encrypted),
        parquet=parquet,
        card=card,
        private=export.private,
        endpoint=settings.HF_ENDPOINT,
    )
    return result, len(records)


def _short(reason: str) -> str:
    line = (reason.strip().splitlines() or [""])[0]
    return line if len(line) <= REASON_MAX_CHARS else line[: REASON_MAX_CHARS - 1] + "…"


def _finish(
    export: HubExport, *, error: str = "", result: HubPushResult | None = None, rows: int = 0
) -> None:
    """End a claimed push: done or failed, and its token forgotten either way."""
    fields = {"token_encrypted": "", "finished_at": timezone.now(), "error": error}
    if result is None:
        fields["status"] = HubExport.Status.FAILED
    else:
        fields.update(
            status=HubExport.Status.DONE,
            url=result.repo_url,
            commit_url=result.commit_url,
            rows_pushed=rows,
        )
    HubExport.objects.filter(pk=export.pk, status=HubExport.Status.PUSHING).update(**fields)
