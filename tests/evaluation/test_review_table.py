"""The review table's page: filters in the URL, count, page sizes, bad parameters, roles; bulk
review of a selection, of a filter and of the rows below a score, within the snapshot the
reviewer confirmed; undo of a bulk review; the quality gate's rejection logged and undoable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from evaluation.gate.services import gate_reject
from evaluation.models import ReviewAction
from evaluation.services import review_undo
from generation.models import Row
from tests.fixtures import client_for


def _url(run, tail=""):
    return f"/runs/{run.pk}/review/table/{tail}"


def _shown(response) -> list[int]:
    return [row.index for row in response.context["page"].rows]


def _review(run) -> dict[int, str]:
    return dict(run.rows.values_list("index", "review_status"))


@pytest.mark.django_db
def test_the_filter_in_the_url_is_applied_counted_and_kept(world, reviewer):
    run, judge, _ = world
    query = {f"s{judge.pk}_min": "0.3", "column": "topic", "value": "oceans", "sort": "-index"}
    response = client_for(reviewer).get(_url(run), query)
    assert response.status_code == 200
    assert _shown(response) == [11, 9, 7, 5, 3]
    html = response.content.decode()
    assert "<strong>5</strong> rows match" in html
    assert 'value="oceans"' in html and '<option value="-index" selected>' in html
    assert f"s{judge.pk}_min%3D0.3" in html.split("tq=")[1]  # the focus mode link has it
    assert f'name="s{judge.pk}_min" value="0.3"' in html  # the bulk form too


@pytest.mark.django_db
def test_page_sizes_and_keyset_pages(world, reviewer):
    run = world[0]
    Row.objects.bulk_create(
        Row(run=run, index=index, status=Row.Status.GENERATED, values={"topic": "space"})
        for index in range(12, 60)
    )
    client = client_for(reviewer)
    first = client.get(_url(run), {"size": "25"})
    assert len(_shown(first)) == 25 and first.context["page"].count == 60
    second = client.get(first.context["next_url"])
    assert _shown(second) == list(range(25, 50))
    assert "size=25" in first.context["next_url"]
    assert len(_shown(client.get(_url(run), {"size": "100"}))) == 60
    assert len(_shown(client.get(_url(run)))) == 50


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query, message",
    [
        ({"size": "7"}, "Select a valid choice"),
        ({"sort": "score:999"}, "Select a valid choice"),
        ({"status": "lost"}, "Select a valid choice"),
        ({"sMIN_min": "lots"}, "Enter a number"),
        ({"sMIN_min": "0.9", "sMIN_max": "0.1"}, "is above the highest"),
        ({"sMIN_max": "inf"}, "Enter a number"),
        ({"q": "x" * 201}, "at most 200 characters"),
        ({"value": "space"}, "Pick the column"),
        ({"after": "garbage", "sort": "time"}, "That page link is broken"),
        ({"after": "1", "before": "2"}, "not both"),
    ],
)
def test_bad_parameters_are_explained(world, reviewer, query, message):
    run, judge, _ = world
    query = {key.replace("MIN", str(judge.pk)): value for key, value in query.items()}
    response = client_for(reviewer).get(_url(run), query)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.django_db
def test_a_page_is_a_bounded_number_of_queries(world, reviewer, django_assert_max_num_queries):
    run, judge, _ = world
    client = client_for(reviewer)
    client.get(_url(run))  # sessions, caches
    query = {f"s{judge.pk}_max": "0.9", "q": "?", "sort": f"-score:{judge.pk}", "size": "25"}
    with django_assert_max_num_queries(12):
        response = client.get(_url(run), query)
    assert response.status_code == 200 and _shown(response) == list(range(9, 0, -1))


@pytest.mark.django_db
def test_roles(world, viewer, stranger, reviewer):
    run = world[0]
    page = client_for(viewer).get(_url(run))
    assert page.status_code == 200 and "Reject all" not in page.content.decode()
    assert "Reject all 12" in client_for(reviewer).get(_url(run)).content.decode()
    post = {"bulk": "rejected:filter"}
    assert client_for(viewer).post(_url(run, "bulk/"), post).status_code == 403
    assert client_for(stranger).get(_url(run)).status_code == 404
    assert client_for(stranger).post(_url(run, "bulk/"), post).status_code == 404
    assert client_for(viewer).post(_url(run, "undo/")).status_code == 403
    assert set(_review(run).values()) == {"unreviewed"}


def _confirm_and_apply(client, run, data):
    confirm = client.post(_url(run, "bulk/"), data)
    assert confirm.status_code == 200
    decision, _, scope = data.pop("bulk").partition(":")
    data |= {"decision": decision, "scope": scope, "bound": confirm.context["bound"]}
    return confirm, data


@pytest.mark.django_db
def test_bulk_reject_of_a_selection(world, reviewer):
    run = world[0]
    ids = list(run.rows.filter(index__in=[1, 4]).values_list("pk", flat=True))
    client = client_for(reviewer)
    confirm, data = _confirm_and_apply(client, run, {"bulk": "rejected:selected", "row": ids})
    assert confirm.context["count"] == 2
    assert "Reject 2 rows" in confirm.content.decode()
    client.post(_url(run, "bulk/"), data)
    assert [i for i, review in _review(run).items() if review == "rejected"] == [1, 4]
    actions = ReviewAction.objects.filter(run=run)
    assert actions.count() == 2 and len({a.batch for a in actions}) == 1
    assert {a.user for a in actions} == {reviewer}


@pytest.mark.django_db
def test_bulk_by_filter_acts_only_on_the_snapshot_confirmed(world, reviewer, owner):
    """Rows that finish, appear or are reviewed by someone else after the confirmation was
    shown are left alone, though they match the filter by then."""
    run, judge, _ = world
    run.rows.filter(index=11).update(status=Row.Status.PENDING, finished_at=None)
    client = client_for(reviewer)
    below = {f"s{judge.pk}_max": "0.35", "bulk": "rejected:filter"}
    confirm, data = _confirm_and_apply(client, run, below | {"sort": "time"})
    assert confirm.context["count"] == 4  # rows 0-3
    later = timezone.now() + timedelta(seconds=1)
    run.rows.filter(index=11).update(status=Row.Status.GENERATED, finished_at=later)
    judge.scores.filter(row__index=11).update(value=0.1)  # now below, finished after
    new = Row.objects.create(run=run, index=12, status=Row.Status.GENERATED, finished_at=later)
    judge.scores.create(row=new, value=0.0)
    run.rows.filter(index=2).update(review_status="accepted", reviewed_by=owner, reviewed_at=later)
    response = client.post(_url(run, "bulk/"), data)
    assert response.status_code == 302
    review = _review(run)
    assert [i for i, r in review.items() if r == "rejected"] == [0, 1, 3]
    assert review[2] == "accepted" and review[11] == review[12] == "unreviewed"
    assert ReviewAction.objects.filter(run=run).count() == 3


@pytest.mark.django_db
def test_undo_of_a_bulk_review_puts_every_row_back(world, reviewer, owner):
    run = world[0]
    run.rows.filter(index=5).update(review_status="accepted", reviewed_by=owner)
    client = client_for(reviewer)
    _, data = _confirm_and_apply(
        client, run, {"bulk": "rejected:filter", "column": "topic", "value": "oceans"}
    )
    client.post(_url(run, "bulk/"), data)
    assert [i for i, r in _review(run).items() if r == "rejected"] == [1, 3, 5, 7, 9, 11]
    response = client.post(_url(run, "undo/"), {"column": "topic", "value": "oceans"}, follow=True)
    assert "Undone: 6 rows put back" in response.content.decode()
    review = _review(run)
    assert review[5] == "accepted" and run.rows.get(index=5).reviewed_by == owner
    assert {review[i] for i in (1, 3, 7, 9, 11)} == {"unreviewed"}
    assert not ReviewAction.objects.filter(run=run, undone_at=None).exists()


@pytest.mark.django_db
def test_undo_keeps_a_row_someone_changed_since(world, reviewer, owner):
    run = world[0]
    client = client_for(reviewer)
    ids = list(run.rows.filter(index__in=[0, 1]).values_list("pk", flat=True))
    _, data = _confirm_and_apply(client, run, {"bulk": "accepted:selected", "row": ids})
    client.post(_url(run, "bulk/"), data)
    run.rows.filter(index=1).update(review_status="rejected", reviewed_by=owner)
    action = review_undo(run=run, user=reviewer)
    assert (action.restored, action.kept) == (1, 1)
    assert _review(run)[0] == "unreviewed" and _review(run)[1] == "rejected"


@pytest.mark.django_db
def test_bulk_on_nothing_says_so(world, reviewer):
    run = world[0]
    client = client_for(reviewer)
    confirm, data = _confirm_and_apply(client, run, {"bulk": "rejected:filter", "q": "nowhere"})
    assert "No rows match" in confirm.content.decode()
    response = client.post(_url(run, "bulk/"), data, follow=True)
    assert "No rows match: nothing was changed" in response.content.decode()
    confirm = client.post(_url(run, "bulk/"), {"bulk": "rejected:selected"})
    assert "tick some rows first" in confirm.content.decode()
    broken = client.post(_url(run, "bulk/"), data | {"bound": "forged"}, follow=True)
    assert "The confirmation is broken" in broken.content.decode()


@pytest.mark.django_db
def test_the_gates_rejection_is_logged_and_undoable(world, owner):
    run, judge, _ = world
    gate = gate_reject(evaluation=judge, user=owner)
    assert gate.rows_below == 5
    assert [i for i, r in _review(run).items() if r == "rejected"] == [0, 1, 2, 3, 4]
    actions = ReviewAction.objects.filter(run=run)
    assert actions.count() == 5 and len({a.batch for a in actions}) == 1
    review_undo(run=run, user=owner)
    assert set(_review(run).values()) == {"unreviewed"}
