"""Start a quality gate on an evaluation: reject the rows below its threshold at once, or start
the loop that regenerates and scores them again (``steps``, one actor message per round)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from evaluation.bulk import bulk_review
from evaluation.gate.rules import attempts_problem, gate_problem, gate_reason, rows_below
from evaluation.kinds import KINDS
from evaluation.models import Evaluation, QualityGate
from evaluation.scoring.services import EvaluationError
from evaluation.services import ReviewError
from generation.models import Row
from generation.regeneration import check_regenerable, gate_columns
from generation.services import RunError, _publish_after_commit


class GateError(EvaluationError):
    """A gate that cannot start; the message says why (a 400 in the API, like the others)."""


def _check(evaluation: Evaluation) -> None:
    problem = gate_problem(evaluation)
    if problem:
        raise GateError(problem)
    if evaluation.status != Evaluation.Status.DONE:
        raise GateError(
            f"Evaluation '{evaluation.name}' is {evaluation.get_status_display().lower()}: "
            "wait until it is scored"
        )
    if QualityGate.objects.filter(evaluation=evaluation, status__in=QualityGate.ACTIVE).exists():
        raise GateError("A quality gate is already working on this evaluation")


def gate_rows_below(*, evaluation: Evaluation) -> int:
    """How many rows a gate on this evaluation acts on now (for the confirmation)."""
    return rows_below(evaluation).count()


@transaction.atomic
def gate_reject(*, evaluation: Evaluation, user: User | None) -> QualityGate:
    """Reject every row below the threshold, recording who and why (the gate's record)."""
    Evaluation.objects.select_for_update().filter(pk=evaluation.pk).first()
    _check(evaluation)
    reason = gate_reason(evaluation)
    below = rows_below(evaluation).count()
    try:  # logged and undoable like any bulk review (a row already rejected stays as it is)
        bulk_review(
            run=evaluation.run,
            user=user,
            decision=Row.Review.REJECTED,
            rows=Row.objects.filter(pk__in=rows_below(evaluation).values("pk")),
        )
    except ReviewError:
        pass  # nothing below, or all of it rejected already
    now = timezone.now()
    gate = QualityGate.objects.create(
        evaluation=evaluation,
        action=QualityGate.Action.REJECT,
        status=QualityGate.Status.DONE,
        reason=reason,
        rows_below=below,
        message=f"Rejected {below} row{'s' if below != 1 else ''} ({reason})",
        created_by=user,
        finished_at=now,
    )
    _publish_after_commit(evaluation.run)
    return gate


def _check_regeneration(evaluation: Evaluation, max_attempts: object) -> None:
    problem = attempts_problem(max_attempts)
    if problem:
        raise GateError(problem)
    try:
        check_regenerable(evaluation.run)
        gate_columns(evaluation.run.spec, columns_read(evaluation))
    except RunError as exc:
        raise GateError(str(exc)) from None


def columns_read(evaluation: Evaluation) -> list[str]:
    """The columns the evaluation's kind reads (what a gate regenerates comes from them)."""
    kind = KINDS[evaluation.kind]
    return kind.settings_model.model_validate(evaluation.settings).columns_used()


@transaction.atomic
def gate_regenerate(
    *, evaluation: Evaluation, user: User | None, max_attempts: int, from_run: bool = False
) -> QualityGate:
    """Start regenerating the rows below the threshold, scoring them again after each round,
    until they pass or ``max_attempts`` rounds were made (``steps.gate_step``)."""
    Evaluation.objects.select_for_update().filter(pk=evaluation.pk).first()
    if not from_run:
        _check(evaluation)
    elif problem := gate_problem(evaluation):  # set on the run form: starts while it is scored
        raise GateError(problem)
    _check_regeneration(evaluation, max_attempts)
    gate = QualityGate.objects.create(
        evaluation=evaluation,
        action=QualityGate.Action.REGENERATE,
        max_attempts=max_attempts,
        from_run=from_run,
        reason=gate_reason(evaluation),
        created_by=user,
    )
    gate_send(gate.pk)
    return gate


def gate_send(gate_id: int) -> None:
    """The gate's next step, once the caller's transaction commits."""
    from evaluation.actors import gate_step

    transaction.on_commit(lambda: gate_step.send(gate_id))
