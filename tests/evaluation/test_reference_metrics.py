"""The reference metrics end to end: created like a user does, scored by the worker, each
row's score checked against a hand-computed value or the library's own function; bad settings
refused with a message naming the field."""

import json
import re

import pytest
import sacrebleu
from rapidfuzz.distance import Levenshtein
from rouge_score import rouge_scorer

from evaluation.models import Evaluation, Score
from evaluation.scoring.services import EvaluationInvalid, evaluation_create
from tests.evaluation.conftest import seed_table_run
from tests.fixtures import client_for, drain

pytestmark = pytest.mark.django_db(transaction=True)

# The gold run's (answer, gold) pairs, by row index (tests/evaluation/conftest.py).
PAIRS = [
    ("Paris", "Paris"),
    ("tokyo!", "Tokyo"),
    ("4", "4"),
    ("Saturn", "Jupiter"),
    ("Shakespeare", "Shakespeare"),
    ("It is Lima", "Lima"),
]
REFERENCE = {"column": "answer", "reference_column": "gold"}


def _create(run, owner, kind, settings):
    return evaluation_create(run=run, user=owner, name=kind, kind=kind, settings=settings)


def _scores(evaluation):
    rows = Score.objects.filter(evaluation=evaluation).order_by("row__index")
    return [(s.value, s.passed) for s in rows]


def _values(evaluation):
    return [value for value, _ in _scores(evaluation)]


def test_similarity_by_edit_distance_and_token_set(gold_run, owner, worker):
    edit = _create(gold_run, owner, "similarity", {**REFERENCE, "threshold": 0.5})
    raw = _create(gold_run, owner, "similarity", {**REFERENCE, "normalise": False})
    words = _create(gold_run, owner, "similarity", {**REFERENCE, "method": "token_set"})
    drain(worker)
    # Normalised, "tokyo!" is "tokyo"; "it is lima" is 6 edits from "lima" over 10 characters.
    saturn = Levenshtein.normalized_similarity("saturn", "jupiter")
    assert _values(edit) == pytest.approx([1.0, 1.0, 1.0, saturn, 1.0, 0.4])
    assert [passed for _, passed in _scores(edit)] == [True, True, True, saturn >= 0.5, True, False]
    # Not normalised: "tokyo!" against "Tokyo" is 2 edits over 6.
    assert _values(raw)[1] == pytest.approx(4 / 6)
    assert all(passed is None for _, passed in _scores(raw))  # no threshold, no pass/fail
    # Every word of "lima" is in "it is lima".
    assert _values(words)[5] == 1.0


def test_bleu_and_chrf_are_sacrebleus_sentence_scores(gold_run, owner, worker):
    bleu = _create(gold_run, owner, "bleu", {**REFERENCE, "threshold": 50})
    chrf = _create(gold_run, owner, "chrf", {**REFERENCE, "word_order": 2})
    drain(worker)
    assert _values(bleu) == pytest.approx([sacrebleu.sentence_bleu(a, [g]).score for a, g in PAIRS])
    assert _values(bleu)[0] == pytest.approx(100)
    assert [p for _, p in _scores(bleu)] == [v >= 50 for v in _values(bleu)]
    assert _values(chrf) == pytest.approx(
        [sacrebleu.sentence_chrf(a, [g], word_order=2).score for a, g in PAIRS]
    )
    bleu.refresh_from_db()
    assert bleu.summary["histogram"][0]["low"] == 0 and bleu.summary["histogram"][-1]["high"] == 100


def test_rouge_is_rouge_scores_f_measure(gold_run, owner, worker):
    rouge1 = _create(gold_run, owner, "rouge", {**REFERENCE, "variant": "rouge1", "threshold": 0.5})
    drain(worker)
    scorer = rouge_scorer.RougeScorer(["rouge1"])
    expected = [scorer.score(g, a)["rouge1"].fmeasure for a, g in PAIRS]
    assert _values(rouge1) == pytest.approx(expected)
    # "it is lima" against "lima": P = 1/3, R = 1, F = 1/2 — at the threshold, so it passes.
    assert _values(rouge1)[5] == pytest.approx(0.5)
    assert [p for _, p in _scores(rouge1)] == [True, True, True, False, True, True]


