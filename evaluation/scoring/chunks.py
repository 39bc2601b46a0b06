"""One chunk of an evaluation, as a worker scores it: read the chunk's rows that have no score
yet, score them, and write the scores with the chunk marked done in one transaction. A message
delivered twice (a worker killed after the commit) finds the chunk done; a worker killed before
it leaves nothing, and the redelivered message scores the chunk again. The last chunk written
computes the summary and makes the evaluation the one pages show."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone

from evaluation.kinds import KINDS, EvaluationKind, RowInput, ScoreResult
from evaluation.models import Evaluation, EvaluationChunk, Score
from evaluation.scoring.calls import EvaluationCalls, evaluation_calls
from evaluation.scoring.summary import evaluation_summary
from evaluation.scoring.targets import target_rows
from generation.live import publish_rows_sync

logger = logging.getLogger(__name__)
MSG_SCORING_FAILED = "Scoring failed: {error}"
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
    assert kind.score_dataset is not None
    result = kind.score_dataset(settings, rows)
    evaluation.summary = {"figures": result.figures}
    return result.scores


async def _with_calls(
    calls: EvaluationCalls, kind: EvaluationKind, settings: object, rows: Sequence[RowInput]
) -> list[ScoreResult]:
    assert kind.score_with_calls is not None
    try:
        return await kind.score_with_calls(settings, rows, calls.context)
    finally:
        await calls.aclose()


def _failed(rows: Sequence[RowInput], error: Exception) -> dict[int, ScoreResult]:
    message = MSG_SCORING_FAILED.replace("{error}", str(error)[:500] or type(error).__name__)
    return {row.row_id: ScoreResult(None, None, error=message) for row in rows}


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
    rows = list(_row_inputs(evaluation, chunk))
    try:
        results = _score(evaluation, kind, rows) if rows else {}
    except Exception as exc:  # a metric's bug must not leave the evaluation running for ever
        logger.exception("Evaluation %s chunk %s failed", evaluation_id, number)
        results = _failed(rows, exc)
    _write(evaluation, chunk, results)


@transaction.atomic
def _write(evaluation: Evaluation, chunk: EvaluationChunk, results: dict[int, ScoreResult]) -> None:
    locked = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if locked.status != Evaluation.Status.RUNNING:
        return  # cancelled meanwhile: nothing more is written
    if EvaluationChunk.objects.filter(pk=chunk.pk, done=True).exists():
        return  # written by a redelivered twin
    already = set(
        Score.objects.filter(evaluation=locked, row_id__in=list(results)).values_list(
            "row_id", flat=True
        )
    )
    new = [
        Score(
            evaluation=locked,
            row_id=row_id,
            value=result.value,
            passed=result.passed,
            detail=result.detail,
            error=result.error,
        )
        for row_id, result in results.items()
        if row_id not in already
    ]
    Score.objects.bulk_create(new, batch_size=1000)
    failed = sum(1 for score in new if score.error)
    locked.rows_scored += len(new) - failed
    locked.rows_failed += failed
    EvaluationChunk.objects.filter(pk=chunk.pk).update(done=True)
    fields = ["rows_scored", "rows_failed"]
    if not EvaluationChunk.objects.filter(evaluation=locked, done=False).exists():
        locked.summary = evaluation_summary(locked, figures=evaluation.summary.get("figures"))
        locked.status = Evaluation.Status.DONE
        locked.finished_at = timezone.now()
        locked.is_current = True
        fields += ["summary", "status", "finished_at", "is_current"]
        _replace_older_versions(locked)
    locked.save(update_fields=fields)
    run_id = locked.run_id
    transaction.on_commit(lambda: publish_rows_sync(run_id, []), robust=True)


def _replace_older_versions(evaluation: Evaluation) -> None:
    older = evaluation.previous_id
    seen: set[int] = set()
    while older is not None and older not in seen:
        seen.add(older)
        Evaluation.objects.filter(pk=older).update(is_current=False)
        older = Evaluation.objects.filter(pk=older).values_list("previous_id", flat=True).first()
