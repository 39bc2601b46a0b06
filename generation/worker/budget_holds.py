"""A run's budget, shared by every worker: before a call goes out, the most it can cost is held in
the database (``BudgetHold``); the hold goes when the call's ledger entry adds the real cost to
the run's spend, in the same transaction, or when the call fails unpaid.

Why the database: the calls in flight of one worker process are invisible to the others, so
holds kept in a process's memory let N processes together spend up to N times what is left
(tests/generation/worker/test_budget_holds.py). The run's row is locked while holds are granted
(PostgreSQL; SQLite's writers take turns), so two workers cannot both take the last of it.

A hold is a lease: it counts until ``expires_at``, ``settings.STUDIO_BUDGET_HOLD_SECONDS`` (60)
after it was taken, and the chunk that holds it renews its live holds every third of that
(``holds_renew``, from ``ChunkStore``), however long the call, its rate-limiter wait and its
retries take. A worker killed with calls in flight stops renewing: its holds stop counting within
one lease, and the run finishing removes them. Until then they keep that much of the budget from
the run's other calls: never more spending, at worst a "budget reached" a minute early that
raising the budget or resuming undoes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any, cast

from django.conf import settings
from django.db import connections
from django.db.models import Field
from django.utils import timezone

from generation.models import BudgetHold, Run

# Holds are kept to the spend's precision, rounded up: never less than the worst they stand for.
_PLACES = Decimal(1).scaleb(-BudgetHold._meta.get_field("amount_usd").decimal_places)


@dataclass(frozen=True)
class HoldAnswer:
    """The answer to one call's request for a hold."""

    running: bool  # False: the run was paused or cancelled meanwhile; nothing is held
    granted: bool  # False: the budget would not cover the call
    hold_id: int | None = None  # what to settle afterwards (None: the run has no budget)


STOPPED = HoldAnswer(running=False, granted=False)
NO_BUDGET = HoldAnswer(running=True, granted=True)
REFUSED = HoldAnswer(running=True, granted=False)


def holds_grant(run_id: int, amounts: list[Decimal]) -> list[HoldAnswer]:
    """Hold each amount, in order, while the run is running and its spend, the holds of every
    worker and this amount stay within its budget. Inside the caller's transaction.

    Four statements per flush, whatever the number of calls: the run read with its row locked
    (PostgreSQL; SQLite's writers take turns), so two workers cannot both take the last of the
    budget, then the sum of its live holds; one INSERT for the holds; the DELETE of
    ``holds_settle``.
    Written in SQL: through the ORM (a subquery annotation, bulk_create, the delete collector)
    holds cost 0.3-0.4 ms of CPU per call, a tenth of a budgeted run's (bench.profile_engine
    --budget)."""
    now = timezone.now()
    run = _run_with_holds(run_id, now)
    if run is None or run["status"] != Run.Status.RUNNING:
        return [STOPPED] * len(amounts)
    if run["budget_usd"] is None:
        return [NO_BUDGET] * len(amounts)
    left = run["budget_usd"] - run["spent_usd"] - run["held"]
    wanted: list[Decimal | None] = []
    for amount in amounts:
        amount = amount.quantize(_PLACES, rounding=ROUND_CEILING)
        fits = amount <= left
        left -= amount if fits else 0
        wanted.append(amount if fits else None)
    ids = iter(_insert(run_id, [a for a in wanted if a is not None], lease_end(now)))
    return [HoldAnswer(True, True, next(ids)) if a is not None else REFUSED for a in wanted]


def lease_end(now: datetime) -> datetime:
    """When a hold taken or renewed at ``now`` stops counting unless renewed again."""
    return now + timedelta(seconds=settings.STUDIO_BUDGET_HOLD_SECONDS)


def holds_renew(hold_ids: list[int]) -> None:
    """Extend the lease of holds whose calls are still out (their worker is alive)."""
    if not hold_ids:
        return  # the common case: every flush asks
    connection, quote = _connection()
    until = BudgetHold._meta.get_field("expires_at").get_db_prep_save(
        lease_end(timezone.now()), connection
    )
    table = quote(BudgetHold._meta.db_table)
    _execute_for_ids(f"UPDATE {table} SET {quote('expires_at')} = %s", [until], hold_ids)


