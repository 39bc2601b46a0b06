"""Batch jobs: made from a pass's deferred requests, sent, polled, collected into the ledger,
cancelled. Synchronous Django code: each function is one step of a Dramatiq actor and is safe to
run twice, or on two workers at once:

- sending is claimed by a conditional UPDATE (``pending`` → ``submitting``); a claim older than
  the lease (a worker that died while sending) is taken over, after asking the provider whether
  the batch was created after all (OpenAI: by the job id in the batch's metadata);
- a ledger key has at most one *open* ``BatchRequest`` (a partial unique index), so two passes
  racing never put the same call in two batches; keys are scoped to the run's project
  (``CompletionRequest.ledger_key``), so a request of one project is never answered by, nor
  waits for, another project's batch;
- collecting locks the job row and writes only while it is still ``in_progress``; ledger rows
  are inserted once (unique key), and the run's spend grows by exactly what was inserted.
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from generation.batch.calls import (
    DeferredCall,
    batch_call_cost,
    request_from_record,
    request_record,
    worst_case_cost,
)
from generation.models import BatchJob, BatchRequest, LlmCall, Run
from generation.provider_configs import CredentialUnusable, credential_provider_config
from generation.providers import ProviderError, build_batch_client
from generation.providers.batch import (
    BatchClient,
    BatchItem,
    BatchState,
)
from studio.models import ProviderCredential

logger = logging.getLogger(__name__)

MSG_CREDENTIAL_GONE = "The credential of this batch was deleted"
MSG_SEND_FAILED = "The batch could not be sent: {error}"
MSG_STATE_FAILED = "Could not read the batch's state (will try again): {error}"
MSG_BATCH_GONE = "The provider no longer knows this batch: {error}"
MSG_RESULTS_FAILED = "Could not read the batch's results (will try again): {error}"
MSG_CANCELLED = "The run was cancelled before this request was answered"

# A worker that claimed a job for sending and has not recorded the provider's id after this long
# is presumed dead; the next poll takes the job over.
SUBMIT_LEASE = timedelta(minutes=10)
MAX_SUBMIT_ATTEMPTS = 5
# Provider limits: OpenAI 50,000 requests and 200 MB a batch; Anthropic 100,000 and 256 MB.
# Stay under both, with a margin for the JSONL framing.
MAX_BATCH_BYTES = 150 * 1024 * 1024
# Batch management calls move whole files; give them more time than one online call.
MIN_BATCH_TIMEOUT = 300.0
IN_CLAUSE = 1000
COST_QUANTUM = Decimal("0.000001")  # LlmCall.cost_usd has 6 decimal places


def setting(name: str, default: float) -> float:
    """A batch setting from Django settings, else the environment, else ``default``."""
    value = getattr(settings, name, None)
    if value is None:
        return float(os.environ.get(name, default))
    return float(value)


def max_batch_requests() -> int:
    return int(setting("STUDIO_BATCH_MAX_REQUESTS", 50_000))


# ---- creating jobs ---------------------------------------------------------------------------


@dataclass
class CreateResult:
    job_ids: list[int] = field(default_factory=list)
    # Deferred requests not sent because the worst case would pass the run's budget.
    over_budget: int = 0
    # Already open in a batch of another run with the same seed: this run waits for it.
    open_elsewhere: int = 0
    # Already open in a batch of this run (a second worker's pass got there first).
    open_here: int = 0


def _open_keys(project_id: int, keys: list[str]) -> dict[str, int]:
    """key → run id, for the keys that are in an open batch request of the project."""
    found: dict[str, int] = {}
    for start in range(0, len(keys), IN_CLAUSE):
        found.update(
            BatchRequest.objects.filter(
                key__in=keys[start : start + IN_CLAUSE],
                open=True,
                job__run__project_id=project_id,
            )
            .values_list("key", "job__run_id")
            .iterator()
        )
    return found


def _split(calls: list[DeferredCall]) -> Iterable[list[DeferredCall]]:
    """Groups within the providers' per-batch limits (requests and bytes)."""
    limit = max_batch_requests()
    group: list[DeferredCall] = []
    size = 0
    for call in calls:
        length = len(json.dumps(request_record(call.request), ensure_ascii=False)) + 200
        if group and (len(group) >= limit or size + length > MAX_BATCH_BYTES):
            yield group
            group, size = [], 0
        group.append(call)
        size += length
    if group:
        yield group


