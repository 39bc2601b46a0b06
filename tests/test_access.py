"""Access control: a project and everything in it is visible to its members only.

A stranger (a signed-in user who is not a member) gets 404 for every page, API endpoint and
websocket of someone else's project, so ids reveal nothing; a collaborator sees the pages; an
anonymous visitor is sent to the login page, or gets 401 from the API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import get_resolver

from evaluation.models import HubExport
from generation.models import Row, Run
from studio.models import DatasetSchema, Project, ProviderCredential
from studio.services import api_token_create
from tests.fixtures import client_for


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:  # noqa: ANN001
    """The cast's passwords are hashed once per test; the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    """The owner's project with one of everything in it."""

    project: Project
    credential: ProviderCredential
    schema: DatasetSchema
    run: Run
    row: Row
    export: HubExport

    def ids(self) -> dict[str, int]:
        return {
            "project": self.project.pk,
            "credential": self.credential.pk,
            "schema": self.schema.pk,
            "run": self.run.pk,
            "row": self.row.pk,
            "export": self.export.pk,
        }


def make_world(project: Project, schema: DatasetSchema, credential: ProviderCredential) -> World:
    """A finished run with generated rows, made directly so nothing is generated or queued."""
    run = Run.objects.create(
        project=project,
        schema=schema,
        schema_name=schema.name,
        schema_version=schema.version,
        spec_snapshot=schema.spec,
        seed=7,
        num_rows=2,
        status=Run.Status.FINISHED,
        created_by=project.owner,
    )
    rows = [
        Row.objects.create(
            run=run,
            index=index,
            status=Row.Status.GENERATED,
            values={"topic": "space", "question": f"Question {index}?"},
            review_status=Row.Review.ACCEPTED,
        )
        for index in range(2)
    ]
    export = HubExport.objects.create(run=run, repo_id="owner/trivia", created_by=project.owner)
    return World(project, credential, schema, run, rows[0], export)


@pytest.fixture
def world(project, qa_schema, openai_credential) -> World:  # noqa: ANN001
    return make_world(project, qa_schema, openai_credential)


def preview_form(credential_id: int) -> dict[str, str]:
    """The schema editor's formset as posted, for the preview endpoint."""
    return {
        "columns-TOTAL_FORMS": "1",
        "columns-INITIAL_FORMS": "0",
        "columns-0-name": "topic",
        "columns-0-kind": "category",
        "columns-0-values": "space, oceans",
        "columns-0-credential": str(credential_id),
    }


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------

# (method, url template, form data) for every page that shows or changes a project's contents.
PAGES: list[tuple[str, str, dict[str, str]]] = [
    ("get", "/projects/{project}/", {}),
    ("get", "/projects/{project}/credentials/new/", {}),
    (
        "post",
        "/projects/{project}/credentials/new/",
        {"name": "sneaky", "provider": "simulator", "requests_per_minute": "5"},
    ),
    ("get", "/credentials/{credential}/", {}),
    ("post", "/credentials/{credential}/", {"api_key": "sk-stolen-key-1234", "base_url": ""}),
    ("get", "/projects/{project}/schemas/new/", {}),
    ("get", "/schemas/{schema}/", {}),
    ("post", "/schemas/{schema}/runs/", {"num_rows": "3"}),
    ("get", "/runs/{run}/", {}),
    ("get", "/runs/{run}/rows/", {}),
    ("post", "/runs/{run}/actions/retry-failed/", {}),
    ("post", "/runs/{run}/actions/cancel/", {}),
    ("post", "/rows/{row}/review/", {"decision": "rejected"}),
    ("get", "/runs/{run}/export/", {}),
    ("post", "/runs/{run}/export/", {"repo_id": "stranger/stolen", "token": "hf_x"}),
    ("get", "/runs/{run}/export.jsonl", {}),
    ("get", "/runs/{run}/export/hub-pushes/", {}),
]

MEMBER_PAGES = [url for method, url, _ in PAGES if method == "get"]


def page_id(page: tuple[str, str, dict[str, str]]) -> str:
    return f"{page[0].upper()} {page[1]}"


def _request(client: Client, method: str, url: str, data: dict[str, Any]) -> Any:
    return getattr(client, method)(url, data) if data else getattr(client, method)(url)


def assert_world_unchanged(world: World) -> None:
    """Nothing a stranger posted took effect."""
    world.run.refresh_from_db()
    world.row.refresh_from_db()
    world.credential.refresh_from_db()
    assert world.run.status == Run.Status.FINISHED
    assert Run.objects.filter(project=world.project).count() == 1
    assert world.row.review_status == Row.Review.ACCEPTED
    assert world.credential.key_last4 == "-key"
    assert not world.project.credentials.filter(name="sneaky").exists()
    assert HubExport.objects.filter(run=world.run).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_stranger_gets_404_for_every_project_page(
    page: tuple[str, str, dict[str, str]], world: World, stranger_client: Client
) -> None:
    method, url, data = page
    response = _request(stranger_client, method, url.format(**world.ids()), data)
    assert response.status_code == 404
    assert_world_unchanged(world)


