"""Focus mode's page and the review API, per role."""

from __future__ import annotations

import json

import pytest

from evaluation.models import ReviewAction
from tests.evaluation.review_world import review_run
from tests.fixtures import client_for


@pytest.fixture
def run(project, openai_credential):
    return review_run(project, openai_credential.pk, rows=4)


def _htmx(client, url, data):
    return client.post(url, data, HTTP_HX_REQUEST="true")


@pytest.mark.django_db
def test_focus_shows_the_first_pending_row_and_the_run_page_links_it(run, reviewer):
    client = client_for(reviewer)
    html = client.get(f"/runs/{run.pk}/review/").content.decode()
    assert "Row #0" in html and "Question 0?" in html and "4 rows in “pending”" in html
    assert "&quot;confidence&quot;: 0.5" in html  # pretty-printed JSON
    assert f'href="/runs/{run.pk}/review/"' in client.get(f"/runs/{run.pk}/").content.decode()


@pytest.mark.django_db
def test_accept_moves_on_to_the_next_pending_row(run, reviewer):
    client = client_for(reviewer)
    response = _htmx(
        client,
        f"/runs/{run.pk}/review/decide/",
        {"row": 0, "decision": "accepted", "review": "pending"},
    )
    html = response.content.decode()
    assert "Row #1" in html and "3 rows in “pending”" in html
    assert response["HX-Push-Url"] == f"/runs/{run.pk}/review/?review=pending&row=1"
    assert "reviewer</b> accepted row #0" in html
    assert run.rows.get(index=0).review_status == "accepted"


@pytest.mark.django_db
def test_a_bad_json_edit_is_shown_next_to_the_field_and_nothing_is_saved(run, reviewer):
    client = client_for(reviewer)
    html = _htmx(
        client,
        f"/runs/{run.pk}/review/edit/",
        {"row": 0, "column": "answer", "value": '{"confidence": 1}', "review": "pending"},
    ).content.decode()
    assert "Does not follow the column&#x27;s JSON schema" in html
    assert "&#x27;text&#x27; is required" in html
    assert "{&quot;confidence&quot;: 1}" in html  # what was typed, kept for fixing
    assert run.rows.get(index=0).edited_values is None


@pytest.mark.django_db
def test_an_edit_shows_the_original_on_demand_and_undo_takes_it_back(run, reviewer):
    client = client_for(reviewer)
    url = f"/runs/{run.pk}/review/"
    html = _htmx(
        client,
        url + "edit/",
        {"row": 2, "column": "question", "value": "Sharper?", "review": "pending"},
    ).content.decode()
    assert "Sharper?" in html and "Show original" in html and "Question 2?" in html
    html = _htmx(client, url + "undo/", {"row": 2, "review": "pending"}).content.decode()
    assert "Undone: Edited" in html and "Show original" not in html
    assert run.rows.get(index=2).edited_values is None
    html = _htmx(client, url + "undo/", {"row": 2, "review": "pending"}).content.decode()
    assert "Nothing of yours to undo" in html


@pytest.mark.django_db
def test_the_url_keeps_the_row_and_a_bad_row_or_filter_falls_back(run, reviewer):
    client = client_for(reviewer)
    assert "Row #3" in client.get(f"/runs/{run.pk}/review/?row=3").content.decode()
    html = client.get(f"/runs/{run.pk}/review/?row=x&review=bogus").content.decode()
    assert "Row #0" in html
    html = client.get(f"/runs/{run.pk}/review/?review=accepted").content.decode()
    assert "No rows in “accepted”" in html


@pytest.mark.django_db
def test_api_patch_edits_and_decides_then_undo_and_activity(run, reviewer):
    client = client_for(reviewer)
    row = run.rows.get(index=1)
    body = {"decision": "accepted", "edited_values": {"answer": {"text": "New"}}}
    response = client.patch(
        f"/api/rows/{row.pk}/review", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["edited_values"]["answer"] == {"text": "New"}
    assert response.json()["values"]["answer"]["text"] == "Answer 1"
    activity = client.get(f"/api/runs/{run.pk}/review/activity").json()
    assert [(a["kind"], a["user"], a["row_index"]) for a in activity] == [("edit", "reviewer", 1)]
    undone = client.post(f"/api/runs/{run.pk}/review/undo").json()
    assert undone["undone_at"] is not None
    row.refresh_from_db()
    assert (row.review_status, row.edited_values) == ("unreviewed", None)


@pytest.mark.django_db
def test_api_refuses_an_edit_against_the_schema_with_the_reason(run, reviewer):
    row = run.rows.get(index=1)
    response = client_for(reviewer).patch(
        f"/api/rows/{row.pk}/review",
        json.dumps({"edited_values": {"answer": {"text": 5}}}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "answer: Does not follow the column's JSON schema" in response.json()["detail"]
    assert not ReviewAction.objects.exists()


@pytest.mark.django_db
def test_a_viewer_may_not_review_but_sees_the_activity(run, viewer, stranger):
    client = client_for(viewer)
    assert client.get(f"/runs/{run.pk}/review/").status_code == 403
    row = run.rows.get(index=0)
    body = json.dumps({"decision": "accepted"})
    response = client.patch(f"/api/rows/{row.pk}/review", body, content_type="application/json")
    assert response.status_code == 403
    assert client.get(f"/api/runs/{run.pk}/review/activity").status_code == 200
    assert client_for(stranger).get(f"/runs/{run.pk}/review/").status_code == 404


@pytest.mark.django_db
def test_a_messages_value_is_shown_as_a_chat_and_escaped(run, reviewer):
    chat = [{"role": "user", "content": "<b>Hi</b>"}, {"role": "assistant", "content": "Hello"}]
    run.rows.filter(index=0).update(
        values={"topic": "space", "question": chat, "answer": {}},
        prompts={"question": "Ask about <space>"},
    )
    html = client_for(reviewer).get(f"/runs/{run.pk}/review/?row=0").content.decode()
    assert '<li class="chat-turn chat-user"><b>user</b>' in html
    assert "&lt;b&gt;Hi&lt;/b&gt;" in html and "<b>Hi</b>" not in html
    assert "Show prompt" in html and "Ask about &lt;space&gt;" in html


@pytest.mark.django_db
def test_a_review_from_the_run_page_is_in_the_activity_log_too(run, reviewer):
    row = run.rows.get(index=0)
    client_for(reviewer).post(f"/rows/{row.pk}/review/", {"decision": "rejected"})
    action = ReviewAction.objects.get()
    assert (action.kind, action.row, action.user) == ("reject", row, reviewer)
