"""The writes a worker makes while filling rows. Each is a conditional UPDATE, so a second
worker or a redelivered message finds nothing left to change."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django.db import connections, transaction
from django.db.models import F, Field
from django.utils import timezone

from generation.engine import RowOutcome
from generation.models import LlmCall, Row, Run
from generation.signals import run_with_gate_ended
from generation.worker.budget_holds import (
    HoldAnswer,
    holds_clear,
    holds_grant,
    holds_renew,
    holds_settle,
)
from studio.models import ProviderCredential


def run_is_running(run_id: int) -> bool:
    return Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).exists()


def _outcome_fields(outcome: RowOutcome) -> dict[str, Any]:
    return {
        "status": Row.Status.FAILED if outcome.failed else Row.Status.GENERATED,
        "values": outcome.values,
        "errors": outcome.errors,
        "prompts": outcome.prompts,
        "calls": outcome.calls,
        "input_tokens": outcome.input_tokens,
        "output_tokens": outcome.output_tokens,
        "cost_usd": outcome.cost_usd,
        "latency_ms": outcome.latency_ms,
    }


OUTCOME_FIELDS = [*_outcome_fields(RowOutcome()), "finished_at"]


def row_store_outcome(*, row_id: int, outcome: RowOutcome) -> bool:
    """Write a filled row if it is still pending; False when another worker already did."""
    with transaction.atomic():
        return bool(_store_outcomes([(row_id, outcome)]))


@dataclass(frozen=True)
class RunState:
    status: str
    budget_usd: Decimal | None
    spent_usd: Decimal

    @property
    def running(self) -> bool:
        return self.status == Run.Status.RUNNING


@dataclass
class ChunkWrites:
    """What a chunk's rows asked of the database since the last flush (see chunk_store)."""

    lookups: list[str] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[tuple[int, RowOutcome]] = field(default_factory=list)
    read_state: bool = False
    # Budget holds wanted by calls about to go out (their worst cost), and those to remove:
    # of calls recorded in this flush (same transaction as their cost) or failed.
    holds: list[Decimal] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)
    # Holds of calls still out, whose lease is due for renewal (budget_holds.holds_renew).
    renewed: list[int] = field(default_factory=list)


@dataclass
class ChunkWritesDone:
    hits: dict[str, LlmCall]
    stored: list[int]
    state: RunState | None
    held: list[HoldAnswer] = field(default_factory=list)


def chunk_writes_apply(*, run_id: int, project_id: int, writes: ChunkWrites) -> ChunkWritesDone:
    """Answer a flush in as few statements as the database allows: one SELECT for every
    ledger lookup (in the run's project's ledger, ``project_id``, on its (project, key)
    index); one transaction for every finished call (a ledger entry each, the run's
    spend once) and every finished row (only those still pending, as ``row_store_outcome``);
    then, when asked, the run's state as it is after those writes. Budget holds are settled
    in that transaction and the new ones granted at its end, against the spend it leaves."""
    hits: dict[str, LlmCall] = {}
    if writes.lookups:
        hits = {
            call.key: call
            # No ORDER BY: a hit per key, read on the unique (project, key) index.
            for call in LlmCall.objects.filter(
                project_id=project_id, key__in=writes.lookups
            ).order_by()
        }
    stored: list[int] = []
    held: list[HoldAnswer] = []
    if writes.records or writes.outcomes or writes.holds or writes.settled or writes.renewed:
        with transaction.atomic():
            if writes.records:
                record_calls(run_id, writes.records)
            holds_settle(writes.settled)
            holds_renew(writes.renewed)
            if writes.outcomes:
                stored = _store_outcomes(writes.outcomes)
            if writes.holds:
                held = holds_grant(run_id, writes.holds)
    state = None
    if writes.read_state:
        found = Run.objects.filter(pk=run_id).values("status", "budget_usd", "spent_usd").first()
        state = RunState(**found) if found else RunState(Run.Status.CANCELLED, None, Decimal(0))
    return ChunkWritesDone(hits, stored, state, held)


def record_calls(
    run_id: int | None, records: list[dict[str, Any]], *, using: str | None = None
) -> None:
    """Ledger entries for finished calls, and their cost added to ``run_id``'s spend; inside
    the caller's transaction. Each record names its ``project_id`` (whose ledger it goes in:
    a column that cannot be null, so none can be written unscoped)."""
    using = using or LlmCall.objects.db
    # One entry per key in a project: the first (the answers of one request are equivalent).
    unique: list[dict[str, Any]] = []
    keys: set[tuple[int, str]] = set()
    for record in records:
        scoped = (record["project_id"], record["key"])
        if scoped not in keys:
            keys.add(scoped)
            unique.append(record)
    # An entry whose credential was deleted meanwhile cannot be stored (PostgreSQL checks the
    # foreign key at commit, failing the whole flush): it is skipped, as it always was.
    credential_ids = {r["credential_id"] for r in unique if r.get("credential_id") is not None}
    if credential_ids:
        alive = set(
            ProviderCredential.objects.using(using)
            .filter(pk__in=credential_ids)
            .values_list("pk", flat=True)
        )
        unique = [
            r for r in unique if r.get("credential_id") is None or r["credential_id"] in alive
        ]
    inserted = _insert_calls(unique, using)
    # A key already there was recorded by another worker first: its answer is equivalent, and
    # its cost is already in the run's spend. Rounded as each entry is stored, so the run's
    # spend is the sum of its ledger entries.
    places = Decimal(1).scaleb(-LlmCall._meta.get_field("cost_usd").decimal_places)
    spent = sum(
        (
            Decimal(r["cost_usd"]).quantize(places)
            for r in unique
            if (r["project_id"], r["key"]) in inserted
            and r.get("run_id") == run_id
            and r.get("cost_usd")
        ),
        Decimal(0),
    )
    if spent and run_id is not None:
        Run.objects.using(using).filter(pk=run_id).update(spent_usd=F("spent_usd") + spent)