@pytest.mark.django_db
def test_stranger_gets_404_for_schema_preview(world: World, stranger_client: Client) -> None:
    url = f"/projects/{world.project.pk}/schemas/preview/"
    response = stranger_client.post(url, preview_form(world.credential.pk))
    assert response.status_code == 404


@pytest.mark.django_db
def test_stranger_does_not_see_the_project_in_their_list(
    world: World, stranger_client: Client
) -> None:
    response = stranger_client.get("/")
    assert response.status_code == 200
    assert world.project.name not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", MEMBER_PAGES)
def test_collaborator_gets_200_for_every_project_page(url: str, world: World, collaborator) -> None:  # noqa: ANN001
    response = client_for(collaborator).get(url.format(**world.ids()))
    assert response.status_code == 200


@pytest.mark.django_db
def test_collaborator_can_preview_a_schema(world: World, collaborator) -> None:  # noqa: ANN001
    url = f"/projects/{world.project.pk}/schemas/preview/"
    response = client_for(collaborator).post(url, preview_form(world.credential.pk))
    assert response.status_code == 200
    assert "space" in response.content.decode() or "oceans" in response.content.decode()


@pytest.mark.django_db
def test_collaborator_can_review_a_row(world: World, collaborator) -> None:  # noqa: ANN001
    response = client_for(collaborator).post(
        f"/rows/{world.row.pk}/review/", {"decision": "rejected"}
    )
    assert response.status_code == 302
    world.row.refresh_from_db()
    assert world.row.review_status == Row.Review.REJECTED
    assert world.row.reviewed_by == collaborator


@pytest.mark.django_db
def test_collaborator_export_jsonl_has_the_accepted_rows(world: World, collaborator) -> None:  # noqa: ANN001
    response = client_for(collaborator).get(f"/runs/{world.run.pk}/export.jsonl")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"topic": "space", "question": "Question 0?"},
        {"topic": "space", "question": "Question 1?"},
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "page", [*PAGES, ("post", "/projects/{project}/schemas/preview/", {})], ids=page_id
)
def test_anonymous_visitor_is_redirected_to_login(
    page: tuple[str, str, dict[str, str]], world: World, client: Client
) -> None:
    method, url, data = page
    url = url.format(**world.ids())
    response = _request(client, method, url, data)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert_world_unchanged(world)


# --------------------------------------------------------------------------------------------
# REST API
# --------------------------------------------------------------------------------------------

# (method, url template, JSON body) for every endpoint that touches a project's contents.
API_ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/projects/{project}", None),
    ("get", "/api/projects/{project}/credentials", None),
    (
        "post",
        "/api/projects/{project}/credentials",
        {"name": "sneaky", "provider": "simulator"},
    ),
    ("patch", "/api/credentials/{credential}", {"api_key": "sk-stolen-key-1234"}),
    ("get", "/api/projects/{project}/schemas", None),
    (
        "post",
        "/api/projects/{project}/schemas",
        {"name": "sneaky", "spec": {"columns": [{"name": "a", "kind": "uuid"}]}},
    ),
    (
        "post",
        "/api/projects/{project}/schemas/validate",
        {"spec": {"columns": [{"name": "a", "kind": "uuid"}]}},
    ),
    (
        "post",
        "/api/projects/{project}/preview",
        {"spec": {"columns": [{"name": "a", "kind": "uuid"}]}},
    ),
    ("get", "/api/schemas/{schema}", None),
    (
        "put",
        "/api/schemas/{schema}",
        {"name": "QA", "spec": {"columns": [{"name": "a", "kind": "uuid"}]}},
    ),
    ("post", "/api/schemas/{schema}/runs", {"num_rows": 3}),
    ("get", "/api/projects/{project}/runs", None),
    ("get", "/api/runs/{run}", None),
    ("post", "/api/runs/{run}/cancel", None),
    ("post", "/api/runs/{run}/retry-failed", None),
    ("get", "/api/runs/{run}/rows", None),
    ("post", "/api/rows/{row}/review", {"decision": "rejected"}),
    ("get", "/api/runs/{run}/export.jsonl", None),
    ("post", "/api/runs/{run}/hub-pushes", {"repo_id": "stranger/stolen", "token": "hf_x"}),
    ("get", "/api/hub-pushes/{export}", None),
]


