"""The check of a quality gate set on the run form. The evaluation app knows the evaluation
kinds and registers the check at start-up (evaluation/apps.py); generation only stores the
gate on the run (``Run.gate``) and says when the run ends (generation/signals.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from generation.models import Run

MSG_NO_GATES = "Quality gates are not available"

# (run, gate as given) → the gate as stored; raises RunError naming the problems.
GateCheck = Callable[[Run, dict[str, Any]], dict[str, Any]]
# Kind name → label, of the kinds a gate can use.
GateKinds = Callable[[], list[tuple[str, str]]]

_check: GateCheck | None = None
_kinds: GateKinds | None = None


def register_gate_check(check: GateCheck, kinds: GateKinds) -> None:
    global _check, _kinds
    _check, _kinds = check, kinds


def gate_kind_choices() -> list[tuple[str, str]]:
    return _kinds() if _kinds is not None else []


def run_gate_checked(run: Run, gate: dict[str, Any]) -> dict[str, Any]:
    from generation.services import RunError

    if _check is None:
        raise RunError(MSG_NO_GATES)
    return _check(run, gate)
