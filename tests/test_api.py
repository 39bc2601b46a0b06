"""The REST API end to end with a personal token: project, credential, schema, run, rows,
review and export, as a script or CI job would use it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.test import Client

from generation.models import Row, Run
from studio.models import ApiToken, ProviderCredential
from studio.services import api_token_create, api_token_delete, credential_api_key
from tests.fixtures import drain, qa_spec

PROVIDER_KEY = "sk-api-secret-provider-key-9876"


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    """The cast's passwords are hashed once per test; the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Api:
    """A ``django.test.Client`` that sends a bearer token and speaks JSON."""

    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, url: str, **params: Any) -> Any:
        return self.client.get(url, params)

    def send(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        return getattr(self.client, method)(
            url, data=json.dumps(body or {}), content_type="application/json"
        )

    def post(self, url: str, body: dict[str, Any] | None = None) -> Any:
        return self.send("post", url, body)


@pytest.fixture
def api(owner) -> Api:
    _, token = api_token_create(user=owner, name="tests")
    return Api(token)


def create_project(api: Api) -> int:
    response = api.post("/api/projects", {"name": "Via API", "description": "made by a script"})
    assert response.status_code == 201, response.content
    assert response.json()["name"] == "Via API"
    return response.json()["id"]


def create_credential(api: Api, project_id: int, base_url: str) -> int:
    response = api.post(
        f"/api/projects/{project_id}/credentials",
        {
            "name": "local vllm",
            "provider": "openai_compatible",
            "base_url": base_url,
            "api_key": PROVIDER_KEY,
            "requests_per_minute": 6000,
        },
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --------------------------------------------------------------------------------------------
# Projects, credentials and schemas
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_created_project_is_listed_and_readable(api: Api, owner) -> None:
    project_id = create_project(api)
    assert [p["id"] for p in api.get("/api/projects").json()] == [project_id]
    response = api.get(f"/api/projects/{project_id}")
    assert response.status_code == 200
    assert response.json()["description"] == "made by a script"


@pytest.mark.django_db
def test_credential_key_is_write_only_and_stored_encrypted(api: Api) -> None:
    project_id = create_project(api)
    response = api.post(
        f"/api/projects/{project_id}/credentials",
        {
            "name": "local vllm",
            "provider": "openai_compatible",
            "base_url": "http://127.0.0.1:9/v1",
            "api_key": PROVIDER_KEY,
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["key_last4"] == "9876"
    assert "api_key" not in body
    assert "api_key_encrypted" not in body
    assert PROVIDER_KEY not in response.content.decode()

    listed = api.get(f"/api/projects/{project_id}/credentials")
    assert [c["key_last4"] for c in listed.json()] == ["9876"]
    assert PROVIDER_KEY not in listed.content.decode()

    stored = ProviderCredential.objects.get(pk=body["id"])
    assert stored.api_key_encrypted
    assert PROVIDER_KEY not in stored.api_key_encrypted
    assert credential_api_key(credential=stored) == PROVIDER_KEY


@pytest.mark.django_db
def test_credential_key_can_be_replaced_but_not_read(api: Api) -> None:
    project_id = create_project(api)
    credential_id = create_credential(api, project_id, "http://127.0.0.1:9/v1")
    response = api.send(
        "patch", f"/api/credentials/{credential_id}", {"api_key": "sk-replacement-key-1111"}
    )
    assert response.status_code == 200
    assert response.json()["key_last4"] == "1111"
    assert "sk-replacement" not in response.content.decode()
    stored = ProviderCredential.objects.get(pk=credential_id)
    assert credential_api_key(credential=stored) == "sk-replacement-key-1111"
    assert stored.base_url == "http://127.0.0.1:9/v1"


@pytest.mark.django_db
def test_duplicate_credential_name_is_refused_with_422(api: Api) -> None:
    project_id = create_project(api)
    create_credential(api, project_id, "http://127.0.0.1:9/v1")
    response = api.post(
        f"/api/projects/{project_id}/credentials",
        {"name": "local vllm", "provider": "simulator"},
    )
    assert response.status_code == 422
    assert "local vllm" in response.json()["detail"]


@pytest.mark.django_db
def test_schema_is_created_read_and_updated(api: Api) -> None:
    project_id = create_project(api)
    credential_id = create_credential(api, project_id, "http://127.0.0.1:9/v1")
    response = api.post(
        f"/api/projects/{project_id}/schemas", {"name": "QA", "spec": qa_spec(credential_id)}
    )
    assert response.status_code == 201, response.content
    schema = response.json()
    assert (schema["project_id"], schema["name"], schema["version"]) == (project_id, "QA", 1)
    assert [c["name"] for c in schema["spec"]["columns"]] == ["topic", "question"]

    assert api.get(f"/api/schemas/{schema['id']}").json()["spec"] == schema["spec"]
    assert [s["id"] for s in api.get(f"/api/projects/{project_id}/schemas").json()] == [
        schema["id"]
    ]

    spec = qa_spec(credential_id)
    spec["columns"][0]["values"] = ["deserts"]
    updated = api.send(
        "put", f"/api/schemas/{schema['id']}", {"name": "QA v2", "spec": spec}
    ).json()
    assert (updated["name"], updated["version"]) == ("QA v2", 2)
    assert updated["spec"]["columns"][0]["values"] == ["deserts"]


@pytest.mark.django_db
def test_schema_naming_an_unknown_column_is_refused_with_422(api: Api) -> None:
    project_id = create_project(api)
    credential_id = create_credential(api, project_id, "http://127.0.0.1:9/v1")
    spec = qa_spec(credential_id)
    spec["columns"][1]["prompt"] = "Write a question about {{ topc }}"
    response = api.post(f"/api/projects/{project_id}/schemas", {"name": "QA", "spec": spec})
    assert response.status_code == 422
    body = response.json()
    assert "topc" in body["detail"]
    assert any("topc" in message for message in body["messages"])
    assert api.get(f"/api/projects/{project_id}/schemas").json() == []


@pytest.mark.django_db
def test_schema_with_a_credential_of_another_project_is_refused(
    api: Api, openai_credential
) -> None:
    project_id = create_project(api)
    response = api.post(
        f"/api/projects/{project_id}/schemas",
        {"name": "QA", "spec": qa_spec(openai_credential.pk)},
    )
    assert response.status_code == 422
    assert "question" in response.json()["detail"]


@pytest.mark.django_db
def test_validate_returns_generation_levels_or_messages(api: Api) -> None:
    project_id = create_project(api)
    credential_id = create_credential(api, project_id, "http://127.0.0.1:9/v1")
    url = f"/api/projects/{project_id}/schemas/validate"

    good = api.post(url, {"spec": qa_spec(credential_id)})
    assert good.status_code == 200
    assert good.json() == {"valid": True, "messages": [], "levels": [["topic"], ["question"]]}

    spec = qa_spec(credential_id)
    spec["columns"][1]["prompt"] = "About {{ topc }}"
    bad = api.post(url, {"spec": spec})
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert bad.json()["levels"] == []
    assert any("topc" in message for message in bad.json()["messages"])


# --------------------------------------------------------------------------------------------
# A run, end to end
# --------------------------------------------------------------------------------------------


def test_run_rows_review_and_export_end_to_end(api: Api, worker, llm_server) -> None:
    llm_server.valid_keys = {PROVIDER_KEY}  # the worker must use the decrypted key
    project_id = create_project(api)
    credential_id = create_credential(api, project_id, llm_server.openai_base_url)
    schema_id = api.post(
        f"/api/projects/{project_id}/schemas", {"name": "QA", "spec": qa_spec(credential_id)}
    ).json()["id"]

    started = api.post(f"/api/schemas/{schema_id}/runs", {"num_rows": 5, "seed": 42})
    assert started.status_code == 201, started.content
    run_id = started.json()["id"]
    assert started.json()["num_rows"] == 5
    assert started.json()["seed"] == 42
    drain(worker)

    run = api.get(f"/api/runs/{run_id}").json()
    assert run["status"] == Run.Status.FINISHED
    assert run["counters"]["generated"] == 5
    assert run["counters"]["failed"] == 0
    assert run["counters"]["output_tokens"] > 0
    assert [r["id"] for r in api.get(f"/api/projects/{project_id}/runs").json()] == [run_id]
    assert len(llm_server.generation_requests()) == 5

    first = api.get(f"/api/runs/{run_id}/rows", status="generated", page_size=2).json()
    assert (first["count"], first["page"], first["pages"]) == (5, 1, 3)
    assert [row["index"] for row in first["items"]] == [0, 1]
    last = api.get(f"/api/runs/{run_id}/rows", status="generated", page_size=2, page=3).json()
    assert [row["index"] for row in last["items"]] == [4]
    assert api.get(f"/api/runs/{run_id}/rows", status="failed").json()["count"] == 0
    for row in first["items"]:
        assert row["status"] == "generated"
        assert row["review_status"] == "unreviewed"
        assert row["values"]["topic"] in {"space", "oceans", "volcanoes"}
        assert row["values"]["question"].startswith("Simulated answer to: Write a question")

    accepted_row, rejected_row = first["items"]
    reviewed = api.post(f"/api/rows/{accepted_row['id']}/review", {"decision": "accepted"})
    assert reviewed.status_code == 200
    assert reviewed.json()["review_status"] == "accepted"
    assert Row.objects.get(pk=accepted_row["id"]).reviewed_by is not None
    api.post(f"/api/rows/{rejected_row['id']}/review", {"decision": "rejected"})
    assert (
        api.post(f"/api/rows/{accepted_row['id']}/review", {"decision": "maybe"}).status_code == 422
    )

    accepted = api.get(f"/api/runs/{run_id}/rows", review="accepted").json()
    assert [row["id"] for row in accepted["items"]] == [accepted_row["id"]]

    export = api.get(f"/api/runs/{run_id}/export.jsonl")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/x-ndjson")
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert [json.loads(line) for line in lines] == [accepted_row["values"]]

    everything = api.get(f"/api/runs/{run_id}/export.jsonl", rows="all")
    assert len(b"".join(everything.streaming_content).decode().splitlines()) == 5


def test_run_can_be_cancelled_through_the_api(api: Api, worker, llm_server) -> None:
    project_id = create_project(api)
    credential_id = create_credential(api, project_id, llm_server.openai_base_url)
    schema_id = api.post(
        f"/api/projects/{project_id}/schemas", {"name": "QA", "spec": qa_spec(credential_id)}
    ).json()["id"]
    run_id = api.post(f"/api/schemas/{schema_id}/runs", {"num_rows": 3}).json()["id"]
    drain(worker)
    # A finished run stays finished; cancel only stops active runs, resume only paused ones.
    assert api.post(f"/api/runs/{run_id}/cancel").json()["status"] == Run.Status.FINISHED
    resumed = api.post(f"/api/runs/{run_id}/resume")
    assert resumed.status_code == 400
    assert "paused" in resumed.json()["detail"]
    assert api.post(f"/api/runs/{run_id}/retry-failed").json()["status"] == Run.Status.FINISHED


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unknown_token_gets_401(project) -> None:
    for token in ["dst_not-a-real-token", "not-even-the-prefix", ""]:
        response = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/projects")
        assert response.status_code == 401, token


@pytest.mark.django_db
def test_revoked_token_gets_401(owner, project) -> None:
    token, plain = api_token_create(user=owner, name="soon revoked")
    api = Api(plain)
    assert api.get(f"/api/projects/{project.pk}").status_code == 200
    api_token_delete(user=owner, token_id=token.pk)
    assert api.get(f"/api/projects/{project.pk}").status_code == 401
    assert api.post("/api/projects", {"name": "after revocation"}).status_code == 401


@pytest.mark.django_db
def test_token_of_an_inactive_user_gets_401(owner) -> None:
    _, plain = api_token_create(user=owner, name="ci")
    owner.is_active = False
    owner.save()
    assert Api(plain).get("/api/projects").status_code == 401


@pytest.mark.django_db
def test_token_use_is_recorded(owner) -> None:
    token, plain = api_token_create(user=owner, name="ci")
    assert token.last_used_at is None
    Api(plain).get("/api/projects")
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.django_db
def test_token_page_shows_a_new_token_once_and_keeps_only_its_hash(
    owner_client: Client, owner
) -> None:
    response = owner_client.post("/settings/tokens/", {"name": "CI pipeline"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=owner)
    plain = response.context["created_plain"]
    assert plain.startswith("dst_")
    assert plain in response.content.decode()
    assert token.name == "CI pipeline"
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert token.prefix == plain[:10]
    stored = [str(value) for value in ApiToken.objects.filter(pk=token.pk).values().get().values()]
    assert plain not in stored

    again = owner_client.get("/settings/tokens/")
    assert plain not in again.content.decode()
    assert "CI pipeline" in again.content.decode()
    assert Api(plain).get("/api/projects").status_code == 200

    revoked = owner_client.post(f"/settings/tokens/{token.pk}/revoke/")
    assert revoked.status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert Api(plain).get("/api/projects").status_code == 401


@pytest.mark.django_db
def test_user_cannot_revoke_another_users_token(owner, stranger_client: Client) -> None:
    token, plain = api_token_create(user=owner, name="ci")
    stranger_client.post(f"/settings/tokens/{token.pk}/revoke/")
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert Api(plain).get("/api/projects").status_code == 200


# --------------------------------------------------------------------------------------------
# Documentation
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_openapi_schema_lists_the_endpoints(owner_client: Client) -> None:
    response = owner_client.get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/api/projects": {"get", "post"},
        "/api/projects/{project_id}": {"get"},
        "/api/projects/{project_id}/credentials": {"get", "post"},
        "/api/credentials/{credential_id}": {"patch"},
        "/api/projects/{project_id}/schemas": {"get", "post"},
        "/api/projects/{project_id}/schemas/validate": {"post"},
        "/api/projects/{project_id}/preview": {"post"},
        "/api/schemas/{schema_id}": {"get", "put"},
        "/api/schemas/{schema_id}/runs": {"post"},
        "/api/projects/{project_id}/runs": {"get"},
        "/api/runs/{run_id}": {"get"},
        "/api/runs/{run_id}/pause": {"post"},
        "/api/runs/{run_id}/resume": {"post"},
        "/api/runs/{run_id}/cancel": {"post"},
        "/api/runs/{run_id}/retry-failed": {"post"},
        "/api/runs/{run_id}/rows": {"get"},
        "/api/rows/{row_id}/review": {"post"},
        "/api/runs/{run_id}/export.jsonl": {"get"},
        "/api/runs/{run_id}/hub-pushes": {"post"},
        "/api/hub-pushes/{export_id}": {"get"},
    }
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), path
    assert "bearer" in json.dumps(response.json()["components"]["securitySchemes"]).lower()


@pytest.mark.django_db
def test_api_docs_page_renders(owner_client: Client) -> None:
    response = owner_client.get("/api/docs")
    assert response.status_code == 200
    assert "openapi.json" in response.content.decode()


@pytest.mark.django_db
def test_a_run_shows_its_budget_spend_and_what_calls_in_flight_hold(api: Api, owner) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from generation.models import BudgetHold

    project_id = create_project(api)
    run = Run.objects.create(
        project_id=project_id,
        schema_name="QA",
        spec_snapshot={"columns": [{"name": "t", "kind": "category", "values": ["a"]}]},
        seed=1,
        num_rows=1,
        status=Run.Status.RUNNING,
        budget_usd=Decimal("1"),
        spent_usd=Decimal("0.25"),
    )
    BudgetHold.objects.create(
        run=run, amount_usd=Decimal("0.125"), expires_at=timezone.now() + timedelta(minutes=5)
    )
    body = api.get(f"/api/runs/{run.pk}").json()
    assert (body["budget_usd"], body["spent_usd"], body["held_usd"]) == (
        "1.0000",
        "0.250000",
        "0.125000",
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.PAUSED)  # nothing in flight now
    assert api.get(f"/api/runs/{run.pk}").json()["held_usd"] == "0"