def endpoint_id(endpoint: tuple[str, str, Any]) -> str:
    return f"{endpoint[0].upper()} {endpoint[1]}"


def api_call(
    client: Client, method: str, url: str, body: dict[str, Any] | None, **headers: str
) -> Any:
    if body is None:
        return getattr(client, method)(url, **headers)
    return getattr(client, method)(
        url, data=json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", API_ENDPOINTS, ids=endpoint_id)
def test_stranger_gets_404_from_every_api_endpoint(
    endpoint: tuple[str, str, dict[str, Any] | None], world: World, stranger
) -> None:  # noqa: ANN001
    _, token = api_token_create(user=stranger, name="mine")
    method, url, body = endpoint
    response = api_call(
        Client(), method, url.format(**world.ids()), body, HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert response.status_code == 404, response.content
    world.schema.refresh_from_db()
    assert world.schema.version == 1
    assert_world_unchanged(world)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint",
    [e for e in API_ENDPOINTS if e[0] == "get"],
    ids=endpoint_id,
)
def test_stranger_with_a_session_gets_404_from_the_api(
    endpoint: tuple[str, str, None], world: World, stranger_client: Client
) -> None:
    _, url, _ = endpoint
    assert stranger_client.get(url.format(**world.ids())).status_code == 404


@pytest.mark.django_db
def test_stranger_api_project_list_leaves_out_other_projects(
    world: World, stranger_client: Client
) -> None:
    response = stranger_client.get("/api/projects")
    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint",
    [e for e in API_ENDPOINTS if e[0] == "get"],
    ids=endpoint_id,
)
def test_collaborator_gets_200_from_the_api(
    endpoint: tuple[str, str, None], world: World, collaborator
) -> None:  # noqa: ANN001
    _, url, _ = endpoint
    assert client_for(collaborator).get(url.format(**world.ids())).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint", [*API_ENDPOINTS, ("get", "/api/projects", None)], ids=endpoint_id
)
def test_anonymous_api_request_gets_401(
    endpoint: tuple[str, str, dict[str, Any] | None], world: World, client: Client
) -> None:
    method, url, body = endpoint
    response = api_call(client, method, url.format(**world.ids()), body)
    assert response.status_code == 401
    assert_world_unchanged(world)


# --------------------------------------------------------------------------------------------
# Websocket
# --------------------------------------------------------------------------------------------


def session_headers(user) -> list[tuple[bytes, bytes]]:  # noqa: ANN001
    """What a browser of a signed-in ``user`` sends when it opens the run page's websocket."""
    session_key = client_for(user).cookies["sessionid"].value
    # Import the URLconf (and with it every view, provider SDK and pandas) here, not on the
    # consumer's first render, where it would eat the receive timeout of a test run alone.
    get_resolver().url_patterns  # noqa: B018
    return [
        (b"origin", b"http://127.0.0.1"),
        (b"host", b"127.0.0.1"),
        (b"cookie", f"sessionid={session_key}".encode()),
    ]


@pytest.fixture
def owner_headers(owner) -> list[tuple[bytes, bytes]]:  # noqa: ANN001
    return session_headers(owner)


@pytest.fixture
def stranger_headers(stranger) -> list[tuple[bytes, bytes]]:  # noqa: ANN001
    return session_headers(stranger)


async def _connect(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[Any, Any]:
    from studio.asgi import application

    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, (connected, code)


@pytest.mark.django_db(transaction=True)
async def test_owner_websocket_receives_the_run_state_first(
    world: World, owner_headers: list
) -> None:
    headers = owner_headers
    communicator, (connected, _) = await _connect(f"/ws/runs/{world.run.pk}/", headers)
    try:
        assert connected is True
        message = await communicator.receive_from(timeout=5)
        assert "run-counters" in message
        assert "Question 0?" in message
    finally:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_stranger_websocket_is_refused(world: World, stranger_headers: list) -> None:
    headers = stranger_headers
    communicator, (connected, code) = await _connect(f"/ws/runs/{world.run.pk}/", headers)
    assert connected is False
    assert code == 4404
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_anonymous_websocket_is_refused(world: World) -> None:
    headers = [(b"origin", b"http://127.0.0.1"), (b"host", b"127.0.0.1")]
    communicator, (connected, _) = await _connect(f"/ws/runs/{world.run.pk}/", headers)
    assert connected is False
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_websocket_from_a_foreign_origin_is_refused(
    world: World, owner_headers: list
) -> None:
    headers = [(b"origin", b"http://evil.example"), *owner_headers[1:]]
    communicator, (connected, _) = await _connect(f"/ws/runs/{world.run.pk}/", headers)
    assert connected is False
    await communicator.disconnect()
