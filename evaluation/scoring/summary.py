"""An evaluation's summary, computed once its last chunk is written (and shown from the row)."""

from __future__ import annotations

from typing import Any

from evaluation.kinds import KINDS
from evaluation.metrics.stats import breakdown, summarise
from evaluation.models import Evaluation, Score

# Columns an evaluation is broken down by: the run's sampler columns with few values.
BREAKDOWN_KINDS = ("category", "subcategory", "boolean")
MAX_BREAKDOWNS = 4


def breakdown_columns(evaluation: Evaluation) -> list[str]:
    spec = evaluation.run.spec
    names = [c.name for c in spec.columns if getattr(c, "kind", "") in BREAKDOWN_KINDS]
    return names[:MAX_BREAKDOWNS]


def evaluation_summary(evaluation: Evaluation, figures: dict[str, Any] | None = None) -> dict:
    kind = KINDS.get(evaluation.kind)
    settings = kind.settings_model.model_validate(evaluation.settings) if kind else None
    scale = kind.scale if kind else None
    if settings is not None and scale is None:
        scale = settings.score_range()
    scores = Score.objects.filter(evaluation=evaluation)
    rows = scores.values_list("value", "passed", "detail__scores").iterator(chunk_size=5000)
    summary = summarise(
        (
            (value, passed, criteria if isinstance(criteria, dict) else None)
            for value, passed, criteria in rows
        ),
        scale=scale,
    )
    summary["failed"] = scores.exclude(error="").count()
    summary["by_column"] = {
        column: breakdown(
            scores.values_list("value", "passed", f"row__values__{column}").iterator(
                chunk_size=5000
            )
        )
        for column in breakdown_columns(evaluation)
    }
    if kind is not None and kind.extra_summary is not None:
        details = scores.filter(error="").values_list("detail", flat=True)
        extra = kind.extra_summary(settings, details.iterator(chunk_size=5000))
        figures = {**(figures or {}), **extra.pop("figures", {})}
        summary.update(extra)
    if figures:
        summary["figures"] = figures
    return summary
