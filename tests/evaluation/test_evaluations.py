"""Evaluations end to end: created from the page or the API, scored by the worker in chunks,
summarised, shown with charts, re-run as a new version, cancelled; bad settings refused with a
clear message; a redelivered chunk writes nothing twice."""

import dataclasses
import json

import pytest
from django.core.management import call_command

from evaluation import actors
from evaluation.kinds import KINDS, exact_match
from evaluation.models import Evaluation, EvaluationChunk, Score
from evaluation.scoring import services
from evaluation.scoring.chunks import score_chunk
from evaluation.scoring.services import (
    EvaluationInvalid,
    evaluation_cancel,
    evaluation_create,
    evaluation_rerun,
)
from tests.evaluation.conftest import ROWS
from tests.fixtures import client_for, drain

pytestmark = pytest.mark.django_db(transaction=True)

EXACT = {"column": "answer", "reference_column": "gold"}


def _scores(evaluation) -> dict[int, float | None]:
    return dict(Score.objects.filter(evaluation=evaluation).values_list("row__index", "value"))


def test_exact_match_scores_every_row_and_summarises(gold_run, owner, worker, monkeypatch):
    # Two chunks: the summary is made by whichever is written last.
    monkeypatch.setitem(KINDS, "exact_match", dataclasses.replace(exact_match.KIND, chunk_rows=4))
    evaluation = evaluation_create(
        run=gold_run, user=owner, name="exact", kind="exact_match", settings=EXACT
    )
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done"
    assert evaluation.is_current
    assert EvaluationChunk.objects.filter(evaluation=evaluation).count() == 2
    # Default normalisation ignores case and whitespace, not punctuation: only "tokyo!" and
    # the sentence differ besides the wrong answer.
    assert _scores(evaluation) == {0: 1.0, 1: 0.0, 2: 1.0, 3: 0.0, 4: 1.0, 5: 0.0}
    assert evaluation.rows_scored == ROWS
    summary = evaluation.summary
    assert summary["mean"] == pytest.approx(0.5)
    assert summary["pass_rate"] == pytest.approx(0.5)
    assert [b["count"] for b in summary["histogram"]] == [3, 3]  # 0 and 1
    by_level = {g["value"]: g["mean"] for g in summary["by_column"]["style"]}
    assert by_level == {"short": pytest.approx(0.5)}


def test_normalisation_and_contains_change_the_scores(gold_run, owner, worker):
    loose = evaluation_create(
        run=gold_run,
        user=owner,
        name="loose",
        kind="exact_match",
        settings={**EXACT, "ignore_punctuation": True},
    )
    contains = evaluation_create(
        run=gold_run,
        user=owner,
        name="contains",
        kind="exact_match",
        settings={**EXACT, "mode": "contains"},
    )
    fixed = evaluation_create(
        run=gold_run,
        user=owner,
        name="is Paris",
        kind="exact_match",
        settings={"column": "answer", "reference_value": "paris"},
    )
    drain(worker)
    assert _scores(loose) == {0: 1.0, 1: 1.0, 2: 1.0, 3: 0.0, 4: 1.0, 5: 0.0}
    assert _scores(contains) == {0: 1.0, 1: 1.0, 2: 1.0, 3: 0.0, 4: 1.0, 5: 1.0}
    assert _scores(fixed) == {0: 1.0, 1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.0}


def test_only_the_targeted_rows_are_scored(gold_run, owner, worker):
    from evaluation.services import row_review

    for row in gold_run.rows.filter(index__in=[1, 3]):
        row_review(row=row, user=owner, decision="accepted")
    evaluation = evaluation_create(
        run=gold_run,
        user=owner,
        name="accepted only",
        kind="length",
        settings={"column": "answer", "max_length": 5},
        target={"review": ["accepted"]},
    )
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.rows_total == 2
    assert _scores(evaluation) == {1: 6.0, 3: 6.0}
    assert evaluation.summary["pass_rate"] == 0.0