@transaction.atomic
def jobs_create(*, run_id: int, deferred: Iterable[DeferredCall]) -> CreateResult:
    """Make one job per credential (more when a provider limit requires) for the deferred
    requests that are not already open somewhere and that the budget allows."""
    result = CreateResult()
    run = Run.objects.select_for_update().get(pk=run_id)
    calls = sorted(deferred, key=lambda c: (c.row_index, c.column, c.reask))
    open_keys = _open_keys(run.project_id, [c.key for c in calls])
    fresh = []
    for call in calls:
        owner = open_keys.get(call.key)
        if owner is None:
            fresh.append(call)
        elif owner == run_id:
            result.open_here += 1
        else:
            result.open_elsewhere += 1
    credentials = {
        c.pk: c
        for c in ProviderCredential.objects.filter(
            pk__in={c.credential_id for c in fresh}, project_id=run.project_id
        )
    }
    # A credential deleted since the pass: its rows fail with that message in the next pass.
    fresh = [c for c in fresh if c.credential_id in credentials]
    if run.budget_usd is not None:
        # Worst case of everything sent now: a full max_tokens answer to every request, at the
        # batch price. In row order, so the first rows are the ones that get done.
        allowance = run.budget_usd - run.spent_usd
        allowed = []
        for call in fresh:
            worst = worst_case_cost(credentials[call.credential_id], call.request)
            if worst > allowance:
                break
            allowance -= worst
            allowed.append(call)
        result.over_budget = len(fresh) - len(allowed)
        fresh = allowed
    pass_number = (run.batch_jobs.aggregate(last=Max("pass_number"))["last"] or 0) + 1
    by_credential: dict[int, list[DeferredCall]] = defaultdict(list)
    for call in fresh:
        by_credential[call.credential_id].append(call)
    for credential_id, group in by_credential.items():
        credential = credentials[credential_id]
        for part in _split(group):
            job = BatchJob.objects.create(
                run_id=run_id,
                credential=credential,
                provider=credential.provider,
                pass_number=pass_number,
            )
            # ON CONFLICT DO NOTHING: a key another worker opened meanwhile stays with it.
            BatchRequest.objects.bulk_create(
                [
                    BatchRequest(
                        job=job,
                        key=call.key,
                        column=call.column,
                        row_index=call.row_index,
                        reask=call.reask,
                        request=request_record(call.request),
                    )
                    for call in part
                ],
                batch_size=IN_CLAUSE,
                ignore_conflicts=True,
            )
            count = job.requests.count()
            if count == 0:
                job.delete()
                continue
            BatchJob.objects.filter(pk=job.pk).update(request_count=count)
            result.job_ids.append(job.pk)
    return result


# ---- provider clients ------------------------------------------------------------------------


def _client(credential: ProviderCredential) -> BatchClient:
    """Raises CredentialUnusable when the key cannot be decrypted or its URL is not allowed."""
    return build_batch_client(
        credential_provider_config(
            credential=credential,
            timeout=max(float(settings.STUDIO_PROVIDER_TIMEOUT), MIN_BATCH_TIMEOUT),
        )
    )


def _close(job_id: int, status: str, message: str) -> None:
    """End an open job without results: each open request carries ``message``."""
    with transaction.atomic():
        if not BatchJob.objects.filter(pk=job_id, status__in=BatchJob.OPEN).update(
            status=status,
            error=message,
            failed_count=F("request_count"),
            finished_at=timezone.now(),
        ):
            return
        BatchRequest.objects.filter(job_id=job_id, open=True).update(open=False, error=message)


def _fail(job_id: int, message: str) -> None:
    """The whole job failed: the next pass fails its rows with ``message``."""
    _close(job_id, BatchJob.Status.COLLECTED, message)


# ---- sending ---------------------------------------------------------------------------------


