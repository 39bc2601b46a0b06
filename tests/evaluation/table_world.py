"""A finished run for the review table's tests: 12 generated rows whose topic alternates
(space on even indexes, oceans on odd), whose question grows longer with the index, finished a
minute apart; a "judge" evaluation scoring row i with i/10 (passing from 0.5), and a duplicates
evaluation putting rows 2 and 3 in one cluster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evaluation.models import Evaluation, Score
from generation.models import Row, Run
from studio.models import Project
from tests.evaluation.review_world import review_run

ROWS = 12
START = datetime(2026, 1, 1, tzinfo=UTC)


def table_run(project: Project, credential_id: int) -> tuple[Run, Evaluation, Evaluation]:
    run = review_run(project, credential_id, rows=ROWS)
    rows = list(run.rows.order_by("index"))
    for row in rows:
        row.values["topic"] = "space" if row.index % 2 == 0 else "oceans"
        row.values["question"] = f"Question {row.index}{'?' * row.index}"
        row.finished_at = START + timedelta(minutes=row.index)
    Row.objects.bulk_update(rows, ["values", "finished_at"])
    judge = _evaluation(run, "judge", "length")
    Score.objects.bulk_create(
        Score(evaluation=judge, row=row, value=row.index / 10, passed=row.index >= 5)
        for row in rows
    )
    duplicates = _evaluation(run, "dupes", "duplicates")
    Score.objects.bulk_create(
        Score(
            evaluation=duplicates,
            row=row,
            value=0.0 if row.index == 3 else 1.0,
            passed=row.index != 3,
            detail={"cluster": 2 if row.index in (2, 3) else row.index}
            | {"cluster_size": 2 if row.index in (2, 3) else 1},
        )
        for row in rows
    )
    return run, judge, duplicates


def _evaluation(run: Run, name: str, kind: str) -> Evaluation:
    return Evaluation.objects.create(
        run=run,
        name=name,
        kind=kind,
        settings={"column": "question", "threshold": 0.5},
        status=Evaluation.Status.DONE,
        is_current=True,
    )
