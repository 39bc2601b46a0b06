"""The quality gate as people use it: the evaluation page's card and confirmation with the
number of rows affected, the API, the roles that may act, and a row's history on its page."""

import json

import pytest
from django.contrib.auth import get_user_model

from evaluation.models import QualityGate
from generation.models import Row
from studio.services import project_member_add
from tests.evaluation.gate_fixtures import drain_gates, gated_run, length_evaluation, script
from tests.fixtures import PASSWORD, client_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scored(worker, gate_schema, owner, llm_server):
    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    return length_evaluation(worker, run, owner)


def _post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def test_the_page_confirms_with_the_count_then_regenerates_and_the_row_shows_its_history(
    scored, owner, worker
):
    client = client_for(owner)
    page = client.get(f"/evaluations/{scored.pk}/").content.decode()
    assert 'id="gate-rows-below">2</strong> rows below the threshold' in page
    confirm = client.get(f"/evaluations/{scored.pk}/gate/regenerate/?max_attempts=1")
    text = confirm.content.decode()
    assert "<strong>2</strong> rows of run" in text and "Regenerate 2 rows" in text
    response = client.post(f"/evaluations/{scored.pk}/gate/regenerate/", {"max_attempts": "1"})
    assert response.status_code == 302
    drain_gates(worker)
    first = scored.run.rows.get(index=0)
    row_page = client.get(f"/rows/{first.pk}/").content.decode()
    assert "History" in row_page and "now attempt 2" in row_page
    assert "Attempt 1" in row_page
    assert "quality gate: long enough below 10 characters" in row_page
    assert "long enough: 2 fail" in row_page
    assert "a long enough answer" in row_page  # the current value, in the raw answer
    page = client.get(f"/evaluations/{scored.pk}/").content.decode()
    assert "1 row still below after 1 round of regeneration" in page


def test_attempts_out_of_range_are_a_form_error_and_a_422(scored, owner):
    client = client_for(owner)
    page = client.post(f"/evaluations/{scored.pk}/gate/regenerate/", {"max_attempts": "9"})
    assert page.status_code == 200
    assert "less than or equal to 5" in page.content.decode()
    for attempts in (0, 6, "many"):
        response = _post(
            client, f"/api/evaluations/{scored.pk}/gate/regenerate", {"max_attempts": attempts}
        )
        assert response.status_code == 422
    assert not QualityGate.objects.exists()


def test_an_evaluation_without_threshold_says_so(worker, gate_schema, owner, llm_server):
    script(llm_server)
    run = gated_run(worker, gate_schema, owner)
    evaluation = length_evaluation(worker, run, owner, settings={"column": "final"})
    client = client_for(owner)
    state = client.get(f"/api/evaluations/{evaluation.pk}/gate").json()
    assert state["threshold"] is None and "has no threshold" in state["problem"]
    response = _post(client, f"/api/evaluations/{evaluation.pk}/gate/reject", {})
    assert response.status_code == 400
    assert "has no threshold" in response.json()["detail"]
    page = client.post(f"/evaluations/{evaluation.pk}/gate/reject/")
    assert "has no threshold" in page.content.decode()
    assert not run.rows.filter(review_status=Row.Review.REJECTED).exists()


def test_reject_below_through_the_api_is_for_owners_and_editors_only(scored, owner, project):
    users = {}
    for role in ("reviewer", "viewer"):
        users[role] = get_user_model().objects.create_user(role, password=PASSWORD)
        project_member_add(project=project, user=users[role], role=role)
    users["stranger"] = get_user_model().objects.create_user("nobody", password=PASSWORD)
    url = f"/api/evaluations/{scored.pk}/gate/reject"
    for role, status in (("reviewer", 403), ("viewer", 403), ("stranger", 404)):
        assert _post(client_for(users[role]), url, {}).status_code == status, role
        assert client_for(users[role]).post(
            f"/evaluations/{scored.pk}/gate/reject/"
        ).status_code == (status), role
    assert not scored.run.rows.filter(review_status=Row.Review.REJECTED).exists()

    state = client_for(owner).get(f"/api/evaluations/{scored.pk}/gate").json()
    assert (state["rows_below"], state["threshold"]) == (2, "10 characters")
    response = _post(client_for(owner), url, {})
    assert response.status_code == 200
    assert response.json()["message"].startswith("Rejected 2 rows")
    rejected = scored.run.rows.filter(review_status=Row.Review.REJECTED)
    assert sorted(rejected.values_list("index", flat=True)) == [0, 2]


def test_regenerate_below_through_the_api(scored, owner, worker):
    response = _post(
        client_for(owner), f"/api/evaluations/{scored.pk}/gate/regenerate", {"max_attempts": 2}
    )
    assert response.status_code == 202
    drain_gates(worker)
    state = client_for(owner).get(f"/api/evaluations/{scored.pk}/gate").json()
    [gate] = state["gates"]
    assert (gate["status"], gate["round"], state["rows_below"]) == ("done", 2, 1)


def test_the_run_form_sets_a_gate_and_refuses_a_bad_one(gate_schema, owner, worker, llm_server):
    script(llm_server)
    client = client_for(owner)
    form = client.get(f"/schemas/{gate_schema.pk}/").content.decode()
    assert '<option value="length">Length</option>' in form
    base = {"num_rows": "3", "gate_kind": "length", "gate_max_attempts": "1"}
    bad = client.post(
        f"/schemas/{gate_schema.pk}/runs/",
        base | {"gate_settings": '{"column": "final"}'},
        follow=True,
    )
    assert "its settings need a threshold" in bad.content.decode()
    assert not gate_schema.runs.exists()
    response = _post(
        client,
        f"/api/schemas/{gate_schema.pk}/runs",
        {"num_rows": 3, "gate": {"kind": "length", "settings": {"column": "final"}}},
    )
    assert response.status_code == 400 and "threshold" in response.json()["detail"]
    started = client.post(
        f"/schemas/{gate_schema.pk}/runs/",
        base | {"gate_settings": json.dumps({"column": "final", "min_length": 10})},
    )
    assert started.status_code == 302
    drain_gates(worker)
    run = gate_schema.runs.get()
    run_page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Quality gate: a length evaluation scores the rows when the run ends" in run_page
    [gate] = QualityGate.objects.filter(evaluation__run=run)
    assert gate.from_run and gate.status == "done" and gate.round == 1
    assert run.rows.get(index=0).versions.count() == 1
