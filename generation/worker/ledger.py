"""The call ledger as a ``CallContext`` reads and writes it: an entry's fields, the answer an
entry gives back, and the one-round-trip lookups and records of callers without a chunk store
(previews, batch passes; a run's chunk groups the same work in its ``ChunkStore``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from generation.engine import LlmAsk
from generation.models import LlmCall, Run
from generation.providers import Completion, CompletionRequest
from generation.worker.row_writes import record_calls
from studio.models import ProviderCredential


def ledger_lookup(project_id: int, key: str) -> LlmCall | None:
    """The answer recorded for ``key`` in this project's ledger (never another project's)."""
    return LlmCall.objects.filter(project_id=project_id, key=key).first()


def ledger_record(**fields: Any) -> None:
    """Record a finished call and add its cost to the run's spend, in one transaction."""
    try:
        with transaction.atomic():
            record_calls(fields.get("run_id"), [fields])
    except IntegrityError:
        pass  # recorded by another worker first (the answer is equivalent), or its row is gone


def budget_allows(run_id: int, next_call_cost: Decimal) -> bool:
    """Whether the run may spend ``next_call_cost`` more. Calls already in flight on other
    rows are not reserved, so a run can overshoot by at most its concurrency × one call."""
    run = Run.objects.filter(pk=run_id).values("budget_usd", "spent_usd").first()
    if run is None or run["budget_usd"] is None:
        return True
    return run["spent_usd"] + next_call_cost <= run["budget_usd"]


def ledger_completion(entry: LlmCall) -> Completion:
    """The answer a ledger entry gives again, free and at once."""
    return Completion(
        text=entry.response_text,
        input_tokens=entry.input_tokens,
        output_tokens=entry.output_tokens,
        latency_ms=0,
    )


def ledger_entry(
    *,
    project_id: int,
    key: str,
    run_id: int | None,
    credential: ProviderCredential,
    ask: LlmAsk,
    request: CompletionRequest,
    reask: int,
    completion: Completion,
    cost: Decimal,
) -> dict[str, Any]:
    """The fields of the ledger entry (an ``LlmCall``) of a finished online call."""
    return {
        "project_id": project_id,
        "key": key,
        "run_id": run_id,
        "credential_id": credential.pk,
        "provider": credential.provider,
        "model": request.model,
        "column": ask.column.name,
        "row_index": ask.row_index,
        "reask": reask,
        "request": {
            "system": request.system,
            "messages": request.messages(),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "json_schema": request.json_schema,
        },
        "response_text": completion.text,
        "input_tokens": completion.input_tokens,
        "output_tokens": completion.output_tokens,
        "cost_usd": cost,
        "latency_ms": completion.latency_ms,
    }
