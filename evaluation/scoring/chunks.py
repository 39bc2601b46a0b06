"""One chunk of an evaluation, as a worker scores it: read the chunk's rows that have no score
yet, score them, and write the scores with the chunk marked done in one transaction
(scoring/writes.py). A message delivered twice (a worker killed after the commit) finds the
chunk done; a worker killed before it leaves nothing, and the redelivered message scores the
chunk again. The last chunk written computes the summary and makes the evaluation the one pages
show. A dataset-level kind's single chunk is scored by scoring/dataset_chunk.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from evaluation.kinds import KINDS, EvaluationKind, RowInput, ScoreResult
from evaluation.models import Evaluation, EvaluationChunk
from evaluation.scoring.calls import EvaluationCalls, evaluation_calls
from evaluation.scoring.dataset_chunk import score_dataset_chunk
from evaluation.scoring.targets import target_rows
from evaluation.scoring.writes import failed_score, scores_write

logger = logging.getLogger(__name__)
ROW_BATCH = 2000


def _row_inputs(evaluation: Evaluation, chunk: EvaluationChunk) -> Iterable[RowInput]:
    rows = (
        target_rows(evaluation.run, evaluation.target)
        .filter(index__gte=chunk.start, index__lt=chunk.stop)
        .exclude(scores__evaluation=evaluation)
        .order_by("index")
        .values_list("pk", "index", "values", "edited_values")
    )
    for pk, index, values, edited in rows.iterator(chunk_size=ROW_BATCH):
        yield RowInput(pk, index, edited if edited is not None else values)


def _score(
    evaluation: Evaluation, kind: EvaluationKind, rows: Sequence[RowInput]
) -> dict[int, ScoreResult]:
    settings = kind.settings_model.model_validate(evaluation.settings)
    if kind.score is not None:
        return dict(zip((r.row_id for r in rows), kind.score(settings, rows), strict=True))
    if kind.score_with_calls is not None:
        # The credentials are read here: no ORM query may run on the event loop.
        calls = evaluation_calls(evaluation)
        return dict(
            zip(
                (r.row_id for r in rows),
                asyncio.run(_with_calls(calls, kind, settings, rows)),
                strict=True,
            )
        )
    raise AssertionError(f"Kind '{kind.name}' scores the whole set (dataset_chunk.py)")


async def _with_calls(
    calls: EvaluationCalls, kind: EvaluationKind, settings: object, rows: Sequence[RowInput]
) -> list[ScoreResult]:
    assert kind.score_with_calls is not None
    try:
        return await kind.score_with_calls(settings, rows, calls.context)
    finally:
        await calls.aclose()


def score_chunk(*, evaluation_id: int, number: int) -> None:
    evaluation = (
        Evaluation.objects.select_related("run", "run__project").filter(pk=evaluation_id).first()
    )
    if evaluation is None or evaluation.status != Evaluation.Status.RUNNING:
        return
    chunk = EvaluationChunk.objects.filter(evaluation=evaluation, number=number).first()
    if chunk is None or chunk.done:
        return
    kind = KINDS[evaluation.kind]
    if kind.is_dataset_level:
        score_dataset_chunk(evaluation, chunk, kind)
        return
    rows = list(_row_inputs(evaluation, chunk))
    try:
        results = _score(evaluation, kind, rows) if rows else {}
    except Exception as exc:  # a metric's bug must not leave the evaluation running for ever
        logger.exception("Evaluation %s chunk %s failed", evaluation_id, number)
        failure = failed_score(exc)
        results = {row.row_id: failure for row in rows}
    scores_write(
        evaluation_id=evaluation.pk, chunk_id=chunk.pk, results=results.items(), complete=True
    )
