"""The loop of a regenerating quality gate, one step per actor message (``gate_step``):

- ``scoring``: the evaluation's chunks not done are scored here (a twin ``score_chunk`` message
  writes nothing twice); then, with the gate locked, the rows below the threshold are
  regenerated (``rows_regenerate``: their versions kept with the scores they had, their old
  scores of this evaluation removed) and the gate goes to ``regenerating`` (round + 1), or it is
  done: every row passes, or ``max_attempts`` rounds were made.
- ``regenerating``: the run's pending rows are filled here by the chunk filler (limiter, budget,
  ledger); then the rows left without a score are scored again as new chunks of the same
  evaluation, and the gate is back to ``scoring``. A run stopped meanwhile (budget, pause,
  cancel) stops the gate.

Every step starts from what the database says, so a killed worker's redelivered message does
the step again: rows written stay written, paid calls are answered by the ledger."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from evaluation.gate.rules import rows_below
from evaluation.gate.services import columns_read, gate_send
from evaluation.kinds import KINDS
from evaluation.models import Evaluation, EvaluationChunk, QualityGate, Score
from evaluation.scoring.chunks import score_chunk
from generation.models import Row, Run
from generation.regeneration import gate_columns, rows_fill_now, rows_regenerate
from generation.services import RunError

ENDED = (Run.Status.FINISHED, Run.Status.FAILED)


def gate_step(*, gate_id: int) -> None:
    gate = QualityGate.objects.filter(pk=gate_id).select_related("evaluation__run").first()
    if gate is None or not gate.is_active:
        return
    if gate.status == QualityGate.Status.REGENERATING:
        if not _finish_round(gate):
            return
    _score_and_decide(gate)


def _stop(gate: QualityGate, message: str, status: str = QualityGate.Status.STOPPED) -> None:
    QualityGate.objects.filter(pk=gate.pk, status=gate.status, round=gate.round).update(
        status=status, message=message, finished_at=timezone.now()
    )


def _finish_round(gate: QualityGate) -> bool:
    """Fill the regenerated rows and send them to be scored again; False when the gate
    stopped (the run did not end: its budget, a pause, a cancel)."""
    run_id = gate.evaluation.run_id
    rows_fill_now(run_id=run_id)
    run = Run.objects.get(pk=run_id)
    if run.status not in ENDED:
        waiting = Row.objects.filter(run=run, status=Row.Status.PENDING).count()
        _stop(
            gate,
            f"Stopped in round {gate.round}: the run is {run.get_status_display().lower()} "
            f"with {waiting} row{'s' if waiting != 1 else ''} not regenerated",
        )
        return False
    with transaction.atomic():
        locked = QualityGate.objects.select_for_update().get(pk=gate.pk)
        if locked.status != QualityGate.Status.REGENERATING or locked.round != gate.round:
            return False  # a twin message moved it on
        _rescore(gate.evaluation)
        locked.status = QualityGate.Status.SCORING
        locked.save(update_fields=["status"])
    gate.status = QualityGate.Status.SCORING
    return True


def _rescore(evaluation: Evaluation) -> None:
    """New chunks of the evaluation for its target rows left without a score (the rows just
    regenerated), and the evaluation running again to score them."""
    kind = KINDS[evaluation.kind]
    rows = (
        Row.objects.filter(run_id=evaluation.run_id, status=Row.Status.GENERATED)
        .exclude(scores__evaluation=evaluation)
        .values_list("index", flat=True)
    )
    size = max(kind.chunk_rows, 1)
    starts = [key * size for key, _ in groupby(sorted(rows), key=lambda i: i // size)]
    last = EvaluationChunk.objects.filter(evaluation=evaluation).aggregate(n=Max("number"))["n"]
    first = 0 if last is None else last + 1
    EvaluationChunk.objects.bulk_create(
        EvaluationChunk(evaluation=evaluation, number=first + i, start=start, stop=start + size)
        for i, start in enumerate(starts)
    )
    Evaluation.objects.filter(pk=evaluation.pk).update(
        status=Evaluation.Status.RUNNING, finished_at=None
    )


def _score_and_decide(gate: QualityGate) -> None:
    evaluation = gate.evaluation
    numbers = EvaluationChunk.objects.filter(evaluation=evaluation, done=False).values_list(
        "number", flat=True
    )
    for number in list(numbers):
        score_chunk(evaluation_id=evaluation.pk, number=number)
    evaluation.refresh_from_db()
    if evaluation.status != Evaluation.Status.DONE:
        _stop(gate, f"Stopped: the evaluation is {evaluation.get_status_display().lower()}")
        return
    with transaction.atomic():
        locked = QualityGate.objects.select_for_update().get(pk=gate.pk)
        if locked.status != QualityGate.Status.SCORING or locked.round != gate.round:
            return
        _decide(locked, evaluation)


def _decide(gate: QualityGate, evaluation: Evaluation) -> None:
    below = list(rows_below(evaluation).values_list("pk", flat=True))
    if gate.round == 0:
        gate.rows_below = len(below)
        gate.save(update_fields=["rows_below"])
    if not below:
        _stop(gate, _done_message(gate, 0), QualityGate.Status.DONE)
        return
    if gate.round >= gate.max_attempts:
        _stop(gate, _done_message(gate, len(below)), QualityGate.Status.DONE)
        return
    try:
        count = rows_regenerate(
            run=evaluation.run,
            row_ids=below,
            columns=gate_columns(evaluation.run.spec, columns_read(evaluation)),
            user=gate.created_by,
            reason=gate.reason,
            scores=_scores_of(below),
            enqueue=False,
        )
    except RunError as exc:
        _stop(gate, f"Stopped before round {gate.round + 1}: {exc}")
        return
    _forget_scores(evaluation, below)
    gate.round += 1
    gate.rows_regenerated += count
    gate.status = QualityGate.Status.REGENERATING
    gate.message = f"Round {gate.round}: regenerating {count} row{'s' if count != 1 else ''}"
    gate.save(update_fields=["round", "rows_regenerated", "status", "message"])
    gate_send(gate.pk)


def _done_message(gate: QualityGate, still_below: int) -> str:
    rounds = f"after {gate.round} round{'s' if gate.round != 1 else ''} of regeneration"
    if not still_below:
        return f"Every scored row passes {rounds}" if gate.round else "No row is below"
    return f"{still_below} row{'s' if still_below != 1 else ''} still below {rounds}"


def _scores_of(row_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Row id → evaluation id → the score the row has now, in the run's evaluations."""
    found: dict[int, dict[str, Any]] = {}
    scores = Score.objects.filter(row_id__in=row_ids).values_list(
        "row_id", "evaluation_id", "evaluation__name", "value", "passed"
    )
    for row_id, evaluation_id, name, value, passed in scores.iterator():
        found.setdefault(row_id, {})[str(evaluation_id)] = {
            "name": name,
            "value": value,
            "passed": passed,
        }
    return found


def _forget_scores(evaluation: Evaluation, row_ids: list[int]) -> None:
    """Remove this evaluation's scores of the regenerated rows (kept in their versions), so
    the next round scores their new values."""
    scores = Score.objects.filter(evaluation=evaluation, row_id__in=row_ids)
    counts = scores.aggregate(failed=Count("pk", filter=~Q(error="")), all=Count("pk"))
    scores.delete()
    failed = counts["failed"] or 0
    Evaluation.objects.filter(pk=evaluation.pk).update(
        rows_scored=max(evaluation.rows_scored - (counts["all"] - failed), 0),
        rows_failed=max(evaluation.rows_failed - failed, 0),
    )
