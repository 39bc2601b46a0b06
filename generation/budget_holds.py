"""A run's budget, shared by every worker: before a call goes out, the most it can cost is held in
the database (``BudgetHold``); the hold goes when the call's ledger entry adds the real cost to
the run's spend, in the same transaction, or when the call fails unpaid.

Why the database: the calls in flight of one worker process are invisible to the others, so
holds kept in a process's memory let N processes together spend up to N times what is left
(tests/generation/test_budget_holds.py). The run's row is locked while holds are granted
(PostgreSQL; SQLite's writers take turns), so two workers cannot both take the last of it.

A worker killed with calls in flight leaves its holds behind: they stop counting at
``expires_at``, ``settings.STUDIO_BUDGET_HOLD_SECONDS`` after they were taken (by default longer
than a call can take with all its retries), and the run finishing removes them. Until then they
keep that much of the budget from the run's other calls: never more spending, at worst an
early "budget reached" that raising the budget or waiting undoes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, Decimal

from django.conf import settings
from django.db.models import Sum
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


def lock_run(run_id: int) -> None:
    """Lock the run's row (PostgreSQL) for the rest of the transaction: taken first, as every
    other writer of the run takes it, so the rows locked after it cannot deadlock."""
    list(Run.objects.select_for_update().filter(pk=run_id).values_list("pk", flat=True))


def holds_grant(run_id: int, amounts: list[Decimal]) -> list[HoldAnswer]:
    """Hold each amount, in order, while the run is running and its spend, the holds of every
    worker and this amount stay within its budget. Inside the caller's transaction, after
    ``lock_run``."""
    run = Run.objects.filter(pk=run_id).values("status", "budget_usd", "spent_usd").first()
    if run is None or run["status"] != Run.Status.RUNNING:
        return [STOPPED] * len(amounts)
    if run["budget_usd"] is None:
        return [NO_BUDGET] * len(amounts)
    now = timezone.now()
    live = BudgetHold.objects.filter(run_id=run_id, expires_at__gt=now)
    held = live.aggregate(total=Sum("amount_usd"))["total"] or Decimal(0)
    left = run["budget_usd"] - run["spent_usd"] - held
    wanted: list[Decimal | None] = []
    for amount in amounts:
        amount = amount.quantize(_PLACES, rounding=ROUND_CEILING)
        fits = amount <= left
        left -= amount if fits else 0
        wanted.append(amount if fits else None)
    expires_at = now + timedelta(seconds=settings.STUDIO_BUDGET_HOLD_SECONDS)
    created = iter(
        BudgetHold.objects.bulk_create(
            BudgetHold(run_id=run_id, amount_usd=amount, expires_at=expires_at)
            for amount in wanted
            if amount is not None
        )
    )
    return [
        HoldAnswer(True, True, next(created).pk) if amount is not None else REFUSED
        for amount in wanted
    ]


def holds_settle(hold_ids: list[int]) -> None:
    """Remove holds whose calls are recorded (their cost is in the spend now) or failed."""
    if hold_ids:
        BudgetHold.objects.filter(pk__in=hold_ids).delete()


def holds_clear(run_id: int) -> None:
    """Remove every hold of a run that has no call left to make (finished), live or stale."""
    BudgetHold.objects.filter(run_id=run_id).delete()
