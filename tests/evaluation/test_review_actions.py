"""Review changes through one service: decisions and edits logged, edits checked against the
column, the original kept, undo walking a user's own actions back."""

from __future__ import annotations

import pytest

from evaluation.models import ReviewAction
from evaluation.review_values import MAX_EDIT_BYTES
from evaluation.services import ReviewError, review_undo, row_review_change
from generation.models import Row
from tests.evaluation.review_world import review_run


@pytest.fixture
def run(project, openai_credential):
    return review_run(project, openai_credential.pk)


def _row(run, index: int = 0) -> Row:
    return run.rows.get(index=index)


@pytest.mark.django_db
def test_a_decision_is_saved_and_logged(run, owner):
    row_review_change(row=_row(run), user=owner, decision="accepted")
    row = _row(run)
    assert row.review_status == "accepted" and row.reviewed_by == owner
    action = ReviewAction.objects.get()
    assert (action.kind, action.user, action.row) == ("accept", owner, row)
    assert action.before["review_status"] == "unreviewed"
    assert action.after["review_status"] == "accepted"


@pytest.mark.django_db
def test_an_edit_keeps_the_original(run, owner):
    row_review_change(row=_row(run), user=owner, edits={"question": "Better question?"})
    row = _row(run)
    assert row.values["question"] == "Question 0?"
    assert row.edited_values["question"] == "Better question?"
    assert row.edited_values["answer"] == row.values["answer"]
    assert row.final_values["question"] == "Better question?"
    assert ReviewAction.objects.get().column == "question"


@pytest.mark.django_db
def test_a_structured_edit_must_follow_the_columns_schema(run, owner):
    with pytest.raises(ReviewError, match="answer: Does not follow the column's JSON schema"):
        row_review_change(row=_row(run), user=owner, edits={"answer": {"confidence": "high"}})
    row_review_change(
        row=_row(run), user=owner, edits={"answer": {"text": "Fine", "confidence": 1}}
    )
    assert _row(run).edited_values["answer"] == {"text": "Fine", "confidence": 1}
    assert ReviewAction.objects.count() == 1


@pytest.mark.django_db
def test_a_refused_edit_saves_nothing(run, owner):
    for edits in ({"question": {"not": "text"}}, {"nope": "x"}, {"question": "x" * MAX_EDIT_BYTES}):
        with pytest.raises(ReviewError):
            row_review_change(row=_row(run), user=owner, edits=edits)
    assert _row(run).edited_values is None
    assert not ReviewAction.objects.exists()


@pytest.mark.django_db
def test_a_nul_character_is_refused_not_a_crash(run, owner):
    with pytest.raises(ReviewError, match="NUL"):
        row_review_change(row=_row(run), user=owner, edits={"question": "a\x00b"})


@pytest.mark.django_db
def test_undo_walks_back_several_steps(run, owner):
    row_review_change(row=_row(run, 0), user=owner, decision="accepted")
    row_review_change(row=_row(run, 1), user=owner, decision="rejected")
    row_review_change(row=_row(run, 1), user=owner, edits={"question": "Edited?"})
    review_undo(run=run, user=owner)
    assert _row(run, 1).edited_values is None
    assert _row(run, 1).review_status == "rejected"
    review_undo(run=run, user=owner)
    assert _row(run, 1).review_status == "unreviewed"
    assert _row(run, 1).reviewed_by is None
    review_undo(run=run, user=owner)
    assert _row(run, 0).review_status == "unreviewed"
    assert ReviewAction.objects.filter(undone_at__isnull=True).count() == 0
    with pytest.raises(ReviewError, match="Nothing of yours to undo"):
        review_undo(run=run, user=owner)


@pytest.mark.django_db
def test_undo_never_touches_another_users_action(run, owner, collaborator):
    row_review_change(row=_row(run, 0), user=collaborator, decision="accepted")
    with pytest.raises(ReviewError, match="Nothing of yours to undo"):
        review_undo(run=run, user=owner)
    assert _row(run, 0).review_status == "accepted"


@pytest.mark.django_db
def test_undo_refuses_to_lose_a_later_change_by_someone_else(run, owner, collaborator):
    row_review_change(row=_row(run, 0), user=owner, decision="accepted")
    row_review_change(row=_row(run, 0), user=collaborator, decision="rejected")
    with pytest.raises(ReviewError, match="changed since by someone else"):
        review_undo(run=run, user=owner)
    assert _row(run, 0).review_status == "rejected"


@pytest.mark.django_db
def test_only_generated_rows_and_known_decisions(run, owner):
    with pytest.raises(ReviewError, match="accepted"):
        row_review_change(row=_row(run), user=owner, decision="maybe")
    with pytest.raises(ReviewError, match="decision, edited values or both"):
        row_review_change(row=_row(run), user=owner)
    Row.objects.filter(pk=_row(run).pk).update(status=Row.Status.FAILED)
    with pytest.raises(ReviewError, match="Only a generated row"):
        row_review_change(row=_row(run), user=owner, decision="accepted")
