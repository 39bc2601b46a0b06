"""REST endpoints for runs and rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.core.paginator import Paginator
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from generation import services
from generation.connection_check import ConnectionCheckFailed, credential_check_connection
from generation.forms import MAX_BUDGET_USD, MAX_SEED, BudgetForm, RunStartForm
from generation.preview import preview_rows
from generation.selectors import (
    row_list,
    run_budget_held,
    run_cost_by_column,
    run_counters,
    run_get_for_user,
    run_list,
)
from studio.api_input import InputSchema
from studio.form_validation import form_validated
from studio.permissions import Action
from studio.selectors import credential_get_for_user, project_get_for_user, schema_get_for_user
from studio.services import schema_validate
from studio.signed_in import SignedInRequest

router = Router(tags=["runs"])


# Bodies are checked by the pages' own forms (RunStartForm, BudgetForm): one validation.
class GateIn(InputSchema):
    kind: str = Field(min_length=1, max_length=40)
    settings: dict[str, Any] = Field(default_factory=dict)
    max_attempts: int = Field(default=2, ge=1, le=5)


class RunIn(InputSchema):
    num_rows: int = Field(ge=1, description="At most STUDIO_MAX_ROWS_PER_RUN")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    budget_usd: Decimal | None = Field(default=None, gt=0, le=MAX_BUDGET_USD)
    fresh_samples: bool = False
    # "batch": the providers' batch APIs, about half the price, answers within hours.
    mode: Literal["online", "batch"] = "online"
    # A quality gate for when the run ends: an evaluation kind with a threshold in its settings;
    # the rows below it are regenerated at most ``max_attempts`` times (evaluation/gate/).
    gate: GateIn | None = None


class BudgetIn(InputSchema):
    budget_usd: Decimal | None = Field(default=None, gt=0, le=MAX_BUDGET_USD)


class CountersOut(Schema):
    total: int
    pending: int
    generated: int
    failed: int
    accepted: int
    rejected: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


class RunOut(Schema):
    id: int
    project_id: int
    schema_id: int | None
    schema_name: str
    schema_version: int
    seed: int
    num_rows: int
    budget_usd: Decimal | None
    spent_usd: Decimal
    # What its calls in flight hold of the budget at most, until their real cost is known.
    held_usd: Decimal
    fresh_samples: bool
    mode: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    counters: CountersOut


class RowOut(Schema):
    id: int
    index: int
    status: str
    review_status: str
    values: dict[str, Any]
    edited_values: dict[str, Any] | None
    errors: dict[str, str]
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


class RowPage(Schema):
    count: int
    page: int
    pages: int
    items: list[RowOut]


class RowFilter(Schema):
    status: Literal["pending", "generated", "failed"] | None = None
    review: Literal["unreviewed", "accepted", "rejected"] | None = None
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=50, ge=1, le=500)


class PreviewIn(InputSchema):
    spec: dict[str, Any]
    count: int = Field(default=3, ge=1, le=10)


class PreviewRowOut(Schema):
    values: dict[str, Any]
    prompts: dict[str, str]
    errors: dict[str, str]


def _run_out(run: Any) -> dict[str, Any]:
    computed = ("counters", "held_usd")
    data = {field: getattr(run, field) for field in RunOut.model_fields if field not in computed}
    data["counters"] = run_counters(run=run).__dict__
    data["held_usd"] = run_budget_held(run=run)
    return data


@router.post("/schemas/{schema_id}/runs", response={201: RunOut})
def start_run(request: SignedInRequest, schema_id: int, payload: RunIn) -> Any:
    schema = schema_get_for_user(user=request.user, schema_id=schema_id, action=Action.OPERATE_RUNS)
    fields = payload.dict()
    gate = fields.pop("gate", None) or {}
    fields |= {f"gate_{key}": value for key, value in gate.items()}
    data = form_validated(RunStartForm, fields)
    run = services.run_create(schema=schema, user=request.user, **data)
    return Status(201, _run_out(run))


@router.get("/projects/{project_id}/runs", response=list[RunOut])
def list_runs(request: HttpRequest, project_id: int) -> Any:
    project = project_get_for_user(user=request.user, project_id=project_id, action=Action.VIEW)
    return [_run_out(run) for run in run_list(project=project)[:100]]


@router.get("/runs/{run_id}", response=RunOut)
def get_run(request: HttpRequest, run_id: int) -> Any:
    return _run_out(run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW))


def _control_run(request: HttpRequest, run_id: int, action: str) -> Any:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.OPERATE_RUNS)
    services.RUN_ACTIONS[action](run=run)  # every open page shows the new state once committed
    run.refresh_from_db()
    return _run_out(run)


# One path per action: a catch-all "/runs/{run_id}/{action}" would also match, and so hide,
# "/runs/{run_id}/rows", "/runs/{run_id}/export.jsonl" and "/runs/{run_id}/hub-pushes".
@router.post("/runs/{run_id}/pause", response=RunOut)
def pause_run(request: HttpRequest, run_id: int) -> Any:
    return _control_run(request, run_id, "pause")


@router.post("/runs/{run_id}/resume", response=RunOut)
def resume_run(request: HttpRequest, run_id: int) -> Any:
    return _control_run(request, run_id, "resume")


@router.post("/runs/{run_id}/cancel", response=RunOut)
def cancel_run(request: HttpRequest, run_id: int) -> Any:
    return _control_run(request, run_id, "cancel")


@router.post("/runs/{run_id}/retry-failed", response=RunOut)
def retry_failed_rows(request: HttpRequest, run_id: int) -> Any:
    return _control_run(request, run_id, "retry-failed")


@router.put("/runs/{run_id}/budget", response=RunOut)
def set_budget(request: HttpRequest, run_id: int, payload: BudgetIn) -> Any:
    """Change a run's budget; raising it on a run stopped by its budget sets it going again."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.CHANGE_BUDGET)
    data = form_validated(BudgetForm, payload.dict())
    services.run_set_budget(run=run, budget_usd=data["budget_usd"])
    return _run_out(run)


