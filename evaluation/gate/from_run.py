"""A quality gate set on the run form (``Run.gate``): checked when the run is created, and
started when the run ends, once: an evaluation with the gate's settings scores the run, and a
regenerating gate on it (``steps``) regenerates the rows below, as a gate started from the
evaluation page would. The rounds end the run again; those endings find the gate there."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from evaluation.gate.rules import attempts_problem, threshold_text
from evaluation.gate.services import GateError, gate_regenerate
from evaluation.kinds import KINDS
from evaluation.models import QualityGate
from evaluation.scoring.services import (
    EvaluationInvalid,
    evaluation_create,
    evaluation_settings_check,
)
from generation.models import Run
from generation.services import RunError

logger = logging.getLogger(__name__)
DEFAULT_NAME = "Quality gate"
MSG_NO_THRESHOLD = "gate: its settings need a threshold (a pass mark for each row)"


def gate_kinds() -> list[tuple[str, str]]:
    """The kinds a gate can use: scored per row, with a threshold among their settings."""
    return [
        (kind.name, kind.label)
        for kind in KINDS.values()
        if not kind.is_dataset_level
        and {"threshold", "pass_threshold", "min_length"} & set(kind.settings_model.model_fields)
    ]


def run_gate_check(run: Run, gate: dict[str, Any]) -> dict[str, Any]:
    """The gate as stored on the run, or RunError naming every problem (the kind's settings
    against the run's columns, a missing threshold, attempts out of range)."""
    kind = str(gate.get("kind") or "")
    problems = []
    try:
        _, settings, _ = evaluation_settings_check(
            run=run, kind_name=kind, settings=dict(gate.get("settings") or {}), target={}
        )
    except EvaluationInvalid as exc:
        problems, settings = [f"gate: {m}" for m in exc.messages], {}
    if not problems and (KINDS[kind].is_dataset_level or threshold_text(settings) is None):
        problems.append(MSG_NO_THRESHOLD)
    attempts = attempts_problem(gate.get("max_attempts"))
    if attempts:
        problems.append(f"gate {attempts}")
    if problems:
        raise RunError("; ".join(problems))
    name = str(gate.get("name") or DEFAULT_NAME).strip()[:120] or DEFAULT_NAME
    return {"name": name, "kind": kind, "settings": settings, "max_attempts": gate["max_attempts"]}


def start_run_gate(*, run_id: int, **_: object) -> None:
    """Receiver of ``run_with_gate_ended``: the run's gate, unless it was started before."""
    try:
        with transaction.atomic():
            run = Run.objects.select_for_update().filter(pk=run_id).first()
            if run is None or not run.gate:
                return
            if QualityGate.objects.filter(evaluation__run=run, from_run=True).exists():
                return
            evaluation = evaluation_create(
                run=run,
                user=run.created_by,
                name=run.gate["name"],
                kind=run.gate["kind"],
                settings=run.gate["settings"],
            )
            gate_regenerate(
                evaluation=evaluation,
                user=run.created_by,
                max_attempts=run.gate["max_attempts"],
                from_run=True,
            )
    except (EvaluationInvalid, GateError, KeyError):
        # Checked when the run was created; a kind changed since. The run itself is done.
        logger.exception("The quality gate of run %s could not start", run_id)
