"""REST endpoints of a row's regeneration from review: regenerate some model columns (or all)
of a row, and read the row's history (its earlier values, newest first)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from evaluation.row_regeneration import MAX_COLUMNS, row_regenerate
from generation.models import RowVersion
from generation.selectors import row_get_for_user, row_history
from studio.api_input import InputSchema
from studio.permissions import Action
from studio.signed_in import SignedInRequest

router = Router(tags=["review and export"])


class RegenerateIn(InputSchema):
    # The model columns to ask again (their dependants follow); null for every model column.
    columns: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        default=None, min_length=1, max_length=MAX_COLUMNS
    )


class RegenerateOut(Schema):
    row_id: int
    row_index: int
    status: str
    # The model columns asked for, then every column regenerated (those and their dependants).
    asked: list[str]
    columns: list[str]
    budget_left_usd: Decimal | None


class RowVersionOut(Schema):
    attempt: int
    columns: list[str]
    values: dict[str, Any]
    errors: dict[str, Any]
    edited_values: dict[str, Any] | None
    review_status: str
    scores: dict[str, Any]
    reason: str
    created_by: str | None
    created_at: datetime

    @staticmethod
    def resolve_created_by(version: RowVersion) -> str | None:
        return version.created_by.username if version.created_by is not None else None


@router.post("/rows/{row_id}/regenerate", response={202: RegenerateOut})
def regenerate_row(request: SignedInRequest, row_id: int, payload: RegenerateIn) -> Any:
    """Ask the model again for ``columns`` of the row (null: all its model columns) and the
    columns depending on them; the row is pending until the workers have filled it. Its
    earlier values are kept in its history; its decision and edit are cleared."""
    row = row_get_for_user(user=request.user, row_id=row_id, action=Action.OPERATE_RUNS)
    plan = row_regenerate(row=row, user=request.user, columns=payload.columns)
    return Status(
        202,
        {
            "row_id": plan.row.pk,
            "row_index": plan.row.index,
            "status": plan.row.status,
            "asked": plan.asked,
            "columns": plan.columns,
            "budget_left_usd": plan.budget_left,
        },
    )


@router.get("/rows/{row_id}/history", response=list[RowVersionOut])
def get_row_history(request: HttpRequest, row_id: int) -> Any:
    """The row's earlier versions, newest attempt first (its current values are the next)."""
    row = row_get_for_user(user=request.user, row_id=row_id, action=Action.VIEW)
    return row_history(row=row)
