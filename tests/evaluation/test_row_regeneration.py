"""Regenerating a row from review, through the fake provider: the cell asked for and the
columns depending on it are asked again (a fresh sample, a new call), the other model columns
are not; the earlier values are in the row's history; the decision and edit are cleared through
the activity log, and undo refuses a regeneration. A redelivered message pays nothing twice."""

from __future__ import annotations

import json

import pytest

from evaluation.models import ReviewAction
from evaluation.row_regeneration import row_regenerate
from evaluation.services import ReviewError, review_undo, row_review_change
from generation.models import Row, Run
from generation.regeneration import rows_fill_now
from generation.services import run_create
from studio.services import project_member_add, schema_create, seed_file_upload
from tests.evaluation.gate_fixtures import ANSWER_SCHEMA, QUESTIONS
from tests.fixtures import PASSWORD, client_for, drain

pytestmark = pytest.mark.django_db(transaction=True)


def _structured(name: str, prompt: str, credential_id: int) -> dict:
    return {
        "name": name,
        "kind": "llm_structured",
        "credential_id": credential_id,
        "model": "gpt-4o-mini",
        "prompt": prompt,
        "json_schema": ANSWER_SCHEMA,
        "max_reasks": 0,
    }


@pytest.fixture
def run(worker, project, owner, openai_credential, llm_server):
    """Three rows: a seed question, its answer (a model), the answer's text (an expression
    of it) and a note on the question (another model, not depending on the answer)."""
    seed = seed_file_upload(project=project, user=owner, filename="qs.csv", data=QUESTIONS)
    spec = {
        "columns": [
            {"name": "qs", "kind": "seed_data", "seed_file_id": seed.pk, "fields": ["q"]},
            _structured("solution", "Answer {{ q }}", openai_credential.pk),
            {"name": "final", "kind": "expression", "template": "{{ solution.answer }}"},
            _structured("note", "Note on {{ q }}", openai_credential.pk),
        ]
    }
    spec["columns"][0]["sampling"] = "ordered"
    schema = schema_create(project=project, user=owner, name="regen", data=spec)
    llm_server.answer_when("Answer first", {"answer": "old answer"}, {"answer": "new answer"})
    llm_server.answer_when("Answer", {"answer": "an answer"})
    llm_server.answer_when("Note on", {"answer": "a note"}, {"answer": "another note"})
    run = run_create(schema=schema, user=owner, num_rows=3)
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    return run


def _first(run) -> Row:
    return run.rows.get(values__q="first")


def _asked(llm_server) -> list[str]:
    return sorted(r.first_user_message for r in llm_server.generation_requests())


def test_one_cell_and_its_dependant_are_asked_again_the_other_model_column_is_not(
    worker, run, collaborator, llm_server
):
    row = _first(run)
    assert (row.values["final"], row.values["note"]) == ("old answer", {"answer": "a note"})
    before = _asked(llm_server)

    plan = row_regenerate(row=row, user=collaborator, columns=["solution"])
    assert plan.columns == ["solution", "final"]
    drain(worker)

    row.refresh_from_db()
    assert row.status == Row.Status.GENERATED
    assert row.values["solution"] == {"answer": "new answer"}
    assert row.values["final"] == "new answer"
    assert row.values["note"] == {"answer": "a note"}  # untouched, and no call for it
    assert _asked(llm_server) == sorted([*before, "Answer first"])
    run.refresh_from_db()
    assert run.status == Run.Status.FINISHED
    [version] = row.versions.all()
    assert (version.attempt, version.reason, version.created_by) == (1, "manual", collaborator)
    assert version.values["final"] == "old answer"
    assert version.columns == ["solution", "final"]
    action = ReviewAction.objects.get(row=row)
    assert (action.kind, action.user, action.column) == (
        "regenerate",
        collaborator,
        "solution, final",
    )


def test_the_whole_row_asks_every_model_column_again(worker, run, owner, llm_server):
    row = _first(run)
    before = _asked(llm_server)
    plan = row_regenerate(row=row, user=owner, columns=None)
    assert plan.columns == ["solution", "final", "note"]
    drain(worker)
    row.refresh_from_db()
    assert (row.values["final"], row.values["note"]) == ("new answer", {"answer": "another note"})
    assert _asked(llm_server) == sorted([*before, "Answer first", "Note on first"])


