"""Regenerating one row from review (focus mode, the row's page, the API): some of its model
columns, or all of them, asked again through the generation engine
(generation/regeneration.py: fresh samples, limiter, budget, ledger; the columns depending on
them follow). The row's decision and edit are cleared (its content is new) through the run's
activity log, as a ``regenerate`` action that undo refuses: the earlier values are in the
row's history (``RowVersion``), not restored by an undo."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction

from evaluation.models import ReviewAction
from evaluation.services import ReviewError, row_state
from generation.live import publish_rows_sync
from generation.models import Row, Run
from generation.regeneration import MANUAL, check_regenerable, regeneration_columns, rows_regenerate
from studio.schema import SchemaSpec, is_llm

MSG_ROW_PENDING = "Row #{index} is still being generated: wait until it is done to regenerate it"
MSG_UNKNOWN = "'{column}' is not a column of this run"
MSG_NOT_MODEL = (
    "'{column}' is a {kind} column, not written by a model: nothing to regenerate "
    "(only a model's answers are asked again)"
)
MSG_NO_MODEL_COLUMNS = "This run has no model columns: nothing to regenerate"
MSG_TOO_MANY = "Name at most {limit} columns"
MAX_COLUMNS = 200


class RegenerationRefused(ReviewError):
    """A row or column that cannot be regenerated (the run's own refusals are RunError)."""


@dataclass(frozen=True)
class RegenerationPlan:
    row: Row
    asked: list[str]  # the model columns asked for
    columns: list[str]  # those and every column depending on them, in the schema's order
    budget_left: Decimal | None  # None: the run has no budget


def llm_column_names(spec: SchemaSpec) -> list[str]:
    return [column.name for column in spec.llm_columns()]


def _asked(spec: SchemaSpec, columns: list[str] | None) -> list[str]:
    if columns is None:
        names = llm_column_names(spec)
        if not names:
            raise RegenerationRefused(MSG_NO_MODEL_COLUMNS)
        return names
    if len(columns) > MAX_COLUMNS:
        raise RegenerationRefused(MSG_TOO_MANY.format(limit=MAX_COLUMNS))
    providers = spec.providers()
    asked: list[str] = []
    for name in columns:
        try:
            column = spec.column(providers.get(name, name))
        except KeyError:
            raise RegenerationRefused(MSG_UNKNOWN.format(column=name)) from None
        if not is_llm(column):
            raise RegenerationRefused(MSG_NOT_MODEL.format(column=name, kind=column.kind))
        if column.name not in asked:
            asked.append(column.name)
    if not asked:
        raise RegenerationRefused(MSG_NO_MODEL_COLUMNS)
    return asked


def regeneration_plan(*, row: Row, columns: list[str] | None) -> RegenerationPlan:
    """What regenerating ``columns`` of ``row`` (None: every model column) would do, for the
    confirmation; RunError or RegenerationRefused when it cannot be done now."""
    run: Run = row.run
    check_regenerable(run)
    if row.status == Row.Status.PENDING:
        raise RegenerationRefused(MSG_ROW_PENDING.format(index=row.index))
    spec = run.spec
    asked = _asked(spec, columns)
    left = None if run.budget_usd is None else max(run.budget_usd - run.spent_usd, Decimal(0))
    return RegenerationPlan(row, asked, regeneration_columns(spec, asked), left)


@transaction.atomic
def row_regenerate(*, row: Row, user: User, columns: list[str] | None) -> RegenerationPlan:
    """Regenerate ``columns`` of ``row`` (None: every model column) and their dependants: the
    row keeps what it was as a RowVersion, goes back to pending and its chunk is sent to the
    workers; its decision and edit are cleared through a ``regenerate`` ReviewAction. Locks
    the run, then the row (the order rows_regenerate and the chunk filler take)."""
    Run.objects.select_for_update().filter(pk=row.run_id).first()
    locked = Row.objects.select_for_update().select_related("run").get(pk=row.pk)
    plan = regeneration_plan(row=locked, columns=columns)
    before = row_state(locked)
    rows_regenerate(
        run=locked.run, row_ids=[locked.pk], columns=plan.asked, user=user, reason=MANUAL
    )
    locked.refresh_from_db()
    ReviewAction.objects.create(
        run_id=locked.run_id,
        row=locked,
        user=user,
        kind=ReviewAction.Kind.REGENERATE,
        column=", ".join(plan.columns)[:64],
        before=before,
        after=row_state(locked),
    )
    run_id, row_id = locked.run_id, locked.pk
    transaction.on_commit(lambda: publish_rows_sync(run_id, [row_id]), robust=True)
    return RegenerationPlan(locked, plan.asked, plan.columns, plan.budget_left)
