"""LLM judge evaluations through the real SDKs against the fake provider: scripted verdicts give
known scores and summaries, a broken answer is re-asked, a re-run pays nothing, a row the judge
never answers well fails alone, the pairwise judge asks twice with the positions swapped, and a
chunk whose write failed after its calls were paid is scored again without paying twice."""

from decimal import Decimal

import pytest

from evaluation.models import Score
from evaluation.scoring import chunks
from evaluation.scoring.chunks import score_chunk
from evaluation.scoring.services import evaluation_create, evaluation_rerun
from generation.models import LlmCall
from tests.evaluation.conftest import ROWS
from tests.evaluation.test_evaluations import HeldMessages
from tests.fixtures import client_for, drain

pytestmark = pytest.mark.django_db(transaction=True)

QUESTIONS = [
    "Capital of France?",
    "Capital of Japan?",
    "2+2?",
    "Largest planet?",
    "Author of Hamlet?",
    "Capital of Peru?",
]
RUBRIC = [
    {"name": "accuracy", "description": "The answer is correct", "min_score": 1, "max_score": 5},
    {"name": "cites", "description": "It names a source", "min_score": 0, "max_score": 1},
]


def judge_settings(credential, **overrides):
    return {
        "column": "answer",
        "credential_id": credential.pk,
        "model": "gpt-4o-mini",
        "prompt": "Question: {{ question }}\nAnswer: {{ answer }}",
        "criteria": RUBRIC,
        "pass_threshold": 2.5,
        **overrides,
    }


def verdict(accuracy, cites):
    return {
        "accuracy": {"reason": f"accuracy is {accuracy}", "score": accuracy},
        "cites": {"reason": f"cites is {cites}", "score": cites},
    }


# (accuracy, cites) per row → mean score; passes at 2.5.
SCRIPT = [(5, 1), (4, 0), (5, 0), (1, 0), (3, 1), (2, 1)]
EXPECTED = {i: (a + c) / 2 for i, (a, c) in enumerate(SCRIPT)}


def _scores(evaluation):
    return dict(Score.objects.filter(evaluation=evaluation).values_list("row__index", "value"))


def _script_rows(llm_server):
    for question, (accuracy, cites) in zip(QUESTIONS, SCRIPT, strict=True):
        answers = [verdict(accuracy, cites)]
        if question == "Capital of Japan?":
            answers.insert(0, "Sure! The answer looks right to me.")  # not JSON: re-asked
        llm_server.answer_when(f"Question: {question}\n", *answers)


def test_a_judge_scores_every_row_from_its_verdict_and_pays_from_the_run(
    gold_run, owner, worker, openai_credential, llm_server
):
    _script_rows(llm_server)
    evaluation = evaluation_create(
        run=gold_run,
        user=owner,
        name="judge",
        kind="llm_judge",
        settings=judge_settings(openai_credential),
    )
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done"
    assert _scores(evaluation) == pytest.approx(EXPECTED)
    assert evaluation.rows_scored == ROWS and evaluation.rows_failed == 0
    japan = Score.objects.get(evaluation=evaluation, row__index=1)
    assert japan.passed is False  # (4 + 0) / 2 = 2 < 2.5
    assert japan.detail == {
        "scores": {"accuracy": 4, "cites": 0},
        "reasons": {"accuracy": "accuracy is 4", "cites": "cites is 0"},
    }
    summary = evaluation.summary
    assert summary["mean"] == pytest.approx(sum(EXPECTED.values()) / ROWS)
    assert summary["pass_rate"] == pytest.approx(2 / 6)  # rows 0 and 2
    assert summary["criteria"] == pytest.approx({"accuracy": 20 / 6, "cites": 0.5})
    # The histogram spans the rubric's range (0 to 5), not just the scores seen.
    bins = summary["histogram"]
    assert (bins[0]["low"], bins[-1]["high"]) == (0, 5) and sum(b["count"] for b in bins) == 6

    # One call per row, and one re-ask for the answer that was not JSON, with the problem.
    requests = llm_server.generation_requests()
    assert len(requests) == ROWS + 1
    reask = [r for r in requests if len(r.body["messages"]) > 1]
    assert len(reask) == 1
    assert "did not match the required JSON schema" in reask[0].last_user_message
    first = requests[0].first_user_message
    assert "Criteria:" in first and "cites (score 0 to 1)" in first  # the rubric is asked
    assert requests[0].body["temperature"] == 0

    # Every call is the run's project's, and its cost is the run's.
    calls = LlmCall.objects.all()
    assert calls.count() == ROWS + 1
    assert set(calls.values_list("project_id", "run_id")) == {(gold_run.project_id, gold_run.pk)}
    gold_run.refresh_from_db()
    assert gold_run.spent_usd > 0
    assert gold_run.spent_usd == sum(c.cost_usd for c in calls)

    # The evaluation page shows the reasons.
    html = client_for(owner).get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert "accuracy is 4" in html and 'id="summary-pass-rate">33%<' in html


