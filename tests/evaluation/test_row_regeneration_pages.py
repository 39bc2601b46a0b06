"""Regenerating a row from focus mode and from the row's page: the confirmation names the
columns (the cell and its dependants) and the budget left; the row then polls until it is done,
at most MAX_POLLS times; every refusal is a message, never a 500, and changes nothing."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from evaluation.focus_views import MAX_POLLS
from evaluation.models import ReviewAction
from evaluation.row_regeneration import row_regenerate
from evaluation.services import ReviewError, review_undo, row_review_change
from generation.models import Row, RowVersion, Run
from studio.services import project_member_add
from tests.evaluation.review_world import review_run
from tests.fixtures import PASSWORD, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(project, openai_credential):
    return review_run(project, openai_credential.pk, rows=3)


@pytest.fixture
def editor(collaborator):
    return collaborator


def _focus(run) -> str:
    return f"/runs/{run.pk}/review/regenerate/"


def test_the_confirmation_names_the_cell_its_dependants_and_the_budget_left(run, editor):
    client = client_for(editor)
    html = client.get(
        _focus(run), {"row": 1, "column": "question", "review": "all"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Regenerate <code>question</code> of row #1?" in html
    assert "for 2 columns: <code>question</code>, <code>answer</code>" in html
    assert "(depends on it)" in html and "no budget is set on this run" in html
    Run.objects.filter(pk=run.pk).update(budget_usd=Decimal("2"), spent_usd=Decimal("0.5"))
    html = client.get(_focus(run), {"row": 1}, HTTP_HX_REQUEST="true").content.decode()
    assert "Regenerate row #1?" in html and "<strong>$1.5000</strong> of $2.00" in html
    assert not RowVersion.objects.exists()


def test_confirming_shows_the_row_pending_and_polling_then_the_poll_stops(run, editor):
    client = client_for(editor)
    response = client.post(
        _focus(run), {"row": 1, "column": "answer", "review": "all"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "Regenerating answer of row #1" in html
    assert "is being regenerated" in html and "poll=1" in html
    row = run.rows.get(index=1)
    assert row.status == Row.Status.PENDING
    assert list(row.versions.values_list("attempt", "columns")) == [(1, ["answer"])]
    assert "History" in html and "Attempt 1" in html and "(manual, by collaborator)" in html
    assert "collaborator</b> regenerated <code>answer</code> of row #1" in html
    last = client.get(
        f"/runs/{run.pk}/review/", {"row": 1, "review": "all", "poll": MAX_POLLS}
    ).content.decode()
    assert "poll=" not in last and "reload the page" in last


def _refused(client, run, data):
    return client.post(_focus(run), {"review": "all", **data}, HTTP_HX_REQUEST="true")


@pytest.mark.parametrize(
    ("change", "data", "message"),
    [
        ({"status": Run.Status.CANCELLED}, {"row": 0}, "Run {run} is cancelled"),
        ({"status": Run.Status.RUNNING}, {"row": 0}, "Run {run} is running"),
        ({"mode": Run.Mode.BATCH}, {"row": 0}, "batch-mode run cannot be regenerated"),
        (
            {"budget_usd": Decimal("1"), "spent_usd": Decimal("1")},
            {"row": 0},
            "has spent its budget",
        ),
        ({}, {"row": 0, "column": "nope"}, "&#x27;nope&#x27; is not a column of this run"),
        ({}, {"row": 0, "column": "topic"}, "is a category column, not written by a model"),
        ({}, {"row": 99}, "That row is not in this run"),
    ],
)
def test_refusals_are_messages_and_change_nothing(run, editor, change, data, message):
    Run.objects.filter(pk=run.pk).update(**change)
    response = _refused(client_for(editor), run, data)
    assert response.status_code == 200
    assert message.format(run=run.pk) in response.content.decode()
    assert not RowVersion.objects.exists() and not ReviewAction.objects.exists()
    assert not run.rows.filter(status=Row.Status.PENDING).exists()


def test_a_row_still_pending_is_refused(run, editor):
    Row.objects.filter(run=run, index=2).update(status=Row.Status.PENDING)
    html = _refused(client_for(editor), run, {"row": 2}).content.decode()
    assert "Row #2 is still being generated" in html
    api = client_for(editor).post(
        f"/api/rows/{run.rows.get(index=2).pk}/regenerate", "{}", "application/json"
    )
    assert api.status_code == 400 and "still being generated" in api.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"columns": ["nope"]}, 400),
        ({"columns": ["topic"]}, 400),
        ({"columns": []}, 422),
        ({"columns": "question"}, 422),
        ({"columns": ["question"] * 201}, 422),
        ({"columns": ["x" * 201]}, 422),
        ({"columns": [""]}, 422),
    ],
)
def test_bad_api_bodies_are_refused_with_a_reason(run, editor, body, status):
    row = run.rows.get(index=0)
    response = client_for(editor).post(
        f"/api/rows/{row.pk}/regenerate", json.dumps(body), "application/json"
    )
    assert response.status_code == status
    assert response.json()["detail"]
    assert not RowVersion.objects.exists()


def test_the_row_page_asks_then_regenerates_and_goes_back(run, editor, project):
    row = run.rows.get(index=0)
    client = client_for(editor)
    detail = client.get(f"/rows/{row.pk}/").content.decode()
    assert f'href="/rows/{row.pk}/regenerate/"' in detail
    page = client.get(f"/rows/{row.pk}/regenerate/", {"column": "question"}).content.decode()
    assert "<code>question</code>, <code>answer</code>" in page
    response = client.post(f"/rows/{row.pk}/regenerate/", {"column": "question"})
    assert response.status_code == 302 and response["Location"] == f"/rows/{row.pk}/"
    row.refresh_from_db()
    assert row.status == Row.Status.PENDING
    again = client.post(f"/rows/{row.pk}/regenerate/", {"column": "question"})
    assert again.status_code == 400 and f"Run {run.pk} is running" in again.content.decode()
    viewer = type(editor).objects.create_user("viewer", password=PASSWORD)
    project_member_add(project=project, user=viewer, role="viewer")
    assert client_for(viewer).get(f"/rows/{row.pk}/regenerate/").status_code == 403


def test_undo_of_a_decision_made_before_someone_regenerated_the_row_is_refused(
    run, editor, project
):
    reviewer = type(editor).objects.create_user("rev", password=PASSWORD)
    project_member_add(project=project, user=reviewer, role="reviewer")
    row = run.rows.get(index=0)
    row_review_change(row=row, user=reviewer, decision="rejected")
    row_regenerate(row=row, user=editor, columns=["answer"])
    with pytest.raises(ReviewError, match="changed since by someone else"):
        review_undo(run=run, user=reviewer)
    row.refresh_from_db()
    assert (row.review_status, row.reviewed_by) == ("unreviewed", None)
    assert row.versions.get().review_status == "rejected"
    kinds = list(ReviewAction.objects.order_by("pk").values_list("kind", "undone_at"))
    assert kinds == [("reject", None), ("regenerate", None)]