def _claim_for_sending(job_id: int) -> bool:
    now = timezone.now()
    return (
        BatchJob.objects.filter(pk=job_id)
        .filter(
            Q(status=BatchJob.Status.PENDING)
            | Q(status=BatchJob.Status.SUBMITTING, claimed_at__lt=now - SUBMIT_LEASE)
        )
        .update(
            status=BatchJob.Status.SUBMITTING,
            claimed_at=now,
            submit_attempts=F("submit_attempts") + 1,
        )
        == 1
    )


def job_submit(job_id: int) -> bool:
    """Send a pending job (or take over a stale send). True when it is now at the provider."""
    if not _claim_for_sending(job_id):
        return False
    job = BatchJob.objects.select_related("credential", "run").get(pk=job_id)
    if job.run.status == Run.Status.CANCELLED:
        _close(job_id, BatchJob.Status.CANCELLED, MSG_CANCELLED)
        return False
    if job.credential is None:
        _fail(job_id, MSG_CREDENTIAL_GONE)
        return False
    try:
        client = _client(job.credential)
    except CredentialUnusable as exc:
        _fail(job_id, str(exc))
        return False
    marker = str(job.pk)
    try:
        found = client.find_submitted(marker) if job.submit_attempts > 1 else None
        if found is None:
            items = [
                BatchItem(r.provider_id, request_from_record(r.request))
                for r in job.requests.order_by("pk").only("key", "custom_id", "request")
            ]
            found = client.submit(
                items, metadata={"studio_run": str(job.run_id), "studio_job": marker}
            )
    except ProviderError as exc:
        message = MSG_SEND_FAILED.replace("{error}", str(exc))
        if exc.retryable and job.submit_attempts < MAX_SUBMIT_ATTEMPTS:
            logger.warning("Batch job %s: %s; will try again", job_id, message)
            BatchJob.objects.filter(pk=job_id, status=BatchJob.Status.SUBMITTING).update(
                status=BatchJob.Status.PENDING, error=message
            )
        else:
            _fail(job_id, message)
        return False
    except ValueError as exc:  # a request the provider's rules refuse (e.g. a custom_id)
        _fail(job_id, MSG_SEND_FAILED.replace("{error}", str(exc)))
        return False
    finally:
        client.close()
    return (
        BatchJob.objects.filter(pk=job_id, status=BatchJob.Status.SUBMITTING).update(
            status=BatchJob.Status.IN_PROGRESS,
            external_id=found.batch_id,
            input_file_id=found.input_file_id,
            provider_status="submitted",
            submitted_at=timezone.now(),
            error="",
        )
        == 1
    )


# ---- polling and collecting ------------------------------------------------------------------


def job_poll(job_id: int) -> bool:
    """Read an in-progress job's state; collect it when the batch has ended. True when the job
    is no longer open."""
    job = BatchJob.objects.select_related("credential", "run").get(pk=job_id)
    if job.status != BatchJob.Status.IN_PROGRESS:
        return not job.is_open
    if job.credential is None:
        _fail(job_id, MSG_CREDENTIAL_GONE)
        return True
    try:
        client = _client(job.credential)
    except CredentialUnusable as exc:
        _fail(job_id, str(exc))
        return True
    try:
        if job.run.status == Run.Status.CANCELLED and not job.cancel_requested:
            _cancel_at_provider(job, client)
        try:
            state = client.state(job.external_id)
        except ProviderError as exc:
            if exc.status == 404:  # the provider no longer knows the batch: nothing to wait for
                _fail(job_id, MSG_BATCH_GONE.replace("{error}", str(exc)))
                return True
            BatchJob.objects.filter(pk=job_id).update(
                error=MSG_STATE_FAILED.replace("{error}", str(exc))
            )
            return False
        BatchJob.objects.filter(pk=job_id, status=BatchJob.Status.IN_PROGRESS).update(
            provider_status=state.status[:32],
            succeeded_count=state.succeeded,
            failed_count=state.failed,
            error="",
        )
        if not state.ended:
            return False
        if state.error:
            _fail(job_id, state.error)
            return True
        return _collect(job, client, state)
    finally:
        client.close()