def test_a_rerun_asks_the_ledger_and_pays_nothing(
    gold_run, owner, worker, openai_credential, llm_server
):
    _script_rows(llm_server)
    llm_server.latency = 0.2
    first = evaluation_create(
        run=gold_run,
        user=owner,
        name="judge",
        kind="llm_judge",
        settings=judge_settings(openai_credential),
    )
    drain(worker)
    assert llm_server.max_in_flight > 1  # the chunk's rows are judged at once
    gold_run.refresh_from_db()
    spent, calls, asked = gold_run.spent_usd, LlmCall.objects.count(), len(llm_server.requests)

    second = evaluation_rerun(evaluation=first, user=owner)
    drain(worker)
    second.refresh_from_db()
    gold_run.refresh_from_db()
    assert second.status == "done" and second.is_current
    assert _scores(second) == _scores(first)
    assert len(llm_server.requests) == asked  # no provider call at all
    assert LlmCall.objects.count() == calls
    assert gold_run.spent_usd == spent


def test_a_row_whose_judge_never_answers_well_fails_alone(
    gold_run, owner, worker, openai_credential, llm_server
):
    llm_server.answer_when("Question: Largest planet?", "I would rather not say.")
    evaluation = evaluation_create(
        run=gold_run,
        user=owner,
        name="judge",
        kind="llm_judge",
        settings=judge_settings(openai_credential, max_reasks=1),
    )
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done"
    assert evaluation.rows_scored == ROWS - 1 and evaluation.rows_failed == 1
    failed = Score.objects.get(evaluation=evaluation, row__index=3)
    assert failed.value is None and failed.passed is None
    assert failed.error.startswith("The judge gave no usable answer: ")
    assert "after 2 tries" in failed.error and "not JSON" in failed.error
    assert failed.detail == {"raw": "I would rather not say."}
    # The others got the fake's sampled verdict (every integer 1: a mean of 1).
    others = Score.objects.filter(evaluation=evaluation).exclude(row__index=3)
    assert set(others.values_list("value", flat=True)) == {1.0}
    assert evaluation.summary["failed"] == 1
    assert len(llm_server.generation_requests()) == ROWS - 1 + 2  # two tries for row 3


def test_a_run_at_its_budget_pays_for_no_judge_call(
    gold_run, owner, worker, openai_credential, llm_server
):
    gold_run.budget_usd = Decimal("0.0000")
    gold_run.save(update_fields=["budget_usd"])
    evaluation = evaluation_create(
        run=gold_run,
        user=owner,
        name="judge",
        kind="llm_judge",
        settings=judge_settings(openai_credential),
    )
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done" and evaluation.rows_failed == ROWS
    errors = set(Score.objects.filter(evaluation=evaluation).values_list("error", flat=True))
    assert len(errors) == 1 and "past its budget" in errors.pop()
    assert llm_server.generation_requests() == []


def test_a_chunk_whose_write_failed_after_paying_is_scored_again_for_free(
    gold_run, owner, worker, openai_credential, llm_server, monkeypatch
):
    """A worker killed between the calls and the commit of the chunk's scores: its calls are in
    the ledger (each is recorded as it is answered), so the redelivered chunk pays nothing."""
    _script_rows(llm_server)
    held = HeldMessages(monkeypatch)  # the chunk is run here, not by the worker
    evaluation = evaluation_create(
        run=gold_run,
        user=owner,
        name="judge",
        kind="llm_judge",
        settings=judge_settings(openai_credential),
    )
    assert held.held == [(evaluation.pk, 0)]
    real_write = chunks.scores_write

    def killed(*args, **kwargs):
        raise RuntimeError("worker killed before its commit")

    monkeypatch.setattr(chunks, "scores_write", killed)
    with pytest.raises(RuntimeError):
        score_chunk(evaluation_id=evaluation.pk, number=0)
    assert not Score.objects.filter(evaluation=evaluation).exists()
    paid = LlmCall.objects.count()
    asked = len(llm_server.generation_requests())
    assert paid == asked == ROWS + 1
    gold_run.refresh_from_db()
    spent = gold_run.spent_usd

    monkeypatch.setattr(chunks, "scores_write", real_write)
    score_chunk(evaluation_id=evaluation.pk, number=0)
    score_chunk(evaluation_id=evaluation.pk, number=0)  # delivered once more: nothing happens
    assert len(llm_server.generation_requests()) == asked
    assert LlmCall.objects.count() == paid
    gold_run.refresh_from_db()
    assert gold_run.spent_usd == spent
    rows = list(Score.objects.filter(evaluation=evaluation).values_list("row_id", flat=True))
    assert len(rows) == len(set(rows)) == ROWS
    assert _scores(evaluation) == pytest.approx(EXPECTED)
    evaluation.refresh_from_db()
    assert evaluation.status == "done"