def test_regex_mode_matches_the_whole_answer_against_a_pattern(gold_run, owner, worker):
    capital = _create(
        gold_run,
        owner,
        "exact_match",
        {"column": "answer", "reference_value": "(paris|tokyo)!?", "mode": "regex"},
    )
    drain(worker)
    assert _values(capital) == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def test_a_reference_column_that_is_no_pattern_fails_only_its_row(worker, project, owner):
    run = seed_table_run(
        worker, project, owner, data=b"answer,pattern\nab12,[a-z]+\\d+\nab,(ab\n", name="patterns"
    )
    evaluation = _create(
        run,
        owner,
        "exact_match",
        {"column": "answer", "reference_column": "pattern", "mode": "regex"},
    )
    drain(worker)
    first, second = Score.objects.filter(evaluation=evaluation).order_by("row__index")
    assert first.value == 1.0
    assert second.value is None
    assert second.error.startswith(
        "The reference '(ab' is not a valid regular expression (missing )"
    )
    evaluation.refresh_from_db()
    assert (evaluation.rows_scored, evaluation.rows_failed) == (1, 1)


MATHS_CSV = (
    b"answer,gold\n"
    b"1/2,0.5\n"
    b"\\frac{1}{2},0.5\n"
    b"The answer is $\\boxed{25}$.,25\n"
    b"1/3,0.5\n"
    b"no idea,7\n"
    b",8\n"
    b"9^9^9^9,1\n"
)


def test_maths_answers_are_compared_by_value_and_a_runaway_row_is_left_unscored(
    worker, project, owner, monkeypatch
):
    from evaluation.metrics import math_process

    monkeypatch.setattr(math_process, "ROW_DEADLINE_SECONDS", 2.0)
    run = seed_table_run(worker, project, owner, data=MATHS_CSV, name="maths")
    evaluation = _create(run, owner, "math_equivalence", REFERENCE)
    drain(worker, timeout_ms=240_000)  # the child imports sympy: seconds on a busy machine
    scores = list(Score.objects.filter(evaluation=evaluation).order_by("row__index"))
    assert [(s.value, s.passed) for s in scores[:6]] == [
        (1.0, True),
        (1.0, True),
        (1.0, True),
        (0.0, False),
        (0.0, False),
        (0.0, False),
    ]
    assert scores[0].detail["rule"] == "1/2 = 0.5"
    assert scores[3].detail["rule"] == "1/3 ≠ 0.5"
    assert scores[4].detail["rule"] == "no idea ≠ 7"  # read as the symbols n·o·i·d·e·a
    assert scores[5].detail["rule"] == "no answer found (the reference reads 8)"
    assert scores[6].value is None
    assert scores[6].error == "Not compared: the comparison took longer than 2 s"
    evaluation.refresh_from_db()
    assert evaluation.status == "done" and evaluation.summary["pass_rate"] == pytest.approx(3 / 6)


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("similarity", {"column": "nope", "reference_column": "gold"}, "has no column 'nope'"),
        ("similarity", {**REFERENCE, "reference_column": "nope"}, "has no column 'nope'"),
        ("similarity", {**REFERENCE, "threshold": 1.5}, "threshold: must be between 0 and 1"),
        ("similarity", {**REFERENCE, "method": "soundex"}, "method"),
        ("bleu", {**REFERENCE, "threshold": 101}, "threshold: must be between 0 and 100"),
        ("chrf", {**REFERENCE, "threshold": -1}, "threshold: must be between 0 and 100"),
        ("chrf", {**REFERENCE, "word_order": 1}, "word_order"),
        ("rouge", {**REFERENCE, "threshold": 2}, "threshold: must be between 0 and 1"),
        ("rouge", {**REFERENCE, "variant": "rouge3"}, "variant"),
        ("rouge", {"column": "answer"}, "Choose a reference column or type"),
        (
            "exact_match",
            {"column": "answer", "reference_value": "(ab", "mode": "regex"},
            "reference_value: the pattern is not a valid regular expression (missing )",
        ),
        (
            "exact_match",
            {"column": "answer", "reference_value": "(?!x)", "mode": "regex"},
            "no backreferences or lookaround",
        ),
        (
            "math_equivalence",
            {"column": "answer", "reference_value": "1" * 501},
            "reference_value: a maths answer of at most 500 characters",
        ),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(gold_run, owner, kind, settings, message):
    with pytest.raises(EvaluationInvalid, match=re.escape(message)):
        _create(gold_run, owner, kind, settings)
    assert not Evaluation.objects.exists()
    response = client_for(owner).post(
        f"/api/runs/{gold_run.pk}/evaluations",
        json.dumps({"name": "bad", "kind": kind, "settings": settings}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_the_form_shows_a_bad_threshold_next_to_its_field(gold_run, owner):
    response = client_for(owner).post(
        f"/runs/{gold_run.pk}/evaluations/new/",
        {
            "name": "close",
            "kind": "similarity",
            "column": "answer",
            "reference_column": "gold",
            "method": "edit",
            "threshold": "3",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    field = html[html.index('name="threshold"') :]
    assert "must be between 0 and 1" in field[: field.index("</label>")]
    assert not Evaluation.objects.exists()
