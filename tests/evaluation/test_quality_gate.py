"""Quality gates through the fake provider: the rows below an evaluation's threshold are
regenerated (a fresh sample each attempt) and scored again until they pass or K rounds were
made; each keeps its history. The budget stops it; a redelivered step pays nothing twice."""

from decimal import ROUND_UP, Decimal

import pytest

from evaluation.gate.services import GateError, gate_regenerate, gate_reject, gate_rows_below
from evaluation.gate.steps import gate_step
from evaluation.models import QualityGate, Score
from generation.models import LlmCall, Row, RowVersion, Run
from generation.regeneration import rows_fill_now, rows_regenerate
from generation.services import RunError, run_create
from tests.evaluation.gate_fixtures import (
    LONG_ENOUGH,
    drain_gates,
    gated_run,
    length_evaluation,
    script,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _finals(run) -> dict[str, str]:
    return {r.values["q"]: r.values["final"] for r in run.rows.all()}


def test_rows_below_are_regenerated_until_they_pass_at_most_k_times(
    worker, gate_schema, owner, llm_server
):
    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    assert _finals(run) == {"first": "no", "second": "this one passes at once", "third": "no"}
    evaluation = length_evaluation(worker, run, owner)
    assert gate_rows_below(evaluation=evaluation) == 2

    gate = gate_regenerate(evaluation=evaluation, user=owner, max_attempts=2)
    drain_gates(worker)

    gate.refresh_from_db()
    assert gate.status == QualityGate.Status.DONE
    assert (gate.round, gate.rows_below, gate.rows_regenerated) == (2, 2, 3)
    assert gate.message == "1 row still below after 2 rounds of regeneration"
    # "first" passed in round 1 and was not asked again; "third" was asked in both rounds.
    assert _finals(run) == {
        "first": "a long enough answer",
        "second": "this one passes at once",
        "third": "no",
    }
    prompts = [r.first_user_message for r in llm_server.generation_requests()]
    assert sorted(prompts) == sorted(
        ["Answer first", "Answer second", "Answer third"]
        + ["Answer first", "Answer third"]
        + ["Answer third"]
    )
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    # The evaluation scored the new values: one row still below, its summary says so.
    evaluation.refresh_from_db()
    passed = dict(Score.objects.filter(evaluation=evaluation).values_list("row__index", "passed"))
    assert passed == {0: True, 1: True, 2: False}
    assert evaluation.status == "done" and evaluation.rows_scored == 3
    assert evaluation.summary["pass_rate"] == pytest.approx(2 / 3)

    first = run.rows.get(index=0)
    [version] = first.versions.all()
    assert (version.attempt, version.values["final"], version.columns) == (
        1,
        "no",
        ["solution", "final"],
    )
    assert version.reason == "quality gate: long enough below 10 characters"
    assert version.scores[str(evaluation.pk)] == {
        "name": "long enough",
        "value": 2.0,
        "passed": False,
    }
    third = run.rows.get(index=2)
    assert list(third.versions.values_list("attempt", flat=True)) == [1, 2]
    # Each attempt was a fresh sample: its own ledger entry, paid once.
    assert LlmCall.objects.filter(run=run, row_index=2).count() == 3


def test_a_row_passing_at_once_ends_the_gate_without_a_call(worker, gate_schema, owner, llm_server):
    llm_server.answer_when("Answer", {"answer": "every row passes here"})
    run = gated_run(worker, gate_schema, owner)
    evaluation = length_evaluation(worker, run, owner)
    before = len(llm_server.generation_requests())
    gate = gate_regenerate(evaluation=evaluation, user=owner, max_attempts=3)
    drain_gates(worker)
    gate.refresh_from_db()
    assert (gate.status, gate.round, gate.message) == ("done", 0, "No row is below")
    assert len(llm_server.generation_requests()) == before


def test_the_budget_stops_the_regeneration(worker, gate_schema, owner, llm_server):
    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    evaluation = length_evaluation(worker, run, owner)
    before = len(llm_server.generation_requests())
    # Spent to the last cent: no gate starts.
    Run.objects.filter(pk=run.pk).update(budget_usd=run.spent_usd)
    evaluation.run.refresh_from_db()
    with pytest.raises(GateError, match="has spent its budget"):
        gate_regenerate(evaluation=evaluation, user=owner, max_attempts=2)
    # A budget that does not hold one more call (the most it can cost, with its max_tokens):
    # the gate starts, the run stops at its budget before any call.
    above = run.spent_usd.quantize(Decimal("0.0001"), rounding=ROUND_UP)
    if above == run.spent_usd:
        above += Decimal("0.0001")
    Run.objects.filter(pk=run.pk).update(budget_usd=above)
    evaluation.run.refresh_from_db()
    gate = gate_regenerate(evaluation=evaluation, user=owner, max_attempts=2)
    drain_gates(worker)
    gate.refresh_from_db()
    run.refresh_from_db()
    assert run.status == Run.Status.BUDGET_REACHED
    assert gate.status == QualityGate.Status.STOPPED
    assert "budget reached with 2 rows not regenerated" in gate.message
    assert len(llm_server.generation_requests()) == before


def test_a_redelivered_regeneration_pays_nothing_twice(worker, gate_schema, owner, llm_server):
    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    first = run.rows.get(index=0)
    rows_regenerate(run=run, row_ids=[first.pk], columns=["solution"], user=owner, enqueue=False)
    rows_fill_now(run_id=run.pk)
    asked = len(llm_server.generation_requests())
    first.refresh_from_db()
    assert first.values["final"] == "a long enough answer"
    # As if the worker died after the call was recorded, before the row was written.
    Row.objects.filter(pk=first.pk).update(status=Row.Status.PENDING)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    rows_fill_now(run_id=run.pk)
    first.refresh_from_db()
    assert first.values["final"] == "a long enough answer"
    assert first.calls["solution"]["from_ledger"] is True
    assert len(llm_server.generation_requests()) == asked
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED


def test_a_redelivered_gate_step_does_nothing_twice(worker, gate_schema, owner, llm_server):
    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    evaluation = length_evaluation(worker, run, owner)
    gate = gate_regenerate(evaluation=evaluation, user=owner, max_attempts=1)
    drain_gates(worker)
    asked = len(llm_server.generation_requests())
    versions = RowVersion.objects.count()
    gate_step(gate_id=gate.pk)  # the last message again, after the gate ended
    assert (len(llm_server.generation_requests()), RowVersion.objects.count()) == (
        asked,
        versions,
    )


def test_reject_below_rejects_the_failing_rows_and_records_who_and_why(
    worker, gate_schema, owner, llm_server
):
    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    evaluation = length_evaluation(worker, run, owner)
    gate = gate_reject(evaluation=evaluation, user=owner)
    rejected = run.rows.filter(review_status=Row.Review.REJECTED)
    assert sorted(rejected.values_list("index", flat=True)) == [0, 2]
    assert {r.reviewed_by_id for r in rejected} == {owner.pk}
    assert gate.message == "Rejected 2 rows (quality gate: long enough below 10 characters)"
    assert gate.created_by == owner


@pytest.mark.parametrize("attempts", [0, 6, -1, "2", True])
def test_attempts_out_of_range_are_refused(worker, gate_schema, owner, llm_server, attempts):
    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    evaluation = length_evaluation(worker, run, owner)
    with pytest.raises(GateError, match="between 1 and 5"):
        gate_regenerate(evaluation=evaluation, user=owner, max_attempts=attempts)
    assert not QualityGate.objects.exists()


def test_an_evaluation_without_threshold_is_refused(worker, gate_schema, owner, llm_server):
    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    evaluation = length_evaluation(worker, run, owner, settings={"column": "final"})
    for act in (
        lambda: gate_reject(evaluation=evaluation, user=owner),
        lambda: gate_regenerate(evaluation=evaluation, user=owner, max_attempts=1),
    ):
        with pytest.raises(GateError, match="has no threshold"):
            act()


def test_rows_of_a_running_or_cancelled_run_are_not_regenerated(
    worker, gate_schema, owner, llm_server
):
    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    for status in (Run.Status.RUNNING, Run.Status.CANCELLED):
        Run.objects.filter(pk=run.pk).update(status=status)
        with pytest.raises(RunError, match="only the rows of a run that has ended"):
            rows_regenerate(
                run=run, row_ids=[run.rows.first().pk], columns=["solution"], user=owner
            )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FINISHED)
    with pytest.raises(RunError, match="has no column 'nope'"):
        rows_regenerate(run=run, row_ids=[run.rows.first().pk], columns=["nope"], user=owner)