# Ledger entries per INSERT statement (SQLite allows 32 766 parameters; an entry has 17).
INSERT_BATCH = 200


def _insert_calls(records: list[dict[str, Any]], using: str) -> set[tuple[int, str]]:
    """Insert the ledger entries whose key is not in their project's ledger yet; the
    (project id, key) pairs inserted.

    One prepared ``INSERT … ON CONFLICT (project_id, key) DO NOTHING RETURNING project_id,
    key`` per batch (PostgreSQL
    and SQLite ≥ 3.35 alike), values prepared by the model's own fields as the ORM would.
    ``bulk_create`` compiled every value through the query compiler and needed a SELECT first
    to learn which keys were new: together about 0.3 ms of CPU per call, the largest part of
    a flush (docs/performance.md)."""
    if not records:
        return set()
    connection = connections[using]
    quote = connection.ops.quote_name
    fields = [f for f in LlmCall._meta.concrete_fields if not f.primary_key]
    now = timezone.now()
    columns = ", ".join(quote(f.column) for f in fields)
    scope = f"{quote('project_id')}, {quote('key')}"  # the unique (project, key) constraint
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    inserted: set[tuple[int, str]] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(records), INSERT_BATCH):
            batch = records[start : start + INSERT_BATCH]
            params: list[Any] = []
            for record in batch:
                for f in fields:
                    if f.name == "created_at":
                        value = now
                    elif f.attname in record:
                        value = record[f.attname]
                    elif f.name in record:
                        value = record[f.name]
                    else:
                        value = f.get_default()
                    params.append(f.get_db_prep_save(value, connection))
            cursor.execute(
                f"INSERT INTO {quote(LlmCall._meta.db_table)} ({columns}) "
                f"VALUES {', '.join([row_sql] * len(batch))} "
                f"ON CONFLICT ({scope}) DO NOTHING RETURNING {scope}",
                params,
            )
            inserted.update((project_id, key) for project_id, key in cursor.fetchall())
    return inserted


def _store_outcomes(outcomes: list[tuple[int, RowOutcome]]) -> list[int]:
    ids = [row_id for row_id, _ in outcomes]
    # Locked (PostgreSQL) so a second worker holding the same rows waits, then finds them done.
    pending = set(
        Row.objects.select_for_update()
        .filter(pk__in=ids, status=Row.Status.PENDING)
        .values_list("pk", flat=True)
    )
    stored = [(row_id, outcome) for row_id, outcome in outcomes if row_id in pending]
    if not stored:
        return []
    # One prepared UPDATE run for every row (executemany), values prepared by the model's own
    # fields as the ORM would: Django's bulk_update builds a CASE per field and row, which cost
    # 1.5 ms of CPU per row here, more than the rest of the chunk's database work together.
    connection = connections[Row.objects.db]
    quote = connection.ops.quote_name
    # Columns of Row (``get_field`` is typed for reverse relations too).
    fields = [cast("Field[Any, Any]", Row._meta.get_field(name)) for name in OUTCOME_FIELDS]
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
    sql = (
        f"UPDATE {quote(Row._meta.db_table)} SET {assignments} "
        f"WHERE {quote(Row._meta.pk.column)} = %s AND {quote('status')} = %s"
    )
    now = timezone.now()
    params = []
    for row_id, outcome in stored:
        values = {**_outcome_fields(outcome), "finished_at": now}
        params.append(
            [field.get_db_prep_save(values[field.name], connection) for field in fields]
            + [row_id, Row.Status.PENDING]
        )
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return [row_id for row_id, _ in stored]


def run_finish_if_done(*, run_id: int) -> bool:
    """Close a running run that has no pending rows left; True if this call closed it."""
    if Row.objects.filter(run_id=run_id, status=Row.Status.PENDING).exists():
        return False
    failed = Row.objects.filter(run_id=run_id, status=Row.Status.FAILED).exists()
    closed = (
        Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).update(
            status=Run.Status.FAILED if failed else Run.Status.FINISHED,
            finished_at=timezone.now(),
        )
        == 1
    )
    if closed:
        holds_clear(run_id)  # no call is left to make: only a dead worker's could remain
        if Run.objects.filter(pk=run_id).exclude(gate={}).exists():
            run_with_gate_ended.send(sender=Run, run_id=run_id)
    return closed


def run_stop_at_budget(run_id: int) -> bool:
    """Stop a running run whose budget is spent; its pending rows wait for a raised budget."""
    return (
        Run.objects.filter(pk=run_id, status=Run.Status.RUNNING).update(
            status=Run.Status.BUDGET_REACHED
        )
        == 1
    )


MSG_SPEC_UNUSABLE = "This run's schema cannot be generated any more: {problems}"


@transaction.atomic
def run_fail_pending(*, run_id: int, problems: list[str]) -> bool:
    """Fail every pending row of a run whose schema snapshot no longer validates (saved before
    a check refused it), and close the run: retrying its chunks could never succeed.
    True if this call closed the run."""
    message = MSG_SPEC_UNUSABLE.replace("{problems}", "; ".join(problems))
    Row.objects.filter(run_id=run_id, status=Row.Status.PENDING).update(
        status=Row.Status.FAILED, errors={"schema": message}, finished_at=timezone.now()
    )
    return run_finish_if_done(run_id=run_id)