@router.get("/runs/{run_id}/rows", response=RowPage)
def list_rows(request: HttpRequest, run_id: int, filters: Query[RowFilter]) -> Any:
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    paginator = Paginator(
        row_list(run=run, status=filters.status, review=filters.review), filters.page_size
    )
    page = paginator.get_page(filters.page)
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "items": list(page.object_list),
    }


@router.post("/projects/{project_id}/preview", response=list[PreviewRowOut])
def preview(request: HttpRequest, project_id: int, payload: PreviewIn) -> Any:
    project = project_get_for_user(user=request.user, project_id=project_id, action=Action.DESIGN)
    spec = schema_validate(project=project, data=payload.spec)
    return [
        row.outcome.__dict__
        for row in preview_rows(project=project, spec=spec, count=payload.count)
    ]


class ConnectionOut(Schema):
    ok: bool
    message: str


@router.post("/credentials/{credential_id}/test", response=ConnectionOut)
def test_credential(request: HttpRequest, credential_id: int) -> Any:
    """One cheap call (listing models); a failure carries the provider's own message."""
    credential = credential_get_for_user(
        user=request.user, credential_id=credential_id, action=Action.MANAGE_CREDENTIALS
    )
    try:
        return {"ok": True, "message": credential_check_connection(credential=credential)}
    except ConnectionCheckFailed as exc:
        return {"ok": False, "message": str(exc)}


class ColumnCostOut(Schema):
    column: str
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal


@router.get("/runs/{run_id}/costs", response=list[ColumnCostOut])
def run_costs(request: HttpRequest, run_id: int) -> Any:
    """Calls, tokens and cost per LLM column (re-asks included), from the call ledger."""
    run = run_get_for_user(user=request.user, run_id=run_id, action=Action.VIEW)
    return [cost.__dict__ for cost in run_cost_by_column(run=run)]
