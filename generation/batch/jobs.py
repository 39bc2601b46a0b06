"""Batch jobs at the provider: sent, polled, cancelled (made by ``job_creation``, collected
into the ledger by ``job_results``). Synchronous Django code: each function is one step of a
Dramatiq actor and is safe to run twice, or on two workers at once: sending is claimed by a
conditional UPDATE (``pending`` → ``submitting``); a claim older than the lease (a worker that
died while sending) is taken over, after asking the provider whether the batch was created after
all (OpenAI: by the job id in the batch's metadata)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from generation.batch.calls import request_from_record
from generation.batch.job_results import results_collect
from generation.batch.limits import MAX_SUBMIT_ATTEMPTS, MIN_BATCH_TIMEOUT, SUBMIT_LEASE
from generation.models import BatchJob, BatchRequest, Run
from generation.provider_configs import CredentialUnusable, credential_provider_config
from generation.providers import ProviderError, build_batch_client
from generation.providers.batch import BatchClient, BatchItem
from studio.models import ProviderCredential

logger = logging.getLogger(__name__)

MSG_CREDENTIAL_GONE = "The credential of this batch was deleted"
MSG_SEND_FAILED = "The batch could not be sent: {error}"
MSG_STATE_FAILED = "Could not read the batch's state (will try again): {error}"
MSG_BATCH_GONE = "The provider no longer knows this batch: {error}"
MSG_CANCELLED = "The run was cancelled before this request was answered"


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


# ---- polling ---------------------------------------------------------------------------------


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
        return results_collect(job, client, state)
    finally:
        client.close()


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