def _collect(job: BatchJob, client: BatchClient, state: BatchState) -> bool:
    credential = job.credential
    assert credential is not None  # job_poll fails a job whose credential was deleted
    project_id = job.run.project_id
    # By the id the provider answers under (the ledger key, except for a batch sent before
    # keys were scoped to projects: BatchRequest.custom_id).
    by_id = {
        r.provider_id: r
        for r in job.requests.filter(open=True).only(
            "pk", "key", "custom_id", "request", "column", "row_index", "reask"
        )
    }
    try:
        results = client.results(
            job.external_id, {pid: request_from_record(r.request) for pid, r in by_id.items()}
        )
    except ProviderError as exc:
        BatchJob.objects.filter(pk=job.pk).update(
            error=MSG_RESULTS_FAILED.replace("{error}", str(exc))
        )
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
            (record, r)
            for r in results
            if r.completion is not None and (record := by_id.get(r.custom_id)) is not None
        ]
        existing: set[str] = set()
        keys = [record.key for record, _ in answered]
        for start in range(0, len(keys), IN_CLAUSE):
            existing.update(
                LlmCall.objects.filter(
                    project_id=project_id, key__in=keys[start : start + IN_CLAUSE]
                ).values_list("key", flat=True)
            )
        calls = []
        for record, result in answered:
            if record.key in existing:
                continue
            existing.add(record.key)
            stored = record.request
            completion = result.completion
            assert completion is not None
            calls.append(
                LlmCall(
                    project_id=project_id,
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
                    # Rounded as the column stores it, so the run's spend is the ledger's sum.
                    cost_usd=batch_call_cost(
                        credential,
                        stored["model"],
                        completion.input_tokens,
                        completion.output_tokens,
                    ).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP),
                    latency_ms=0,
                )
            )
        LlmCall.objects.bulk_create(calls, batch_size=IN_CLAUSE, ignore_conflicts=True)
        spent = sum((c.cost_usd for c in calls), Decimal(0))
        if spent:
            Run.objects.filter(pk=job.run_id).update(spent_usd=F("spent_usd") + spent)
        failed = []
        for result in results:
            record = by_id.get(result.custom_id)
            if result.completion is None and record is not None:
                record.error = result.error or "The request failed without a message"
                failed.append(record)
        BatchRequest.objects.bulk_update(failed, ["error"], batch_size=IN_CLAUSE)
        BatchRequest.objects.filter(job_id=job.pk, open=True).update(open=False)
        cancelled = Run.objects.filter(pk=job.run_id, status=Run.Status.CANCELLED).exists()
        BatchJob.objects.filter(pk=job.pk).update(
            status=BatchJob.Status.CANCELLED if cancelled else BatchJob.Status.COLLECTED,
            provider_status=state.status[:32],
            succeeded_count=len(answered),
            failed_count=len(failed),
            finished_at=timezone.now(),
        )
    return True


# ---- cancelling ------------------------------------------------------------------------------


def _cancel_at_provider(job: BatchJob, client: BatchClient) -> None:
    """Ask the provider to cancel, once (claimed by a conditional UPDATE)."""
    if not BatchJob.objects.filter(pk=job.pk, cancel_requested=False).update(cancel_requested=True):
        return
    try:
        client.cancel(job.external_id)
    except ProviderError as exc:
        # Already ended (nothing to cancel: the poll collects it), or unreachable: try again.
        logger.warning("Batch job %s: cancel failed: %s", job.pk, exc)
        if exc.retryable:
            BatchJob.objects.filter(pk=job.pk).update(cancel_requested=False)


def jobs_cancel(*, run_id: int) -> int:
    """Cancel a cancelled run's open jobs: unsent ones here, sent ones at the provider (their
    answers so far are still collected into the ledger by the poll). Returns how many."""
    count = 0
    for job in BatchJob.objects.filter(run_id=run_id, status__in=BatchJob.OPEN).select_related(
        "credential"
    ):
        if job.status == BatchJob.Status.PENDING:
            _close(job.pk, BatchJob.Status.CANCELLED, MSG_CANCELLED)
            count += 1
        elif job.status == BatchJob.Status.IN_PROGRESS and not job.cancel_requested:
            if job.credential is None:
                continue
            try:
                client = _client(job.credential)
            except CredentialUnusable:
                continue
            try:
                _cancel_at_provider(job, client)
            finally:
                client.close()
            count += 1
    return count
