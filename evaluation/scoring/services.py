"""Create, re-run and cancel evaluations. An evaluation is split into chunks of row indexes when
it is created, and each chunk is one actor message (scoring/chunks.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from evaluation.actors import score_chunk
from evaluation.kinds import KINDS, EvaluationKind
from evaluation.models import Evaluation, EvaluationChunk
from evaluation.scoring.targets import Target, target_rows
from generation.live import publish_rows_sync
from generation.models import Run

MAX_NAME = 120


class EvaluationInvalid(Exception):
    """Settings that cannot be scored; ``messages`` name each problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


class EvaluationError(Exception):
    """An action that does not apply (cancelling a finished evaluation)."""


def _pydantic_messages(exc: ValidationError) -> list[str]:
    messages = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        text = str(error["msg"]).removeprefix("Value error, ")
        messages.append(f"{where}: {text}" if where else text)
    return messages


def evaluation_settings_check(
    *, run: Run, kind_name: str, settings: dict[str, Any], target: dict[str, Any]
) -> tuple[EvaluationKind, dict[str, Any], dict[str, Any]]:
    """The kind and the settings and target as stored, or EvaluationInvalid naming every
    problem (unknown kind or column, a bad regex, an empty rubric, a threshold out of range,
    a credential of another project)."""
    kind = KINDS.get(kind_name)
    if kind is None:
        raise EvaluationInvalid([f"Unknown evaluation kind '{kind_name}'"])
    try:
        parsed = kind.settings_model.model_validate(settings)
    except ValidationError as exc:
        raise EvaluationInvalid(_pydantic_messages(exc)) from None
    if kind.for_run is not None:
        try:
            parsed = kind.for_run(parsed, run.spec)
        except ValueError as exc:
            raise EvaluationInvalid([str(exc)]) from None
    columns = run.spec.output_columns()
    unknown = [name for name in parsed.columns_used() if name not in columns]
    if unknown:
        raise EvaluationInvalid(
            [
                f"Run {run.pk} has no column '{name}' (its columns: {', '.join(columns)})"
                for name in unknown
            ]
        )
    problems = parsed.run_problems(run)
    if problems:
        raise EvaluationInvalid(problems)
    try:
        parsed_target = Target.model_validate(target or {})
    except ValidationError as exc:
        raise EvaluationInvalid(_pydantic_messages(exc)) from None
    unknown = [name for name in parsed_target.where if name not in columns]
    if unknown:
        raise EvaluationInvalid([f"Cannot filter on '{name}': not a column" for name in unknown])
    return kind, parsed.model_dump(mode="json"), parsed_target.model_dump(mode="json")


def _chunks(evaluation: Evaluation, kind: EvaluationKind) -> list[EvaluationChunk]:
    size = evaluation.run.num_rows if kind.is_dataset_level else kind.chunk_rows
    size = max(size, 1)
    return [
        EvaluationChunk(evaluation=evaluation, number=number, start=start, stop=start + size)
        for number, start in enumerate(range(0, max(evaluation.run.num_rows, 1), size))
    ]


def _start(evaluation: Evaluation, kind: EvaluationKind) -> Evaluation:
    evaluation.rows_total = target_rows(evaluation.run, evaluation.target).count()
    evaluation.status = Evaluation.Status.RUNNING
    evaluation.started_at = timezone.now()
    evaluation.save(update_fields=["rows_total", "status", "started_at"])
    chunks = EvaluationChunk.objects.bulk_create(_chunks(evaluation, kind), batch_size=1000)
    numbers = [chunk.number for chunk in chunks]
    evaluation_id = evaluation.pk
    transaction.on_commit(lambda: [score_chunk.send(evaluation_id, number) for number in numbers])
    return evaluation


@transaction.atomic
def evaluation_create(
    *,
    run: Run,
    user: User | None,
    name: str,
    kind: str,
    settings: dict[str, Any],
    target: dict[str, Any] | None = None,
) -> Evaluation:
    name = name.strip()[:MAX_NAME]
    if not name:
        raise EvaluationInvalid(["name: give the evaluation a name"])
    chosen, stored, stored_target = evaluation_settings_check(
        run=run, kind_name=kind, settings=settings, target=target or {}
    )
    evaluation = Evaluation.objects.create(
        run=run,
        name=name,
        kind=chosen.name,
        settings=stored,
        target=stored_target,
        created_by=user,
    )
    return _start(evaluation, chosen)


@transaction.atomic
def evaluation_rerun(*, evaluation: Evaluation, user: User | None) -> Evaluation:
    """A new version with the same settings; the current one stays shown until it is done."""
    kind = KINDS.get(evaluation.kind)
    if kind is None:
        raise EvaluationError(f"Evaluation kind '{evaluation.kind}' no longer exists")
    if Evaluation.objects.filter(previous=evaluation, status__in=Evaluation.ACTIVE).exists():
        raise EvaluationError("A newer version of this evaluation is already being scored")
    newer = Evaluation.objects.create(
        run=evaluation.run,
        name=evaluation.name,
        kind=evaluation.kind,
        settings=evaluation.settings,
        target=evaluation.target,
        version=evaluation.version + 1,
        previous=evaluation,
        created_by=user,
    )
    return _start(newer, kind)


@transaction.atomic
def evaluation_cancel(*, evaluation: Evaluation) -> Evaluation:
    updated = Evaluation.objects.filter(pk=evaluation.pk, status__in=Evaluation.ACTIVE).update(
        status=Evaluation.Status.CANCELLED, finished_at=timezone.now()
    )
    if not updated:
        raise EvaluationError("Only a queued or running evaluation can be cancelled")
    evaluation.refresh_from_db()
    run_id = evaluation.run_id
    transaction.on_commit(lambda: _publish(run_id))
    return evaluation


def _publish(run_id: int) -> None:
    publish_rows_sync(run_id, [])


def evaluation_resume_unfinished() -> int:
    """Send again the chunks not done of every running evaluation (after a restart lost the
    queue: the embedded broker lives in memory). Safe any time: a chunk done is skipped, and a
    chunk scored twice writes its scores once (scoring/chunks.py)."""
    resumed = 0
    for evaluation_id in Evaluation.objects.filter(status=Evaluation.Status.RUNNING).values_list(
        "pk", flat=True
    ):
        numbers = list(
            EvaluationChunk.objects.filter(evaluation_id=evaluation_id, done=False).values_list(
                "number", flat=True
            )
        )
        for number in numbers:
            score_chunk.send(evaluation_id, number)
        resumed += 1
    return resumed + _resume_gates()


def _resume_gates() -> int:
    """Send again the next step of every quality gate still working (evaluation/gate/steps.py
    starts each step from the database, so a step sent twice does nothing twice)."""
    from evaluation.actors import gate_step
    from evaluation.models import QualityGate

    gate_ids = list(
        QualityGate.objects.filter(status__in=QualityGate.ACTIVE).values_list("pk", flat=True)
    )
    for gate_id in gate_ids:
        gate_step.send(gate_id)
    return len(gate_ids)