def test_a_gate_set_on_the_run_form_judges_and_regenerates_when_the_run_ends(
    worker, gate_schema, owner, llm_server
):
    script(llm_server)
    gate = {"kind": "length", "settings": LONG_ENOUGH, "max_attempts": 1}
    run = run_create(schema=gate_schema, user=owner, num_rows=3, gate=gate)
    drain_gates(worker)
    [made] = QualityGate.objects.filter(evaluation__run=run)
    assert made.from_run and made.status == QualityGate.Status.DONE
    assert made.evaluation.name == "Quality gate"
    assert _finals(run)["first"] == "a long enough answer"
    assert made.message == "1 row still below after 1 round of regeneration"


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        ({"kind": "length", "settings": {"column": "final"}, "max_attempts": 1}, "threshold"),
        ({"kind": "length", "settings": LONG_ENOUGH, "max_attempts": 9}, "between 1 and 5"),
        ({"kind": "nope", "settings": {}, "max_attempts": 1}, "Unknown evaluation kind"),
        ({"kind": "length", "settings": {"column": "x", "min_length": 1}, "max_attempts": 1}, "x"),
    ],
)
def test_a_bad_gate_on_the_run_form_is_refused(gate_schema, owner, gate, message):
    with pytest.raises(RunError, match=message):
        run_create(schema=gate_schema, user=owner, num_rows=3, gate=gate)
    assert not Run.objects.exists()


def test_a_gate_whose_message_was_lost_is_resumed(worker, gate_schema, owner, llm_server):
    from evaluation.scoring.services import evaluation_resume_unfinished

    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    evaluation = length_evaluation(worker, run, owner)
    # As if the queue was lost with the process (the embedded broker lives in memory).
    gate = QualityGate.objects.create(
        evaluation=evaluation, action="regenerate", max_attempts=1, reason="lost"
    )
    assert evaluation_resume_unfinished() == 1
    drain_gates(worker)
    gate.refresh_from_db()
    assert (gate.status, gate.round) == ("done", 1)
    assert _finals(run)["first"] == "a long enough answer"
