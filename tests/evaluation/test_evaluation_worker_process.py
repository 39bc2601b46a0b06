"""Services mode as deployed, for evaluations: a judge evaluation scored by separate
`manage.py rundramatiq` processes, one of them killed with SIGKILL mid-evaluation. The next
worker takes over the killed one's messages; every row ends with one score, and no judge call
whose answer reached the ledger is paid for again."""

import os
import signal

import pytest

from evaluation.kinds.llm_judge import JUDGE_COLUMN
from evaluation.models import Evaluation, Score
from evaluation.scoring.services import evaluation_create
from generation.models import LlmCall, Row, Run
from tests.generation.worker.test_worker_process import (  # noqa: F401 (a fixture)
    WORKER_THREADS,
    _wait_for,
    start_worker,
)

pytestmark = pytest.mark.django_db(transaction=True)
ROWS = 100
JUDGE_CHUNK_ROWS = 25  # evaluation/kinds/llm_judge.py


def judge_settings(credential):
    return {
        "column": "question",
        "credential_id": credential.pk,
        "model": "gpt-4o-mini",
        "prompt": "Topic: {{ topic }}\nQuestion: {{ question }}",
        "criteria": [
            {"name": "clarity", "description": "Clear", "min_score": 1, "max_score": 5},
        ],
        "pass_threshold": 3,
    }


def finished_run(schema, owner):
    """A finished run of ROWS generated rows, written directly: this test is about scoring."""
    run = Run.objects.create(
        project=schema.project,
        schema=schema,
        schema_name=schema.name,
        spec_snapshot=schema.spec,
        seed=1,
        num_rows=ROWS,
        status=Run.Status.FINISHED,
        created_by=owner,
    )
    Row.objects.bulk_create(
        Row(
            run=run,
            index=i,
            status=Row.Status.GENERATED,
            values={"topic": "space", "question": f"Question number {i} about space?"},
        )
        for i in range(ROWS)
    )
    return run


@pytest.mark.timeout(300)
def test_a_worker_killed_mid_evaluation_loses_no_score_and_pays_no_answer_twice(
    start_worker,  # noqa: F811
    qa_schema,
    owner,
    openai_credential,
    llm_server,
):
    run = finished_run(qa_schema, owner)
    first = start_worker()
    llm_server.latency = 1.0  # a chunk's calls take a second: the kill lands mid-evaluation
    evaluation = evaluation_create(
        run=run,
        user=owner,
        name="clarity",
        kind="llm_judge",
        settings=judge_settings(openai_credential),
    )
    judge_calls = LlmCall.objects.filter(run=run, column=JUDGE_COLUMN)
    _wait_for(lambda: judge_calls.count() >= JUDGE_CHUNK_ROWS + 5, 60, first)
    os.killpg(first.pid, signal.SIGKILL)  # kill -9: its messages stay unacknowledged
    first.wait()
    assert Score.objects.filter(evaluation=evaluation).count() < ROWS, "finished before the kill"
    answered_before = set(judge_calls.values_list("key", flat=True))

    second = start_worker()  # takes the killed worker's messages once its heartbeat is old
    _wait_for(
        lambda: Evaluation.objects.get(pk=evaluation.pk).status == Evaluation.Status.DONE,
        120,
        second,
    )
    evaluation.refresh_from_db()
    assert evaluation.rows_scored == ROWS and evaluation.rows_failed == 0
    scores = Score.objects.filter(evaluation=evaluation)
    assert scores.count() == ROWS  # one per row: the unique constraint and the chunk's done flag
    assert all(1 <= value <= 5 for value in scores.values_list("value", flat=True))
    # One ledger entry per row; the answers recorded before the kill were not asked again.
    assert judge_calls.count() == ROWS
    assert answered_before <= set(judge_calls.values_list("key", flat=True))
    judge_requests = len(llm_server.generation_requests())
    # At most the calls in flight at the kill (not yet in the ledger) are asked twice: a chunk's
    # rows per worker thread.
    assert ROWS <= judge_requests <= ROWS + WORKER_THREADS * JUDGE_CHUNK_ROWS