@pytest.mark.parametrize(
    ("kind", "settings", "message"),
    [
        ("exact_match", {"column": "nope", "reference_column": "gold"}, "has no column 'nope'"),
        ("exact_match", {"column": "answer"}, "Choose a reference column or type"),
        ("length", {"column": "answer", "min_length": 9, "max_length": 2}, "above the maximum"),
        ("length", {"column": "answer", "unit": "pages"}, "unit"),
        ("no_such_kind", {"column": "answer"}, "Unknown evaluation kind"),
        ("length", {"column": "answer", "surprise": 1}, "surprise"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(gold_run, owner, kind, settings, message):
    with pytest.raises(EvaluationInvalid, match=message):
        evaluation_create(run=gold_run, user=owner, name="bad", kind=kind, settings=settings)
    assert not Evaluation.objects.exists()
    response = client_for(owner).post(
        f"/api/runs/{gold_run.pk}/evaluations",
        json.dumps({"name": "bad", "kind": kind, "settings": settings}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert message in response.json()["detail"]


def test_a_redelivered_chunk_writes_no_score_twice(gold_run, owner, worker):
    evaluation = evaluation_create(
        run=gold_run, user=owner, name="exact", kind="exact_match", settings=EXACT
    )
    drain(worker)
    # The worker died after its commit, before its ack: the message comes again.
    score_chunk(evaluation_id=evaluation.pk, number=0)
    # ... or the chunk was scored by a worker killed before its commit: the chunk is not done.
    EvaluationChunk.objects.filter(evaluation=evaluation).update(done=False)
    Evaluation.objects.filter(pk=evaluation.pk).update(status="running")
    Score.objects.filter(evaluation=evaluation, row__index__gte=3).delete()
    score_chunk(evaluation_id=evaluation.pk, number=0)
    assert Score.objects.filter(evaluation=evaluation).count() == ROWS
    assert _scores(evaluation) == {0: 1.0, 1: 0.0, 2: 1.0, 3: 0.0, 4: 1.0, 5: 0.0}


class HeldMessages:
    """Stands in for the chunk actor: messages wait until released."""

    def __init__(self, monkeypatch):
        self.held: list[tuple] = []
        monkeypatch.setattr(services, "score_chunk", self)

    def send(self, *args):
        self.held.append(args)

    def release(self):
        for args in self.held:
            actors.score_chunk.send(*args)
        self.held.clear()


def test_a_rerun_keeps_the_old_scores_shown_until_it_is_done(gold_run, owner, worker, monkeypatch):
    first = evaluation_create(
        run=gold_run, user=owner, name="exact", kind="exact_match", settings=EXACT
    )
    drain(worker)
    queue = HeldMessages(monkeypatch)
    second = evaluation_rerun(evaluation=first, user=owner)
    first.refresh_from_db()
    assert second.version == 2 and second.status == "running"
    assert first.is_current and not second.is_current
    page = client_for(owner).get(f"/runs/{gold_run.pk}/")
    assert page.content.decode().count('class="evaluation-item"') == 2  # v1 shown, v2 going
    queue.release()
    drain(worker)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_current and not first.is_current
    assert Score.objects.filter(evaluation=first).count() == ROWS  # history kept


def test_cancel_stops_writing_scores(gold_run, owner, worker, monkeypatch):
    queue = HeldMessages(monkeypatch)
    evaluation = evaluation_create(
        run=gold_run, user=owner, name="exact", kind="exact_match", settings=EXACT
    )
    evaluation_cancel(evaluation=evaluation)
    queue.release()
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "cancelled"
    assert not Score.objects.filter(evaluation=evaluation).exists()


def test_pages_show_progress_summary_chart_and_scores(gold_run, owner, worker):
    client = client_for(owner)
    response = client.post(
        f"/runs/{gold_run.pk}/evaluations/new/",
        {
            "name": "exact",
            "kind": "exact_match",
            "column": "answer",
            "reference_column": "gold",
            "mode": "exact",
            "normalise": ["case", "whitespace"],
        },
    )
    assert response.status_code == 302, [
        line for line in response.content.decode().splitlines() if "error" in line
    ]
    evaluation = Evaluation.objects.get()
    drain(worker)
    html = client.get(f"/evaluations/{evaluation.pk}/").content.decode()
    assert 'id="summary-mean">0.500<' in html
    assert html.count('data-count="3"') == 2  # the histogram's two bars
    assert "#5" in html
    run_page = client.get(f"/runs/{gold_run.pk}/").content.decode()
    assert "pass rate <strong>50%</strong>" in run_page
    # Each row card carries its score: 3 passed, 3 failed, on the live page and the rows page.
    for html in (run_page, client.get(f"/runs/{gold_run.pk}/rows/").content.decode()):
        assert html.count("score-badge score-pass") == 3
        assert html.count("score-badge score-fail") == 3
    reviewed = client.post(
        f"/rows/{gold_run.rows.get(index=0).pk}/review/",
        {"decision": "accepted"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "score-badge score-pass" in reviewed  # the card swapped in after a review keeps it
    row = gold_run.rows.get(index=1)
    panel = client.get(f"/rows/{row.pk}/").content.decode()
    assert "row-score" in panel and "fail" in panel
    filtered = client.get(f"/evaluations/{evaluation.pk}/?outcome=passed").content.decode()
    assert "3 rows" in filtered


def test_the_form_shows_errors_next_to_their_fields(gold_run, owner):
    client = client_for(owner)
    response = client.post(
        f"/runs/{gold_run.pk}/evaluations/new/",
        {
            "name": "len",
            "kind": "length",
            "column": "answer",
            "unit": "characters",
            "min_length": "9",
            "max_length": "2",
        },
    )
    assert response.status_code == 200
    assert "above the maximum" in response.content.decode()
    assert not Evaluation.objects.exists()


def test_api_creates_lists_and_reads_scores(gold_run, owner, worker):
    client = client_for(owner)
    created = client.post(
        f"/api/runs/{gold_run.pk}/evaluations",
        json.dumps({"name": "exact", "kind": "exact_match", "settings": EXACT}),
        content_type="application/json",
    )
    assert created.status_code == 202
    evaluation_id = created.json()["id"]
    drain(worker)
    assert client.get(f"/api/evaluations/{evaluation_id}").json()["status"] == "done"
    listed = client.get(f"/api/runs/{gold_run.pk}/evaluations").json()
    assert [e["id"] for e in listed] == [evaluation_id]
    failing = client.get(f"/api/evaluations/{evaluation_id}/scores?passed=false").json()
    assert [s["row_index"] for s in failing] == [1, 3, 5]
    high = client.get(f"/api/evaluations/{evaluation_id}/scores?low=0.5").json()
    assert [s["row_index"] for s in high] == [0, 2, 4]
    summary = client.get(f"/api/evaluations/{evaluation_id}/summary").json()
    assert summary["summary"]["pass_rate"] == 0.5 and summary["agreement"] is None
    rerun = client.post(f"/api/evaluations/{evaluation_id}/rerun")
    assert rerun.status_code == 202 and rerun.json()["version"] == 2
    cancel = client.post(f"/api/evaluations/{evaluation_id}/cancel")
    assert cancel.status_code == 400  # done already


def test_an_evaluation_whose_queue_was_lost_resumes(gold_run, owner, worker, monkeypatch):
    """Embedded mode's broker lives in memory: after a restart, `serve` sends the chunks not
    done again, and the evaluation finishes with every row scored once."""
    queue = HeldMessages(monkeypatch)
    evaluation = evaluation_create(
        run=gold_run, user=owner, name="exact", kind="exact_match", settings=EXACT
    )
    queue.held.clear()  # the process died: the messages are gone
    monkeypatch.setattr(services, "score_chunk", actors.score_chunk)
    call_command("resume_evaluations")
    drain(worker)
    evaluation.refresh_from_db()
    assert evaluation.status == "done"
    assert _scores(evaluation) == {0: 1.0, 1: 0.0, 2: 1.0, 3: 0.0, 4: 1.0, 5: 0.0}
