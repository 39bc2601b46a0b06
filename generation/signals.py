"""Signals other apps listen to without generation knowing them (the layers go one way)."""

from django.dispatch import Signal

# Sent when a run that has a quality gate (``Run.gate``) ends, by the call that ended it
# (``run_finish_if_done``), with ``run_id``. The evaluation app starts the gate
# (evaluation/gate/from_run.py); an ended run ends again after each round of it.
run_with_gate_ended = Signal()
