"""Two runs of a project compared (the page and the API show the same data): their current
evaluations matched by name and kind, each figure's difference B − A marked better or worse,
rows paired by seed position where both runs used the same seed, a pairwise judge's win
rates. The maths is in evaluation/metrics/comparison.py."""

from __future__ import annotations

from typing import Any

from evaluation import selectors
from evaluation.kinds import KINDS
from evaluation.metrics.comparison import (
    Direction,
    compare_criteria,
    compare_figures,
    match_by_key,
    pair_by_index,
    paired_stats,
    win_rates,
)
from evaluation.models import Evaluation
from generation.models import Run

# Kinds whose mean has no better direction: a length is neither good nor bad, and a pairwise
# judge's mean is column A's share of the wins (its win rates say more). Others: higher.
NEUTRAL_MEAN_KINDS = frozenset({"length", "pairwise_judge"})
PAIRWISE_KIND = "pairwise_judge"

MSG_NOT_PAIRED = (
    "The runs used different seeds (A: {a}, B: {b}), so row #n of one is not row #n of the "
    "other: rows are not paired by position."
)


def direction(kind: str) -> Direction:
    return "neutral" if kind in NEUTRAL_MEAN_KINDS else "higher"


def run_side(run: Run) -> dict[str, Any]:
    return {
        "id": run.pk,
        "schema_name": run.schema_name,
        "schema_version": run.schema_version,
        "seed": run.seed,
        "num_rows": run.num_rows,
        "status": run.status,
    }


def _side(evaluation: Evaluation | None) -> dict[str, Any] | None:
    if evaluation is None:
        return None
    summary = evaluation.summary or {}
    return {
        "id": evaluation.pk,
        "version": evaluation.version,
        "scored": summary.get("scored"),
        "count": summary.get("count"),
        "failed": summary.get("failed"),
    }


def _paired(a: Run, b: Run, ea: Evaluation, eb: Evaluation) -> dict[str, Any]:
    stats = paired_stats(
        pair_by_index(
            selectors.scores_by_index(evaluation=ea), selectors.scores_by_index(evaluation=eb)
        )
    ).as_dict()
    indexes = [row["index"] for row in stats["largest"]]
    ids_a = selectors.row_ids_by_index(run=a, indexes=indexes)
    ids_b = selectors.row_ids_by_index(run=b, indexes=indexes)
    for row in stats["largest"]:
        row["a_row_id"], row["b_row_id"] = ids_a.get(row["index"]), ids_b.get(row["index"])
    return stats


def _win_rates(evaluation: Evaluation | None) -> dict[str, Any] | None:
    if evaluation is None:
        return None
    return win_rates(selectors.score_details(evaluation=evaluation)).as_dict()


def compare_evaluations(
    a: Run, b: Run, ea: Evaluation | None, eb: Evaluation | None, *, paired: bool
) -> dict[str, Any]:
    some = ea or eb
    assert some is not None
    kind = KINDS.get(some.kind)
    summary_a = ea.summary if ea else None
    summary_b = eb.summary if eb else None
    return {
        "name": some.name,
        "kind": some.kind,
        "kind_label": kind.label if kind else some.kind,
        "present": "both" if ea and eb else ("a" if ea else "b"),
        "a": _side(ea),
        "b": _side(eb),
        "direction": direction(some.kind),
        "figures": [
            f.as_dict()
            for f in compare_figures(summary_a, summary_b, direction=direction(some.kind))
        ],
        "criteria": [
            f.as_dict()
            for f in compare_criteria(
                (summary_a or {}).get("criteria"), (summary_b or {}).get("criteria")
            )
        ],
        # A pairwise judge's row score is column A's points: its win rates say more.
        "paired": _paired(a, b, ea, eb)
        if ea and eb and paired and some.kind != PAIRWISE_KIND
        else None,
        # The two columns a pairwise judge compared (A, B), from either side's settings.
        "columns": [some.settings.get("column"), some.settings.get("column_b")]
        if some.kind == PAIRWISE_KIND
        else None,
        "pairwise": {"a": _win_rates(ea), "b": _win_rates(eb)}
        if some.kind == PAIRWISE_KIND
        else None,
        "histograms": {
            "a": (summary_a or {}).get("histogram") or [],
            "b": (summary_b or {}).get("histogram") or [],
        },
    }


def compare_runs(*, a: Run, b: Run) -> dict[str, Any]:
    """Everything the comparison page and API show, as plain data."""
    paired = a.seed == b.seed
    matched = match_by_key(
        selectors.current_evaluations(run=a),
        selectors.current_evaluations(run=b),
        key=lambda e: (e.name, e.kind),
    )
    return {
        "a": run_side(a),
        "b": run_side(b),
        "same_seed": paired,
        "not_paired_reason": ""
        if paired
        else MSG_NOT_PAIRED.replace("{a}", str(a.seed)).replace("{b}", str(b.seed)),
        "evaluations": [compare_evaluations(a, b, ea, eb, paired=paired) for _, ea, eb in matched],
    }