# --- pairwise --------------------------------------------------------------------------------


def pairwise_settings(credential, **overrides):
    return {
        "column": "answer",
        "column_b": "gold",
        "credential_id": credential.pk,
        "model": "claude-haiku-4-5",
        "prompt": "Which answer to '{{ question }}' is better?",
        **overrides,
    }


def _shown_first(text):
    return f"[The start of response A]\n{text}\n"


def test_a_pairwise_judge_asks_twice_with_the_positions_swapped(
    gold_run, owner, worker, anthropic_credential, llm_server
):
    # Unscripted, the fake always answers "A": whichever text comes first wins, so the verdict
    # flips with the order (row 1). Row 3 prefers the gold answer in both orders, row 5 the
    # answer; rows 0, 2 and 4 have the same text twice: a tie without a call.
    llm_server.answer_when(_shown_first("Saturn"), {"reason": "Saturn is wrong", "winner": "B"})
    llm_server.answer_when(_shown_first("Jupiter"), {"reason": "Jupiter is right", "winner": "A"})
    llm_server.answer_when(_shown_first("It is Lima"), {"reason": "a sentence", "winner": "A"})
    llm_server.answer_when(_shown_first("Lima"), {"reason": "too short", "winner": "B"})
    evaluation = evaluation_create(
        run=gold_run,
        user=owner,
        name="answer vs gold",
        kind="pairwise_judge",
        settings=pairwise_settings(anthropic_credential),
    )
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done" and evaluation.rows_failed == 0
    assert _scores(evaluation) == {0: 0.5, 1: 0.5, 2: 0.5, 3: 0.0, 4: 0.5, 5: 1.0}

    requests = llm_server.generation_requests()
    assert len(requests) == 2 * 3  # rows 1, 3 and 5, each in both orders
    assert LlmCall.objects.filter(run=gold_run).count() == 2 * 3
    peru = [r.first_user_message for r in requests if "Capital of Peru?" in r.first_user_message]
    assert len(peru) == 2
    assert {p.index("It is Lima") < p.index("\nLima\n") for p in peru} == {True, False}
    assert requests[0].body["tool_choice"]["type"] == "tool"  # Anthropic: structured output

    planet = Score.objects.get(evaluation=evaluation, row__index=3).detail
    assert planet["winner"] == "b" and planet["position_flip"] is False
    assert [(v["first"], v["said"], v["preferred"]) for v in planet["verdicts"]] == [
        ("answer", "B", "gold"),
        ("gold", "A", "gold"),
    ]
    flipped = Score.objects.get(evaluation=evaluation, row__index=1).detail
    assert flipped["winner"] == "tie" and flipped["position_flip"] is True
    assert [v["preferred"] for v in flipped["verdicts"]] == ["answer", "gold"]
    same = Score.objects.get(evaluation=evaluation, row__index=0).detail
    assert same["identical"] is True and "verdicts" not in same

    summary = evaluation.summary
    assert summary["mean"] == pytest.approx(0.5)
    assert summary["pairwise"] == {
        "judged": 6,
        "a_win_rate": pytest.approx(1 / 6),
        "b_win_rate": pytest.approx(1 / 6),
        "tie_rate": pytest.approx(4 / 6),
        "position_flip_rate": pytest.approx(1 / 3),
    }
    assert summary["figures"]["A (answer) wins"] == "17% (1 of 6)"
    assert summary["figures"]["Position flips"] == "33% (1 of 3)"

    html = client_for(owner).get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert "Position flips" in html and "The verdict changed with the order" in html
