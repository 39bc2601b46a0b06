from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Evaluation"

    def ready(self) -> None:
        from evaluation import panels  # the models are loaded now

        panels.register()

        from evaluation.gate.from_run import gate_kinds, run_gate_check, start_run_gate
        from generation.run_gates import register_gate_check
        from generation.signals import run_with_gate_ended

        register_gate_check(run_gate_check, gate_kinds)
        run_with_gate_ended.connect(start_run_gate, dispatch_uid="evaluation-run-gate")
