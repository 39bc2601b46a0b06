"""REST endpoint comparing two runs: the data of the comparison page (run_comparison.py).
Both runs must be viewable by the caller and in the same project, or it is a 404."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from evaluation import selectors
from evaluation.run_comparison import compare_runs

router = Router(tags=["evaluation"])


class RunSideOut(Schema):
    id: int
    schema_name: str
    schema_version: int
    seed: int
    num_rows: int
    status: str


class EvaluationSideOut(Schema):
    id: int
    version: int
    scored: int | None
    count: int | None
    failed: int | None


class FigureOut(Schema):
    name: str
    a: float | None
    b: float | None
    delta: float | None  # B − A
    verdict: str  # better, worse, same, changed (no better direction) or "" (a side missing)


class PairedRowOut(Schema):
    index: int
    a: float
    b: float
    delta: float
    a_row_id: int | None
    b_row_id: int | None


class PairedOut(Schema):
    pairs: int
    b_higher: int
    a_higher: int
    equal: int
    share_b_higher: float | None
    mean_difference: float | None
    largest: list[PairedRowOut]


class WinRatesOut(Schema):
    judged: int
    a_wins: int
    b_wins: int
    ties: int
    a_win_rate: float | None
    b_win_rate: float | None
    tie_rate: float | None
    inconsistent: int
    compared: int


class PairwiseOut(Schema):
    a: WinRatesOut | None
    b: WinRatesOut | None


class EvaluationComparisonOut(Schema):
    name: str
    kind: str
    kind_label: str
    present: str  # both, a or b
    a: EvaluationSideOut | None
    b: EvaluationSideOut | None
    direction: str
    figures: list[FigureOut]
    criteria: list[FigureOut]
    paired: PairedOut | None  # None when the runs' seeds differ
    pairwise: PairwiseOut | None
    columns: list[str | None] | None  # a pairwise judge's two columns
    histograms: dict[str, list[dict[str, Any]]]


class ComparisonOut(Schema):
    a: RunSideOut
    b: RunSideOut
    same_seed: bool
    not_paired_reason: str
    evaluations: list[EvaluationComparisonOut]


@router.get("/runs/{run_id}/compare/{other_run_id}", response=ComparisonOut)
def compare(request: HttpRequest, run_id: int, other_run_id: int) -> Any:
    run, other = selectors.run_pair_get_for_user(
        user=request.user, run_id=run_id, other_run_id=other_run_id
    )
    return compare_runs(a=run, b=other)
