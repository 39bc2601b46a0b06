"""Bad input gets a clear 4xx naming the field, from a page and from the API alike, and is not
saved: budgets beyond their column, absurd seeds and row counts, NUL characters, versions and
tokens that are not there, and bearer tokens that are not valid."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from ninja.params.models import BodyModel

from config.api_site import api as ninja_api
from generation.models import Run
from studio.api_input import InputSchema
from studio.models import ApiToken, DatasetSchema, Project
from studio.schema import SchemaError, parse_spec
from studio.services import api_token_create, credential_create, schema_create

SPEC = {"columns": [{"name": "n", "kind": "integer", "low": 1, "high": 9}]}


class Api:
    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", raise_request_exception=False)

    def send(self, method: str, url: str, body: dict[str, Any]) -> Any:
        return getattr(self.client, method)(
            url, data=json.dumps(body), content_type="application/json"
        )


@pytest.fixture
def api(owner) -> Api:
    return Api(api_token_create(user=owner, name="tests")[1])


@pytest.fixture
def schema(project, owner) -> DatasetSchema:
    return schema_create(project=project, user=owner, name="Numbers", data=SPEC)


def _fields_named(response: Any) -> set[str]:
    assert response.status_code == 422, response.content
    return {item["loc"][-1] for item in response.json()["detail"]}


def _flash(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- runs: budgets, seeds, row counts ---------------------------------------------------------

BAD_RUNS = [
    ({"num_rows": 1, "budget_usd": "1e20"}, "budget_usd"),
    ({"num_rows": 1, "budget_usd": "123456789"}, "budget_usd"),
    ({"num_rows": 1, "seed": 10**40}, "seed"),
    ({"num_rows": 1, "seed": -5}, "seed"),
    ({"num_rows": 10**40}, "num_rows"),
    ({"num_rows": -3}, "num_rows"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), BAD_RUNS)
def test_api_refuses_an_absurd_run_naming_the_field(api: Api, schema, body, field) -> None:
    response = api.send("post", f"/api/schemas/{schema.pk}/runs", body)
    assert field in _fields_named(response)
    assert not Run.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form", "label"),
    [
        ({"num_rows": "1", "budget_usd": "123456789012"}, "Budget (USD)"),
        ({"num_rows": "1", "seed": str(10**40)}, "Seed"),
        ({"num_rows": "1", "seed": "-1"}, "Seed"),
        ({"num_rows": "1000000000"}, "Rows"),
    ],
)
def test_run_form_refuses_an_absurd_run_naming_the_field(owner_client, schema, form, label) -> None:
    response = owner_client.post(f"/schemas/{schema.pk}/runs/", form)
    assert response.status_code == 302
    assert any(message.startswith(f"{label}: ") for message in _flash(response))
    assert not Run.objects.exists()
    assert owner_client.get(f"/projects/{schema.project_id}/").status_code == 200


@pytest.mark.django_db
def test_a_budget_beyond_its_column_is_refused_and_the_run_keeps_its_own(
    api: Api, owner_client, schema
) -> None:
    run = api.send("post", f"/api/schemas/{schema.pk}/runs", {"num_rows": 1, "budget_usd": "2.5"})
    assert run.status_code == 201, run.content
    run_id = run.json()["id"]

    response = api.send("put", f"/api/runs/{run_id}/budget", {"budget_usd": "123456789012345"})
    assert _fields_named(response) == {"budget_usd"}
    page = owner_client.post(f"/runs/{run_id}/budget/", {"budget_usd": "123456789012345"})
    assert page.status_code == 302
    assert any(message.startswith("Budget (USD): ") for message in _flash(page))

    assert str(Run.objects.get(pk=run_id).budget_usd) == "2.5000"
    assert api.client.get(f"/api/runs/{run_id}").status_code == 200
    assert owner_client.get(f"/runs/{run_id}/").status_code == 200


@pytest.mark.django_db
def test_the_largest_budget_the_column_holds_is_accepted(api: Api, schema) -> None:
    body = {"num_rows": 1, "budget_usd": "99999999.9999", "seed": 2**63 - 1}
    response = api.send("post", f"/api/schemas/{schema.pk}/runs", body)
    assert response.status_code == 201, response.content
    assert Run.objects.get().seed == 2**63 - 1


# --- NUL characters: refused by the API as by the forms ----------------------------------------


@pytest.mark.django_db
def test_api_refuses_nul_characters_in_a_project(api: Api) -> None:
    response = api.send("post", "/api/projects", {"name": "a\x00b"})
    assert _fields_named(response) == {"name"}
    response = api.send("post", "/api/projects", {"name": "ok", "description": "x\x00"})
    assert _fields_named(response) == {"description"}
    assert not Project.objects.filter(name__in=["ok", "a"]).exists()


@pytest.mark.django_db
def test_api_refuses_nul_characters_in_a_schema_and_names_the_column(api: Api, project) -> None:
    url = f"/api/projects/{project.pk}/schemas"
    assert _fields_named(api.send("post", url, {"name": "a\x00", "spec": SPEC})) == {"name"}
    spec = {"columns": [{"name": "topic", "kind": "category", "values": ["ok", "b\x00d"]}]}
    response = api.send("post", url, {"name": "Topics", "spec": spec})
    assert response.status_code == 422
    assert "spec.columns.0.values.1: text cannot contain NUL" in response.json()["detail"][0]["msg"]
    imported = api.send(
        "post", f"{url}/import", {"text": json.dumps({"name": "x\x00", "columns": SPEC["columns"]})}
    )
    assert imported.status_code == 422
    assert "name: text cannot contain NUL" in imported.json()["detail"]
    assert not project.schemas.exists()


@pytest.mark.django_db
def test_designer_refuses_nul_characters_in_a_column(owner_client, project) -> None:
    response = owner_client.post(
        f"/projects/{project.pk}/schemas/new/",
        {
            "name": "Topics",
            "columns-TOTAL_FORMS": "1",
            "columns-INITIAL_FORMS": "0",
            "columns-0-name": "topic",
            "columns-0-kind": "category",
            "columns-0-values": "ok, b\x00d",
        },
    )
    assert response.status_code == 400
    assert "Null characters are not allowed." in response.content.decode()
    assert not project.schemas.exists()


def test_the_schema_core_names_the_column_holding_a_nul_character() -> None:
    spec = {"columns": [{"name": "topic", "kind": "category", "values": ["ok", "b\x00d"]}]}
    with pytest.raises(SchemaError) as caught:
        parse_spec(spec)
    assert caught.value.messages == [
        "Column 'topic': values.1: text cannot contain NUL characters (\\u0000)"
    ]


@pytest.mark.django_db
def test_every_api_body_refuses_nul_characters_naming_the_place(api: Api, project) -> None:
    response = api.send(
        "post",
        f"/api/projects/{project.pk}/credentials",
        {"name": "local\x00", "provider": "openai_compatible", "base_url": "http://x"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].endswith(
        "name: text cannot contain NUL characters (\\u0000)"
    )
    assert not project.credentials.exists()


@pytest.mark.django_db
def test_designer_refuses_an_escaped_nul_in_a_json_schema_naming_the_column(
    owner_client, project
) -> None:
    simulator = credential_create(project=project, name="sim", provider="simulator")
    response = owner_client.post(
        f"/projects/{project.pk}/schemas/new/",
        {
            "name": "Structured",
            "columns-TOTAL_FORMS": "1",
            "columns-INITIAL_FORMS": "0",
            "columns-0-name": "answer",
            "columns-0-kind": "llm_structured",
            "columns-0-credential": str(simulator.pk),
            "columns-0-model": "simulated",
            "columns-0-template": "Answer",
            "columns-0-json_schema": json.dumps(
                {"type": "object", "properties": {"a\x00": {"type": "string"}}}
            ),
        },
    )
    assert response.status_code == 400
    assert "Column &#x27;answer&#x27;: json_schema.properties: text cannot contain NUL" in (
        response.content.decode()
    )
    assert not project.schemas.exists()


# --- restoring a version that does not exist --------------------------------------------------


@pytest.mark.django_db
def test_restoring_a_version_that_does_not_exist_is_404_and_changes_nothing(
    api: Api, owner_client, schema
) -> None:
    page = owner_client.post(f"/schemas/{schema.pk}/versions/99/restore/")
    assert page.status_code == 404
    response = api.send("post", f"/api/schemas/{schema.pk}/versions/99/restore", {})
    assert response.status_code == 404
    schema.refresh_from_db()
    assert schema.version == 1


# --- tokens -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Bearer dst_not-a-real-token", "Bearer nope", "Bearer "])
def test_a_post_with_an_invalid_token_is_401_not_a_csrf_403(owner, header) -> None:
    client = Client(HTTP_AUTHORIZATION=header, enforce_csrf_checks=True)
    response = client.post("/api/projects", data="{}", content_type="application/json")
    assert response.status_code == 401
    # Even with a session: a request that sends a token is judged by the token alone.
    client.force_login(owner)
    response = client.post(
        "/api/projects", data=json.dumps({"name": "x"}), content_type="application/json"
    )
    assert response.status_code == 401
    assert not Project.objects.filter(name="x").exists()


@pytest.mark.django_db
def test_a_post_with_a_revoked_token_is_401(owner) -> None:
    token, plain = api_token_create(user=owner, name="soon revoked")
    token.delete()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plain}", enforce_csrf_checks=True)
    response = client.post("/api/projects", data="{}", content_type="application/json")
    assert response.status_code == 401


@pytest.mark.django_db
def test_revoking_another_users_token_is_404_and_keeps_it(owner, stranger_client) -> None:
    token, _ = api_token_create(user=owner, name="ci")
    response = stranger_client.post(f"/settings/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert stranger_client.post("/settings/tokens/999999/revoke/").status_code == 404


@pytest.mark.django_db
def test_the_api_revokes_only_the_callers_own_tokens(owner, stranger) -> None:
    theirs, _ = api_token_create(user=owner, name="ci")
    spare, _ = api_token_create(user=stranger, name="spare")
    stranger_api = Api(api_token_create(user=stranger, name="mine")[1])

    assert stranger_api.client.delete(f"/api/tokens/{theirs.pk}").status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()
    listed = stranger_api.client.get("/api/tokens").json()
    assert sorted(t["name"] for t in listed) == ["mine", "spare"]

    assert stranger_api.client.delete(f"/api/tokens/{spare.pk}").status_code == 204
    assert not ApiToken.objects.filter(pk=spare.pk).exists()


def test_every_api_body_is_an_input_schema() -> None:
    """So a new endpoint's body refuses NUL characters like the others (a 500 otherwise)."""
    bodies = {
        f"{method} {path}": field.annotation
        for _, router in ninja_api._routers
        for path, view in router.path_operations.items()
        for operation in view.operations
        for model in operation.signature.models
        if issubclass(model, BodyModel)
        for field in model.model_fields.values()
        for method in operation.methods
    }
    assert len(bodies) >= 12
    assert [where for where, body in bodies.items() if not issubclass(body, InputSchema)] == []