def test_the_decision_and_edit_are_cleared_and_undo_refuses_the_regeneration(
    worker, run, owner, llm_server
):
    row = _first(run)
    row_review_change(row=row, user=owner, decision="accepted", edits={"final": "my better answer"})
    row_regenerate(row=row, user=owner, columns=["solution"])
    drain(worker)
    row.refresh_from_db()
    assert (row.review_status, row.edited_values, row.reviewed_by) == ("unreviewed", None, None)
    [version] = row.versions.all()
    assert version.review_status == "accepted"
    assert version.edited_values["final"] == "my better answer"
    with pytest.raises(ReviewError, match="regeneration is not undone"):
        review_undo(run=run, user=owner)
    row.refresh_from_db()
    assert (row.review_status, row.values["final"]) == ("unreviewed", "new answer")
    assert not ReviewAction.objects.filter(undone_at__isnull=False).exists()


def test_a_redelivered_message_pays_nothing_twice(worker, run, owner, llm_server):
    row = _first(run)
    row_regenerate(row=row, user=owner, columns=["solution"])
    drain(worker)
    asked = len(llm_server.generation_requests())
    # As if the worker died after the call was recorded, before the row was written.
    Row.objects.filter(pk=row.pk).update(status=Row.Status.PENDING)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    rows_fill_now(run_id=run.pk)
    row.refresh_from_db()
    assert row.values["final"] == "new answer"
    assert row.calls["solution"]["from_ledger"] is True
    assert len(llm_server.generation_requests()) == asked


def test_a_spent_budget_refuses_before_any_call(worker, run, owner, llm_server):
    Run.objects.filter(pk=run.pk).update(budget_usd=run.spent_usd)
    row = _first(run)
    asked = len(llm_server.generation_requests())
    client = client_for(owner)
    response = client.post(
        f"/api/rows/{row.pk}/regenerate", json.dumps({"columns": None}), "application/json"
    )
    assert response.status_code == 400
    assert "has spent its budget" in response.json()["detail"]
    drain(worker)
    assert len(llm_server.generation_requests()) == asked
    assert not row.versions.exists() and not ReviewAction.objects.exists()


def test_the_api_queues_the_columns_and_shows_the_history(worker, run, project, llm_server):
    editor = type(project.owner).objects.create_user("editor2", password=PASSWORD)
    project_member_add(project=project, user=editor, role="editor")
    client = client_for(editor)
    row = _first(run)
    response = client.post(
        f"/api/rows/{row.pk}/regenerate", json.dumps({"columns": ["solution"]}), "application/json"
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["asked"], body["columns"], body["status"]) == (
        ["solution"],
        ["solution", "final"],
        "pending",
    )
    assert body["budget_left_usd"] is None
    drain(worker)
    history = client.get(f"/api/rows/{row.pk}/history").json()
    assert [(v["attempt"], v["reason"], v["created_by"]) for v in history] == [
        (1, "manual", "editor2")
    ]
    assert history[0]["values"]["final"] == "old answer"


def test_a_reviewer_may_not_regenerate(worker, run, project, llm_server):
    reviewer = type(project.owner).objects.create_user("rev", password=PASSWORD)
    project_member_add(project=project, user=reviewer, role="reviewer")
    client = client_for(reviewer)
    row = _first(run)
    asked = len(llm_server.generation_requests())
    api = client.post(f"/api/rows/{row.pk}/regenerate", "{}", "application/json")
    page = client.post(f"/runs/{run.pk}/review/regenerate/", {"row": row.index})
    assert (api.status_code, page.status_code) == (403, 403)
    html = client.get(f"/runs/{run.pk}/review/?review=all&row={row.index}").content.decode()
    assert f"/runs/{run.pk}/review/regenerate/" not in html and 'data-key="g"' not in html
    assert f"/rows/{row.pk}/regenerate/" not in client.get(f"/rows/{row.pk}/").content.decode()
    drain(worker)
    assert len(llm_server.generation_requests()) == asked and not row.versions.exists()
