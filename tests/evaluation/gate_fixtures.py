"""A run whose rows ask the fake provider a structured question each ("Answer first", ...), so
a test scripts each row's answers in turn; a length evaluation on the answer gates them."""

from __future__ import annotations

import time

from evaluation.models import QualityGate
from evaluation.scoring.services import evaluation_create
from generation.services import run_create
from studio.services import schema_create, seed_file_upload
from tests.fixtures import drain

ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}
QUESTIONS = b"q\nfirst\nsecond\nthird\n"
LONG_ENOUGH = {"column": "final", "min_length": 10}
BAD, GOOD = {"answer": "no"}, {"answer": "a long enough answer"}


def gate_spec(seed_file_id: int, credential_id: int) -> dict:
    return {
        "columns": [
            {
                "name": "qs",
                "kind": "seed_data",
                "seed_file_id": seed_file_id,
                "fields": ["q"],
                "sampling": "ordered",
            },
            {
                "name": "solution",
                "kind": "llm_structured",
                "credential_id": credential_id,
                "model": "gpt-4o-mini",
                "prompt": "Answer {{ q }}",
                "json_schema": ANSWER_SCHEMA,
                "max_reasks": 0,
            },
            {"name": "final", "kind": "expression", "template": "{{ solution.answer }}"},
        ]
    }


def make_gate_schema(project, owner, credential):
    seed = seed_file_upload(project=project, user=owner, filename="qs.csv", data=QUESTIONS)
    return schema_create(
        project=project, user=owner, name="gated", data=gate_spec(seed.pk, credential.pk)
    )


def script(llm_server) -> None:
    """Row "first" fails then passes, "second" passes at once, "third" always fails."""
    llm_server.answer_when("Answer first", BAD, GOOD)
    llm_server.answer_when("Answer second", {"answer": "this one passes at once"})
    llm_server.answer_when("Answer third", BAD)


def gated_run(worker, schema, owner, **kwargs):
    run = run_create(schema=schema, user=owner, num_rows=3, **kwargs)
    drain(worker)
    run.refresh_from_db()
    return run


def length_evaluation(worker, run, owner, settings=None):
    evaluation = evaluation_create(
        run=run, user=owner, name="long enough", kind="length", settings=settings or LONG_ENOUGH
    )
    drain(worker)
    evaluation.refresh_from_db()
    return evaluation


def drain_gates(worker, timeout: float = 60.0) -> None:
    """Drain until no gate is working (a gate's rounds are a chain of messages)."""
    deadline = time.monotonic() + timeout
    while True:
        drain(worker)
        if not QualityGate.objects.filter(status__in=QualityGate.ACTIVE).exists():
            return
        assert time.monotonic() < deadline, "a quality gate did not end"
        time.sleep(0.05)