def _run_with_holds(run_id: int, now: datetime) -> dict[str, Any] | None:
    """The run's status, budget and spend, and the sum of its live holds; its row locked."""
    connection, quote = _connection()
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    # Two statements: the lock first. Under READ COMMITTED a statement that waited for the lock
    # sees the run's row as the other worker committed it, but a subquery of that statement
    # would still see the holds as they were before it waited (tested by test_budget_holds:
    # two workers then overshot one time in four).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('status')}, {quote('budget_usd')}, {quote('spent_usd')} "
            f"FROM {quote(Run._meta.db_table)} WHERE {quote('id')} = %s{lock}",
            [run_id],
        )
        found = cursor.fetchone()
    if found is None:
        return None
    status, budget, spent = found
    return {
        "status": status,
        "budget_usd": None if budget is None else _money(budget),
        "spent_usd": _money(spent),
        "held": holds_live_total(run_id, now),
    }


def holds_live_total(run_id: int, now: datetime | None = None) -> Decimal:
    """What the run's live holds (not expired at ``now``) add up to."""
    connection, quote = _connection()
    expires = BudgetHold._meta.get_field("expires_at").get_db_prep_value(
        now or timezone.now(), connection
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM({quote('amount_usd')}), 0) "
            f"FROM {quote(BudgetHold._meta.db_table)} "
            f"WHERE {quote('run_id')} = %s AND {quote('expires_at')} > %s",
            [run_id, expires],
        )
        (held,) = cursor.fetchone()
    return _money(held)


def _money(value: Any) -> Decimal:
    # PostgreSQL answers numerics as Decimal; SQLite as float or int, made exact here.
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    return exact.quantize(_PLACES)


def _insert(run_id: int, amounts: list[Decimal], expires_at: datetime) -> list[int]:
    if not amounts:
        return []
    connection, quote = _connection()
    # Columns of BudgetHold (``get_field`` is typed for reverse relations too).
    fields = [
        cast("Field[Any, Any]", BudgetHold._meta.get_field(name))
        for name in ("run", "amount_usd", "expires_at")
    ]
    params: list[Any] = []
    for amount in amounts:
        for f, value in zip(fields, (run_id, amount, expires_at), strict=True):
            params.append(f.get_db_prep_save(value, connection))
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(BudgetHold._meta.db_table)} "
            f"({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES {', '.join([row_sql] * len(amounts))} RETURNING {quote('id')}",
            params,
        )
        # In the order of VALUES on PostgreSQL and SQLite, as Django's bulk_create relies on.
        return [hold_id for (hold_id,) in cursor.fetchall()]


def holds_settle(hold_ids: list[int]) -> None:
    """Remove holds whose calls are recorded (their cost is in the spend now) or failed."""
    if not hold_ids:
        return  # the common case: every flush asks
    _, quote = _connection()
    _execute_for_ids(f"DELETE FROM {quote(BudgetHold._meta.db_table)}", [], hold_ids)


def _execute_for_ids(statement: str, params: list[Any], hold_ids: list[int]) -> None:
    """``statement`` (an UPDATE or DELETE of the holds' table) for the holds ``hold_ids``
    (never empty: its callers return first)."""
    connection, quote = _connection()
    placeholders = ", ".join(["%s"] * len(hold_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"{statement} WHERE {quote('id')} IN ({placeholders})", [*params, *hold_ids])


def _connection() -> tuple[Any, Callable[[str], str]]:
    """The holds' database connection and its way of quoting names."""
    connection = connections[BudgetHold.objects.db]
    return connection, connection.ops.quote_name


def holds_clear(run_id: int) -> None:
    """Remove every hold of a run that has no call left to make (finished), live or stale."""
    BudgetHold.objects.filter(run_id=run_id).delete()


def holds_clear_all() -> None:
    """Remove every hold: at the start of the only process that makes calls (embedded mode)."""
    BudgetHold.objects.all().delete()
