"""The worker side of a Hub push: build the Parquet file and the card, push, record."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from evaluation.dataset_card import CardFacts, build_card
from evaluation.formats import parquet_bytes
from evaluation.hub_push import DATA_PATH, HubPushError, push_dataset
from evaluation.models import HubExport
from evaluation.selectors import export_records, output_columns
from generation.models import Row
from studio.crypto import SecretUnavailable, decrypt_secret


def hub_export_push(*, export_id: int) -> None:
    """Do a queued push. Runs once: a finished or failed export is left alone."""
    export = (
        HubExport.objects.select_related("run")
        .filter(pk=export_id, status=HubExport.Status.QUEUED)
        .first()
    )
    if export is None:
        return
    run = export.run
    columns = output_columns(run=run)
    records = list(export_records(run=run))
    llm_columns = [c for c in run.spec_snapshot["columns"] if c["kind"].startswith("llm")]
    card = build_card(
        CardFacts(
            repo_id=export.repo_id,
            schema_name=run.schema_name,
            schema_version=run.schema_version,
            columns=run.spec_snapshot["columns"],
            output_columns=columns,
            rows=len(records),
            rows_generated=run.rows.filter(status=Row.Status.GENERATED).count(),
            models=sorted({c["model"] for c in llm_columns}),
            seed=run.seed,
            data_path=DATA_PATH,
            simulated=run.project.credentials.filter(
                provider="simulator", pk__in=[c["credential_id"] for c in llm_columns]
            ).exists(),
        )
    )
    try:
        result = push_dataset(
            repo_id=export.repo_id,
            token=decrypt_secret(export.token_encrypted),
            parquet=parquet_bytes(records, columns),
            card=card,
            private=export.private,
            endpoint=settings.HF_ENDPOINT,
        )
    except (HubPushError, SecretUnavailable) as exc:
        export.status = HubExport.Status.FAILED
        export.error = str(exc)
    else:
        export.status = HubExport.Status.DONE
        export.url = result.repo_url
        export.commit_url = result.commit_url
        export.rows_pushed = len(records)
    export.token_encrypted = ""
    export.finished_at = timezone.now()
    export.save(
        update_fields=[
            "status",
            "error",
            "url",
            "commit_url",
            "rows_pushed",
            "token_encrypted",
            "finished_at",
        ]
    )
