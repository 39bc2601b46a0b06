"""Batch jobs made from a pass's deferred requests: one job per credential (more when a
provider limit requires), for the requests not already open in a batch and that the run's
budget allows.

A ledger key has at most one *open* ``BatchRequest`` (a partial unique index), so two passes
racing never put the same call in two batches; keys are scoped to the run's project
(``CompletionRequest.ledger_key``), so a request of one project is never answered by, nor waits
for, another project's batch."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Max

from generation.batch.calls import DeferredCall, request_record, worst_case_cost
from generation.batch.limits import IN_CLAUSE, MAX_BATCH_BYTES, max_batch_requests
from generation.models import BatchJob, BatchRequest, Run
from studio.models import ProviderCredential


@dataclass
class CreateResult:
    job_ids: list[int] = field(default_factory=list)
    # Deferred requests not sent because the worst case would pass the run's budget.
    over_budget: int = 0
    # Already open in a batch of another run with the same seed: this run waits for it.
    open_elsewhere: int = 0
    # Already open in a batch of this run (a second worker's pass got there first).
    open_here: int = 0


@transaction.atomic
def jobs_create(*, run_id: int, deferred: Iterable[DeferredCall]) -> CreateResult:
    """Make one job per credential (more when a provider limit requires) for the deferred
    requests that are not already open somewhere and that the budget allows."""
    result = CreateResult()
    run = Run.objects.select_for_update().get(pk=run_id)
    calls = sorted(deferred, key=lambda c: (c.row_index, c.column, c.reask))
    fresh = _not_open(run, calls, result)
    credentials = {
        c.pk: c
        for c in ProviderCredential.objects.filter(
            pk__in={c.credential_id for c in fresh}, project_id=run.project_id
        )
    }
    # A credential deleted since the pass: its rows fail with that message in the next pass.
    fresh = [c for c in fresh if c.credential_id in credentials]
    if run.budget_usd is not None:
        allowed = _within_budget(run.budget_usd - run.spent_usd, fresh, credentials)
        result.over_budget = len(fresh) - len(allowed)
        fresh = allowed
    pass_number = (run.batch_jobs.aggregate(last=Max("pass_number"))["last"] or 0) + 1
    by_credential: dict[int, list[DeferredCall]] = defaultdict(list)
    for call in fresh:
        by_credential[call.credential_id].append(call)
    for credential_id, group in by_credential.items():
        for part in _split(group):
            job_id = _job_create(run_id, credentials[credential_id], pass_number, part)
            if job_id is not None:
                result.job_ids.append(job_id)
    return result


def _not_open(run: Run, calls: list[DeferredCall], result: CreateResult) -> list[DeferredCall]:
    """The calls that are in no open batch request of the run's project; those that are are
    counted in ``result`` (open in this run, or in another run's batch)."""
    open_keys = _open_keys(run.project_id, [c.key for c in calls])
    fresh = []
    for call in calls:
        owner = open_keys.get(call.key)
        if owner is None:
            fresh.append(call)
        elif owner == run.pk:
            result.open_here += 1
        else:
            result.open_elsewhere += 1
    return fresh


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


def _within_budget(
    allowance: Decimal, calls: list[DeferredCall], credentials: dict[int, ProviderCredential]
) -> list[DeferredCall]:
    """The first calls whose worst cases together fit ``allowance`` (what is left of the run's
    budget): a full max_tokens answer to every request, at the batch price. In row order, so
    the first rows are the ones that get done."""
    allowed = []
    for call in calls:
        worst = worst_case_cost(credentials[call.credential_id], call.request)
        if worst > allowance:
            break
        allowance -= worst
        allowed.append(call)
    return allowed


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


def _job_create(
    run_id: int, credential: ProviderCredential, pass_number: int, calls: list[DeferredCall]
) -> int | None:
    """A pending job with a request for each of ``calls`` whose key no other job opened
    meanwhile; None (and no job) when every key was."""
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
            for call in calls
        ],
        batch_size=IN_CLAUSE,
        ignore_conflicts=True,
    )
    count = job.requests.count()
    if count == 0:
        job.delete()
        return None
    BatchJob.objects.filter(pk=job.pk).update(request_count=count)
    return job.pk
