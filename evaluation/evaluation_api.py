"""REST endpoints of evaluations: everything the evaluation pages do."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from evaluation import selectors
from evaluation.metrics.agreement import agreement
from evaluation.models import Evaluation
from evaluation.scoring.services import (
    evaluation_cancel,
    evaluation_create,
    evaluation_rerun,
)
from generation.selectors import run_get_for_user
from studio.api_input import InputSchema
from studio.permissions import Action
from studio.signed_in import SignedInRequest

router = Router(tags=["evaluation"])
MAX_SCORES_PAGE = 1000


class EvaluationIn(InputSchema):
    name: str = Field(min_length=1, max_length=120)
    kind: str = Field(min_length=1, max_length=40)
    settings: dict[str, Any] = Field(default_factory=dict)
    # {"review": ["accepted", ...], "where": {"column": "value"}}
    target: dict[str, Any] = Field(default_factory=dict)


class EvaluationOut(Schema):
    id: int
    run_id: int
    name: str
    kind: str
    settings: dict[str, Any]
    target: dict[str, Any]
    version: int
    is_current: bool
    status: str
    rows_total: int
    rows_scored: int
    rows_failed: int
    progress_percent: int
    summary: dict[str, Any]
    error: str
    created_at: datetime
    finished_at: datetime | None


class ScoreOut(Schema):
    row_id: int
    row_index: int
    value: float | None
    passed: bool | None
    detail: dict[str, Any]
    error: str


class ScoreFilters(Schema):
    low: float | None = None
    high: float | None = None
    passed: bool | None = None
    failed: bool | None = None
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=MAX_SCORES_PAGE)


class AgreementOut(Schema):
    rows: int
    accuracy: float | None
    kappa: float | None
    judge_pass_human_accept: int
    judge_pass_human_reject: int
    judge_fail_human_accept: int
    judge_fail_human_reject: int


class SummaryOut(Schema):
    evaluation_id: int
    status: str
    summary: dict[str, Any]
    agreement: AgreementOut | None


@router.post("/runs/{run_id}/evaluations", response={202: EvaluationOut})
def create_evaluation(request: SignedInRequest, run_id: int, payload: EvaluationIn) -> Any:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.EVALUATE)
    return Status(
        202,
        evaluation_create(
            run=run,
            user=request.user,
            name=payload.name,
            kind=payload.kind,
            settings=payload.settings,
            target=payload.target,
        ),
    )


@router.get("/runs/{run_id}/evaluations", response=list[EvaluationOut])
def list_evaluations(request: HttpRequest, run_id: int) -> Any:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    return selectors.evaluation_list(run=run)


def _get(request: HttpRequest, evaluation_id: int, action: Action) -> Evaluation:
    return selectors.evaluation_get_for_user(
        user=request.user, evaluation_id=evaluation_id, action=action
    )


@router.get("/evaluations/{evaluation_id}", response=EvaluationOut)
def get_evaluation(request: HttpRequest, evaluation_id: int) -> Any:
    return _get(request, evaluation_id, Action.VIEW)


@router.post("/evaluations/{evaluation_id}/cancel", response=EvaluationOut)
def cancel_evaluation(request: HttpRequest, evaluation_id: int) -> Any:
    return evaluation_cancel(evaluation=_get(request, evaluation_id, Action.EVALUATE))


@router.post("/evaluations/{evaluation_id}/rerun", response={202: EvaluationOut})
def rerun_evaluation(request: SignedInRequest, evaluation_id: int) -> Any:
    evaluation = _get(request, evaluation_id, Action.EVALUATE)
    return Status(202, evaluation_rerun(evaluation=evaluation, user=request.user))


@router.get("/evaluations/{evaluation_id}/scores", response=list[ScoreOut])
def list_scores(request: HttpRequest, evaluation_id: int, filters: Query[ScoreFilters]) -> Any:
    evaluation = _get(request, evaluation_id, Action.VIEW)
    scores = selectors.score_list(
        evaluation=evaluation,
        low=filters.low,
        high=filters.high,
        passed=filters.passed,
        failed=filters.failed,
    )[filters.offset : filters.offset + filters.limit]
    return [
        {
            "row_id": s.row_id,
            "row_index": s.row.index,
            "value": s.value,
            "passed": s.passed,
            "detail": s.detail,
            "error": s.error,
        }
        for s in scores
    ]


@router.get("/evaluations/{evaluation_id}/summary", response=SummaryOut)
def get_summary(request: HttpRequest, evaluation_id: int) -> Any:
    evaluation = _get(request, evaluation_id, Action.VIEW)
    pairs = selectors.judge_agreement_pairs(evaluation=evaluation)
    found = agreement(pairs) if pairs else None
    return {
        "evaluation_id": evaluation.pk,
        "status": evaluation.status,
        "summary": evaluation.summary,
        "agreement": None
        if found is None
        else {
            "rows": found.total,
            "accuracy": found.accuracy,
            "kappa": found.kappa,
            "judge_pass_human_accept": found.both_yes,
            "judge_pass_human_reject": found.judge_yes_human_no,
            "judge_fail_human_accept": found.judge_no_human_yes,
            "judge_fail_human_reject": found.both_no,
        },
    }
