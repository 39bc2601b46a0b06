"""An ended batch collected into the ledger: its results fetched from the provider, each
answer made a ledger entry at the batch price, each failure written onto its ``BatchRequest``,
and the job closed.

Safe to run twice, or on two workers at once: the job row is locked and written only while it
is still ``in_progress``; ledger rows are inserted once (unique key), and the run's spend grows
by exactly what was inserted."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from generation.batch.calls import batch_call_cost, request_from_record
from generation.batch.limits import IN_CLAUSE
from generation.models import BatchJob, BatchRequest, LlmCall, Run
from generation.providers import Completion, ProviderError
from generation.providers.batch import BatchClient, BatchResult, BatchState
from studio.models import ProviderCredential

MSG_RESULTS_FAILED = "Could not read the batch's results (will try again): {error}"
MSG_NO_MESSAGE = "The request failed without a message"
COST_QUANTUM = Decimal("0.000001")  # LlmCall.cost_usd has 6 decimal places

Answered = list[tuple[BatchRequest, Completion]]


def results_collect(job: BatchJob, client: BatchClient, state: BatchState) -> bool:
    """Collect the ended batch of an in-progress job. True when the job is closed (here, or
    by another worker first); False when its results could not be read (the next poll tries
    again)."""
    credential = job.credential
    assert credential is not None  # job_poll fails a job whose credential was deleted
    by_id = _open_requests(job)
    results = _fetch(job, client, by_id)
    if results is None:
        return False
    with transaction.atomic():
        locked = (
            BatchJob.objects.select_for_update()
            .filter(pk=job.pk, status=BatchJob.Status.IN_PROGRESS)
            .first()
        )
        if locked is None:
            return True  # another worker collected it
        answered = [
            (record, r.completion)
            for r in results
            if r.completion is not None and (record := by_id.get(r.custom_id)) is not None
        ]
        _record_answers(job, credential, answered)
        failed = _record_failures(job, results, by_id)
        cancelled = Run.objects.filter(pk=job.run_id, status=Run.Status.CANCELLED).exists()
        BatchJob.objects.filter(pk=job.pk).update(
            status=BatchJob.Status.CANCELLED if cancelled else BatchJob.Status.COLLECTED,
            provider_status=state.status[:32],
            succeeded_count=len(answered),
            failed_count=failed,
            finished_at=timezone.now(),
        )
    return True


def _open_requests(job: BatchJob) -> dict[str, BatchRequest]:
    """The job's open requests by the id the provider answers under (the ledger key, except
    for a batch sent before keys were scoped to projects: ``BatchRequest.custom_id``)."""
    return {
        r.provider_id: r
        for r in job.requests.filter(open=True).only(
            "pk", "key", "custom_id", "request", "column", "row_index", "reask"
        )
    }


def _fetch(
    job: BatchJob, client: BatchClient, by_id: dict[str, BatchRequest]
) -> list[BatchResult] | None:
    """The batch's results; None (and the error on the job) when the provider failed."""
    try:
        return client.results(
            job.external_id, {pid: request_from_record(r.request) for pid, r in by_id.items()}
        )
    except ProviderError as exc:
        BatchJob.objects.filter(pk=job.pk).update(
            error=MSG_RESULTS_FAILED.replace("{error}", str(exc))
        )
        return None


def _record_answers(job: BatchJob, credential: ProviderCredential, answered: Answered) -> None:
    """Ledger entries for the answers the project's ledger does not hold yet, and their cost
    added to the run's spend."""
    project_id = job.run.project_id
    existing: set[str] = set()
    keys = [record.key for record, _ in answered]
    for start in range(0, len(keys), IN_CLAUSE):
        existing.update(
            LlmCall.objects.filter(
                project_id=project_id, key__in=keys[start : start + IN_CLAUSE]
            ).values_list("key", flat=True)
        )
    calls = []
    for record, completion in answered:
        if record.key in existing:
            continue
        existing.add(record.key)
        calls.append(_ledger_entry(job, credential, record, completion))
    LlmCall.objects.bulk_create(calls, batch_size=IN_CLAUSE, ignore_conflicts=True)
    spent = sum((c.cost_usd for c in calls), Decimal(0))
    if spent:
        Run.objects.filter(pk=job.run_id).update(spent_usd=F("spent_usd") + spent)


def _ledger_entry(
    job: BatchJob, credential: ProviderCredential, record: BatchRequest, completion: Completion
) -> LlmCall:
    stored = record.request
    return LlmCall(
        project_id=job.run.project_id,
        key=record.key,
        run_id=job.run_id,
        credential_id=job.credential_id,
        provider=job.provider,
        model=stored["model"],
        column=record.column,
        row_index=record.row_index,
        reask=record.reask,
        request={
            "system": stored.get("system", ""),
            "messages": stored.get("messages", []),
            "temperature": stored.get("temperature"),
            "max_tokens": stored.get("max_tokens"),
            "json_schema": stored.get("json_schema"),
            "batch": job.external_id,  # answered by this provider batch
        },
        response_text=completion.text,
        input_tokens=completion.input_tokens,
        output_tokens=completion.output_tokens,
        cost_usd=_batch_cost(credential, stored["model"], completion),
        latency_ms=0,
    )


def _batch_cost(credential: ProviderCredential, model: str, completion: Completion) -> Decimal:
    # Rounded as the column stores it, so the run's spend is the ledger's sum.
    return batch_call_cost(
        credential, model, completion.input_tokens, completion.output_tokens
    ).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def _record_failures(
    job: BatchJob, results: list[BatchResult], by_id: dict[str, BatchRequest]
) -> int:
    """Each failed request's error onto its ``BatchRequest`` (the next pass fails its row with
    it); every request of the job is closed. Returns how many failed."""
    failed = []
    for result in results:
        record = by_id.get(result.custom_id)
        if result.completion is None and record is not None:
            record.error = result.error or MSG_NO_MESSAGE
            failed.append(record)
    BatchRequest.objects.bulk_update(failed, ["error"], batch_size=IN_CLAUSE)
    BatchRequest.objects.filter(job_id=job.pk, open=True).update(open=False)
    return len(failed)
