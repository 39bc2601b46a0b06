"""The review table through the API (the page's filters, keyset pages, bulk review within a
bound, undo) and focus mode walking the table's filter and order."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from evaluation.models import ReviewAction
from generation.models import Row
from tests.fixtures import client_for


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.mark.django_db
def test_api_pages_with_the_tables_filters(world, viewer):
    run, judge, _ = world
    client = client_for(viewer)
    url = f"/api/runs/{run.pk}/review/table"
    first = client.get(url, {f"s{judge.pk}_pass": "pass", "size": "25", "sort": "-time"}).json()
    assert first["count"] == 7 and [r["index"] for r in first["items"]] == list(range(11, 4, -1))
    assert first["next"] == "" and first["bound"]
    page = client.get(url, {"column": "topic", "value": "space", "size": "25"}).json()
    assert [r["index"] for r in page["items"]] == [0, 2, 4, 6, 8, 10]
    for bad in ({"size": "1000"}, {f"s{judge.pk}_min": "x"}, {"after": "x", "sort": "time"}):
        response = client.get(url, bad)
        assert response.status_code == 422 and response.json()["detail"]


@pytest.mark.django_db
def test_api_bulk_by_filter_within_the_bound_then_undo(world, reviewer):
    run, judge, _ = world
    client = client_for(reviewer)
    query = {f"s{judge.pk}_max": "0.2"}
    bound = client.get(f"/api/runs/{run.pk}/review/table?{urlencode(query)}").json()["bound"]
    Row.objects.create(
        run=run, index=12, status=Row.Status.GENERATED, finished_at=timezone.now() + timedelta(1)
    ).scores.create(evaluation=judge, value=0.0)
    body = {"decision": "rejected", "filter": query, "bound": bound}
    response = _post(client, f"/api/runs/{run.pk}/review/bulk", body)
    assert response.status_code == 200 and response.json()["count"] == 3
    assert list(run.rows.filter(review_status="rejected").values_list("index", flat=True)) == [
        0,
        1,
        2,
    ]
    assert client.post(f"/api/runs/{run.pk}/review/undo").status_code == 200
    assert not run.rows.exclude(review_status="unreviewed").exists()


@pytest.mark.django_db
def test_api_bulk_of_listed_rows_and_refusals(world, reviewer, viewer):
    run = world[0]
    client = client_for(reviewer)
    url = f"/api/runs/{run.pk}/review/bulk"
    ids = list(run.rows.filter(index__in=[3, 5]).values_list("pk", flat=True))
    response = _post(client, url, {"decision": "accepted", "row_ids": ids})
    assert response.json()["count"] == 2
    assert ReviewAction.objects.filter(batch=response.json()["batch"]).count() == 2
    empty = _post(client, url, {"decision": "accepted", "filter": {"q": "no such text"}})
    assert (
        empty.status_code == 400 and empty.json()["detail"] == "No rows match: nothing was changed"
    )
    bad = _post(client, url, {"decision": "maybe"})
    assert bad.status_code == 422
    forged = _post(client, url, {"decision": "accepted", "bound": "forged"})
    assert forged.status_code == 400 and "confirmation is broken" in forged.json()["detail"]
    wrong = _post(client, url, {"decision": "accepted", "filter": {"sort": "nope"}})
    assert wrong.status_code == 422
    assert _post(client_for(viewer), url, {"decision": "accepted"}).status_code == 403


@pytest.mark.django_db
def test_focus_mode_walks_the_tables_filter_and_order(world, reviewer):
    run, judge, _ = world
    client = client_for(reviewer)
    table = {f"s{judge.pk}_max": "0.6", "column": "topic", "value": "space", "sort": "-index"}
    page = client.get(f"/runs/{run.pk}/review/table/", table).content.decode()
    assert "review=table&amp;tq=" in page
    focus = f"/runs/{run.pk}/review/"
    tq = urlencode(table)
    response = client.get(focus, {"review": "table", "tq": tq})
    assert response.context["row"].index == 6  # 6, 4, 2, 0: space rows up to 0.6, last first
    assert (response.context["previous"], response.context["following"]) == (None, 4)
    assert response.context["left"] == 4
    decided = client.post(
        f"{focus}decide/", {"review": "table", "tq": tq, "row": "6", "decision": "accepted"}
    )
    assert decided.status_code == 302 and "row=4" in decided.url and "tq=" in decided.url
    response = client.get(decided.url)
    assert (response.context["previous"], response.context["following"]) == (6, 2)
    broken = client.get(focus, {"review": "table", "tq": "sort=nope"})
    assert broken.status_code == 200 and broken.context["row"].index == 0


@pytest.mark.django_db
def test_focus_modes_undo_undoes_a_whole_bulk_review(world, reviewer):
    run = world[0]
    client = client_for(reviewer)
    body = {"decision": "accepted", "filter": {"column": "topic", "value": "space"}}
    assert _post(client, f"/api/runs/{run.pk}/review/bulk", body).json()["count"] == 6
    response = client.post(f"/runs/{run.pk}/review/undo/", {"review": "all"})
    assert response.status_code == 302
    assert not run.rows.exclude(review_status="unreviewed").exists()
    page = client.get(f"/runs/{run.pk}/review/", {"review": "all"}).content.decode()
    assert "in a bulk review" in page
