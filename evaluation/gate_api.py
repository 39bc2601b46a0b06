"""REST endpoints of quality gates: how many rows are below an evaluation's threshold and the
gates run on it; reject them; regenerate them (at most K rounds)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from evaluation import selectors
from evaluation.gate.rules import MAX_ATTEMPTS, MIN_ATTEMPTS, gate_problem, threshold_text
from evaluation.gate.services import gate_regenerate, gate_reject, gate_rows_below
from evaluation.models import Evaluation
from studio.api_input import InputSchema
from studio.permissions import Action
from studio.signed_in import SignedInRequest

router = Router(tags=["evaluation"])


class GateOut(Schema):
    id: int
    evaluation_id: int
    action: str
    status: str
    max_attempts: int
    round: int
    from_run: bool
    reason: str
    rows_below: int
    rows_regenerated: int
    message: str
    created_at: datetime
    finished_at: datetime | None


class GateStateOut(Schema):
    evaluation_id: int
    threshold: str | None
    # Why no gate can act on this evaluation (no threshold, ...); null when one can.
    problem: str | None
    rows_below: int
    gates: list[GateOut]


class GateRegenerateIn(InputSchema):
    max_attempts: int = Field(ge=MIN_ATTEMPTS, le=MAX_ATTEMPTS)


class GateRejectIn(InputSchema):
    pass


def _get(request: HttpRequest, evaluation_id: int, action: Action) -> Evaluation:
    return selectors.evaluation_get_for_user(
        user=request.user, evaluation_id=evaluation_id, action=action
    )


@router.get("/evaluations/{evaluation_id}/gate", response=GateStateOut)
def get_gate(request: HttpRequest, evaluation_id: int) -> Any:
    evaluation = _get(request, evaluation_id, Action.VIEW)
    return {
        "evaluation_id": evaluation.pk,
        "threshold": threshold_text(evaluation.settings),
        "problem": gate_problem(evaluation),
        "rows_below": gate_rows_below(evaluation=evaluation),
        "gates": list(selectors.gate_list(evaluation=evaluation)),
    }


@router.post("/evaluations/{evaluation_id}/gate/regenerate", response={202: GateOut})
def regenerate_below(
    request: SignedInRequest, evaluation_id: int, payload: GateRegenerateIn
) -> Any:
    evaluation = _get(request, evaluation_id, Action.OPERATE_RUNS)
    gate = gate_regenerate(
        evaluation=evaluation, user=request.user, max_attempts=payload.max_attempts
    )
    return Status(202, gate)


@router.post("/evaluations/{evaluation_id}/gate/reject", response=GateOut)
def reject_below(request: SignedInRequest, evaluation_id: int, payload: GateRejectIn) -> Any:
    evaluation = _get(request, evaluation_id, Action.EVALUATE)
    return gate_reject(evaluation=evaluation, user=request.user)
