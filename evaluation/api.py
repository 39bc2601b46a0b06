"""REST endpoints for review and export."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field

from evaluation import selectors, services
from evaluation.formats import jsonl_lines
from evaluation.models import ReviewAction
from evaluation.streaming import streaming_lines
from generation.api import RowOut
from generation.selectors import row_get_for_user, run_get_for_user
from studio.api_input import InputSchema
from studio.permissions import Action
from studio.signed_in import SignedInRequest

router = Router(tags=["review and export"])


class ReviewIn(InputSchema):
    decision: Literal["accepted", "rejected", "unreviewed"]


class ReviewChangeIn(InputSchema):
    decision: Literal["accepted", "rejected", "unreviewed"] | None = None
    # Column name → its new value (text for a text column; JSON following the column's schema
    # for a structured one). The generated ``values`` are kept.
    edited_values: dict[str, Any] | None = Field(default=None, max_length=200)


class ReviewActionOut(Schema):
    id: int
    row_id: int | None
    row_index: int | None
    user: str | None
    kind: str
    column: str
    before: dict[str, Any]
    after: dict[str, Any]
    created_at: datetime
    undone_at: datetime | None

    @staticmethod
    def resolve_row_index(action: ReviewAction) -> int | None:
        return action.row.index if action.row is not None else None

    @staticmethod
    def resolve_user(action: ReviewAction) -> str | None:
        return action.user.username if action.user is not None else None


class HubPushIn(InputSchema):
    repo_id: str = Field(min_length=3, max_length=200)
    token: str = Field(min_length=1)
    private: bool = True


class HubExportOut(Schema):
    id: int
    run_id: int
    repo_id: str
    private: bool
    status: str
    rows_pushed: int
    url: str
    commit_url: str
    error: str
    created_at: datetime
    finished_at: datetime | None


@router.post("/rows/{row_id}/review", response=RowOut)
def review_row(request: SignedInRequest, row_id: int, payload: ReviewIn) -> Any:
    row = row_get_for_user(user=request.user, row_id=row_id, action=Action.REVIEW_ROWS)
    return services.row_review(row=row, user=request.user, decision=payload.decision)


@router.patch("/rows/{row_id}/review", response=RowOut)
def change_row_review(request: SignedInRequest, row_id: int, payload: ReviewChangeIn) -> Any:
    """A decision, edited values or both, recorded in the run's activity log (undoable)."""
    row = row_get_for_user(user=request.user, row_id=row_id, action=Action.REVIEW_ROWS)
    return services.row_review_change(
        row=row, user=request.user, decision=payload.decision, edits=payload.edited_values
    )


@router.post("/runs/{run_id}/review/undo", response=ReviewActionOut)
def undo_review(request: SignedInRequest, run_id: int) -> Any:
    """Undo your last review action on the run not undone yet; returns it, now undone."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.REVIEW_ROWS)
    return services.review_undo(run=run, user=request.user)


@router.get("/runs/{run_id}/review/activity", response=list[ReviewActionOut])
def review_activity(request: HttpRequest, run_id: int, limit: int = Query(50, ge=1, le=500)) -> Any:
    """The run's review actions, newest first: who decided or edited which row, when."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    return selectors.review_activity(run=run, limit=limit)


@router.get("/runs/{run_id}/export.jsonl")
def export_jsonl(
    request: HttpRequest, run_id: int, rows: Literal["accepted", "all"] = "accepted"
) -> StreamingHttpResponse:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    review = None if rows == "all" else "accepted"
    return streaming_lines(
        request,
        jsonl_lines(selectors.export_records(run=run, review=review)),
        content_type="application/x-ndjson; charset=utf-8",
    )


@router.post("/runs/{run_id}/hub-pushes", response={202: HubExportOut})
def push_to_hub(request: SignedInRequest, run_id: int, payload: HubPushIn) -> Any:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.PUSH_TO_HUB)
    return Status(202, services.hub_export_create(run=run, user=request.user, **payload.dict()))


@router.get("/hub-pushes/{export_id}", response=HubExportOut)
def get_hub_push(request: HttpRequest, export_id: int) -> Any:
    return selectors.hub_export_get_for_user(
        user=request.user, export_id=export_id, action=Action.VIEW
    )
