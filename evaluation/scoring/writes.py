"""Writing scores: each call one transaction holding the evaluation's row lock, so two workers
given the same chunk (a redelivered message) take turns, and the second finds the rows scored
or the chunk done and writes nothing twice. The call that completes a chunk marks it done, and
when it was the last one it stores the summary and makes the evaluation the one pages show."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from evaluation.kinds import ScoreResult
from evaluation.models import Evaluation, EvaluationChunk, Score
from evaluation.scoring.summary import evaluation_summary
from generation.live import publish_rows_sync

SCORE_COLUMNS = ("evaluation", "row", "value", "passed", "detail", "error")

MSG_SCORING_FAILED = "Scoring failed: {error}"


def failed_score(error: Exception) -> ScoreResult:
    """What a row gets when its kind raised: no value, the error said."""
    message = MSG_SCORING_FAILED.replace("{error}", str(error)[:500] or type(error).__name__)
    return ScoreResult(None, None, error=message)


@transaction.atomic
def scores_write(
    *,
    evaluation_id: int,
    chunk_id: int,
    results: Iterable[tuple[int, ScoreResult]],
    complete: bool,
    figures: Mapping[str, Any] | None = None,
    publish: bool = True,
) -> bool:
    """Store ``results`` (rows already scored are left alone); with ``complete`` the chunk is
    done in the same transaction. False when nothing more may be written: the evaluation was
    cancelled meanwhile, or the chunk was completed by a twin."""
    locked = Evaluation.objects.select_for_update().get(pk=evaluation_id)
    if locked.status != Evaluation.Status.RUNNING:
        return False
    if EvaluationChunk.objects.filter(pk=chunk_id, done=True).exists():
        return False
    new = _insert_new_scores(locked.pk, dict(results))
    failed = sum(1 for result in new if result.error)
    locked.rows_scored += len(new) - failed
    locked.rows_failed += failed
    fields = ["rows_scored", "rows_failed"]
    if complete:
        EvaluationChunk.objects.filter(pk=chunk_id).update(done=True)
        if not EvaluationChunk.objects.filter(evaluation=locked, done=False).exists():
            locked.summary = evaluation_summary(locked, figures=dict(figures or {}))
            locked.status = Evaluation.Status.DONE
            locked.finished_at = timezone.now()
            locked.is_current = True
            fields += ["summary", "status", "finished_at", "is_current"]
            _replace_older_versions(locked)
    locked.save(update_fields=fields)
    if publish or complete:
        run_id = locked.run_id
        transaction.on_commit(lambda: publish_rows_sync(run_id, []), robust=True)
    return True


def _insert_new_scores(evaluation_id: int, by_row: dict[int, ScoreResult]) -> list[ScoreResult]:
    """Insert the scores of rows that have none yet and return them. The rows were read
    without a score and a twin writing the same chunk completes it under the lock we hold, so
    a duplicate is rare (a dataset-level chunk's batches written again by a redelivered
    message). So they are inserted at once, and only a duplicate (the unique (evaluation, row)
    constraint, in a savepoint) makes the write look up which rows have a score and insert the
    others. Looking them up every time cost a query scanning the evaluation's scores for each
    chunk."""
    try:
        with transaction.atomic():
            _insert_scores(evaluation_id, by_row.items())
        return list(by_row.values())
    except IntegrityError:
        scored = Score.objects.filter(evaluation_id=evaluation_id, row_id__in=list(by_row))
        already = set(scored.values_list("row_id", flat=True))
        new = {row_id: result for row_id, result in by_row.items() if row_id not in already}
        _insert_scores(evaluation_id, new.items())
        return list(new.values())


def _insert_scores(evaluation_id: int, new: Iterable[tuple[int, ScoreResult]]) -> None:
    """One COPY on PostgreSQL: bulk_create makes a model instance and prepares six values per
    score, most of a cheap kind's time per row (docs/performance.md, "Evaluation")."""
    if connection.vendor != "postgresql":
        Score.objects.bulk_create(
            (
                Score(
                    evaluation_id=evaluation_id,
                    row_id=row_id,
                    value=result.value,
                    passed=result.passed,
                    detail=result.detail,
                    error=result.error,
                )
                for row_id, result in new
            ),
            batch_size=1000,
        )
        return
    quote = connection.ops.quote_name
    column = {field.name: field.column for field in Score._meta.concrete_fields}
    columns = ", ".join(quote(column[name]) for name in SCORE_COLUMNS)
    statement = f"COPY {quote(Score._meta.db_table)} ({columns}) FROM STDIN"
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    # The raw cursor's copy() is psycopg's own: its errors are turned into Django's here.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for row_id, result in new:
            copy.write_row(
                (
                    evaluation_id,
                    row_id,
                    result.value,
                    result.passed,
                    dumps(result.detail),
                    result.error,
                )
            )


def _replace_older_versions(evaluation: Evaluation) -> None:
    older = evaluation.previous_id
    seen: set[int] = set()
    while older is not None and older not in seen:
        seen.add(older)
        Evaluation.objects.filter(pk=older).update(is_current=False)
        older = Evaluation.objects.filter(pk=older).values_list("previous_id", flat=True).first()
