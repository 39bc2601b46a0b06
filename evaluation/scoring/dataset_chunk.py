"""The one chunk of a dataset-level kind (duplicates, diversity, coverage), which sees every
target row at once, in memory that does not grow with the rows' text: the rows are streamed
from the database (only the columns the kind reads), as many times as the kind needs, and
the scores it produces are written in batches.

A batch is one transaction under the evaluation's lock that skips the rows already scored
(scoring/writes.py), and the chunk is marked done, with the summary and the figures, by a last
transaction after them. A worker killed halfway leaves some batches written and the chunk not
done: the redelivered message scores the whole set again (every kind here is deterministic, so
a row's score comes out the same) and writes only the rows still missing. Cancelling stops the
batches at the next one."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from itertools import islice

from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.fields.json import KeyTransform

from evaluation.kinds import EvaluationKind, RowInput, ScoreResult
from evaluation.models import Evaluation, EvaluationChunk
from evaluation.scoring.targets import target_rows
from evaluation.scoring.writes import failed_score, scores_write

logger = logging.getLogger(__name__)
READ_BATCH = 2000
WRITE_BATCH = 2000
# Progress is pushed to the run's watchers at most this often while batches are written.
PUBLISH_SECONDS = 1.0


class TargetRows:
    """The evaluation's target rows in index order with the given columns only (a reviewer's
    edit taking precedence). Each iteration reads them again, streamed (a server-side cursor
    on PostgreSQL)."""

    def __init__(self, evaluation: Evaluation, chunk: EvaluationChunk, columns: list[str]):
        self.evaluation = evaluation
        self.chunk = chunk
        self.columns = columns

    def __iter__(self) -> Iterator[RowInput]:
        # Key transforms rather than ``values__<name>`` lookups: a column named a__b is one key.
        cells = {}
        for i, column in enumerate(self.columns):
            cells[f"value_{i}"] = KeyTransform(column, "values")
            cells[f"edited_{i}"] = KeyTransform(column, "edited_values")
        rows = (
            target_rows(self.evaluation.run, self.evaluation.target)
            .filter(index__gte=self.chunk.start, index__lt=self.chunk.stop)
            .order_by("index")
            .annotate(
                is_edited=ExpressionWrapper(
                    Q(edited_values__isnull=False), output_field=BooleanField()
                ),
                **cells,
            )
            .values_list("pk", "index", "is_edited", *cells)
        )
        for pk, index, edited, *found in rows.iterator(chunk_size=READ_BATCH):
            values = {
                column: found[2 * i + 1] if edited else found[2 * i]
                for i, column in enumerate(self.columns)
            }
            yield RowInput(pk, index, values)


def score_dataset_chunk(
    evaluation: Evaluation, chunk: EvaluationChunk, kind: EvaluationKind
) -> None:
    assert kind.score_dataset is not None
    settings = kind.settings_model.model_validate(evaluation.settings)
    rows = TargetRows(evaluation, chunk, settings.columns_used())
    results: Iterable[tuple[int, ScoreResult]]
    try:
        answer = kind.score_dataset(settings, rows)
        results, figures = answer.scores, answer.figures
    except Exception as exc:  # a metric's bug must not leave the evaluation running for ever
        logger.exception("Evaluation %s (dataset-level) failed", evaluation.pk)
        failure = failed_score(exc)
        results, figures = ((row.row_id, failure) for row in rows), {}
    if _write_batches(evaluation, chunk, results):
        scores_write(
            evaluation_id=evaluation.pk,
            chunk_id=chunk.pk,
            results=(),
            complete=True,
            figures=figures,
        )


def _write_batches(
    evaluation: Evaluation, chunk: EvaluationChunk, results: Iterable[tuple[int, ScoreResult]]
) -> bool:
    """False when the writing stopped early (cancelled, or a twin completed the chunk)."""
    pending = iter(results)
    published = time.monotonic()
    while batch := list(islice(pending, WRITE_BATCH)):
        publish = time.monotonic() - published >= PUBLISH_SECONDS
        if not scores_write(
            evaluation_id=evaluation.pk,
            chunk_id=chunk.pk,
            results=batch,
            complete=False,
            publish=publish,
        ):
            return False
        if publish:
            published = time.monotonic()
    return True
