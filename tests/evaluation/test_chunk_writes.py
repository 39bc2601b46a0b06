"""How a chunk reads and writes (evaluation/scoring/chunks.py, writes.py): a reviewer's edit is
what gets scored, and scores keep their detail and error. (A score that exists already is
skipped by the write: tests/evaluation/test_evaluations.py, redelivered chunk.)"""

import pytest

from evaluation.kinds import ScoreResult
from evaluation.models import Score
from evaluation.scoring.services import evaluation_create
from tests.fixtures import drain

pytestmark = pytest.mark.django_db(transaction=True)

EXACT = {"column": "answer", "reference_column": "gold"}


def test_a_reviewers_edit_is_scored_instead_of_the_generated_value(gold_run, owner, worker):
    row = gold_run.rows.get(index=3)  # "Saturn" against "Jupiter"
    row.edited_values = {**row.values, "answer": "Jupiter"}
    row.save(update_fields=["edited_values"])
    evaluation = evaluation_create(
        run=gold_run, user=owner, name="exact", kind="exact_match", settings=EXACT
    )
    drain(worker)
    scores = dict(Score.objects.filter(evaluation=evaluation).values_list("row__index", "value"))
    assert scores == {0: 1.0, 1: 0.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 0.0}


def test_scores_keep_their_detail_and_error_through_the_copy(gold_run, owner, worker, monkeypatch):
    def scripted(settings, rows):
        return [
            ScoreResult(0.5, True, {"rule": "ünïcode “quoted”", "n": [1, 2]})
            if row.index % 2
            else ScoreResult(None, None, error="tab\there\nnewline \\ backslash")
            for row in rows
        ]

    import dataclasses

    from evaluation.kinds import KINDS

    monkeypatch.setitem(
        KINDS, "exact_match", dataclasses.replace(KINDS["exact_match"], score=scripted)
    )
    evaluation = evaluation_create(
        run=gold_run, user=owner, name="exact", kind="exact_match", settings=EXACT
    )
    drain(worker)
    odd = Score.objects.get(evaluation=evaluation, row__index=1)
    even = Score.objects.get(evaluation=evaluation, row__index=0)
    assert (odd.value, odd.passed, odd.detail) == (
        0.5,
        True,
        {"rule": "ünïcode “quoted”", "n": [1, 2]},
    )
    assert (even.value, even.passed, even.error) == (None, None, "tab\there\nnewline \\ backslash")
    evaluation.refresh_from_db()
    assert (evaluation.rows_scored, evaluation.rows_failed) == (3, 3)
