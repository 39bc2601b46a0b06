"""Access control: who may do what in a project, checked over every route there is.

A stranger (a signed-in user who is not a member) gets 404 for every page, API endpoint and
websocket of someone else's project, so ids reveal nothing; an anonymous visitor is sent to the
login page, or gets 401 from the API. A member gets what their role allows (the matrix of
studio/permissions.py, spelled out again in ``EXPECTED_ROLES`` below, from the product's table)
and 403 with the reason for the rest.

``PAGES`` and ``API`` name every project route with the action it needs; each entry is exercised
for owner, editor, reviewer, viewer, stranger and anonymous. ``test_every_url_pattern_has_an_access_entry``
and ``test_every_api_operation_has_an_access_entry`` walk the URLconf and the OpenAPI schema and
fail for a route that is in neither table: a new route cannot ship without its access test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from evaluation.models import Evaluation, HubExport, ReviewAction, Score
from generation.models import Row, Run
from studio.models import (
    ApiToken,
    DatasetSchema,
    Membership,
    Project,
    ProviderCredential,
    SeedFile,
)
from studio.permissions import ALLOWED, Action
from studio.services import (
    api_token_create,
    project_member_add,
    schema_update,
    seed_file_upload,
)
from tests.fixtures import PASSWORD, client_for

IDENTITIES = ["owner", "editor", "reviewer", "viewer", "stranger", "anonymous"]
MEMBERS = ["owner", "editor", "reviewer", "viewer"]

# The product's table (issue 15), written out independently of studio/permissions.py.
EXPECTED_ROLES: dict[Action, set[str]] = {
    Action.VIEW: {"owner", "editor", "reviewer", "viewer"},
    Action.REVIEW_ROWS: {"owner", "editor", "reviewer"},
    Action.DESIGN: {"owner", "editor"},
    Action.OPERATE_RUNS: {"owner", "editor"},
    Action.CHANGE_BUDGET: {"owner"},
    Action.MANAGE_CREDENTIALS: {"owner"},
    Action.DELETE_SEED_FILES: {"owner"},
    Action.PUSH_TO_HUB: {"owner"},
    Action.MANAGE_PROJECT: {"owner"},
    Action.EVALUATE: {"owner", "editor"},
}


@pytest.fixture(autouse=True)
def fast_password_hasher(settings) -> None:
    """The cast's passwords are hashed once per test; the default hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    """The owner's project with one of everything in it, and its cast."""

    project: Project
    credential: ProviderCredential
    schema: DatasetSchema
    run: Run
    row: Row
    export: HubExport
    seed_file: SeedFile
    token: ApiToken
    evaluation: Evaluation
    users: dict[str, Any] = field(default_factory=dict)
    # A member no identity is: the one the member routes change or remove ({user_id}).
    colleague: Any = None

    def ids(self) -> dict[str, int]:
        return {
            "project_id": self.project.pk,
            "credential_id": self.credential.pk,
            "schema_id": self.schema.pk,
            "version": 1,
            "run_id": self.run.pk,
            "row_id": self.row.pk,
            "export_id": self.export.pk,
            "seed_file_id": self.seed_file.pk,
            "token_id": self.token.pk,
            "evaluation_id": self.evaluation.pk,
            "user_id": self.colleague.pk if self.colleague else 0,
            # The run compared with itself: both ids go through the one access check.
            "other_run_id": self.run.pk,
        }


def make_world(project: Project, schema: DatasetSchema, credential: ProviderCredential) -> World:
    """A finished run with generated rows, made directly so nothing is generated or queued; a
    schema with two versions; an uploaded seed table; the owner's API token."""
    owner = project.owner
    schema = schema_update(
        schema=schema, data=schema.spec, name=schema.name, description="v2", user=owner
    )
    run = Run.objects.create(
        project=project,
        schema=schema,
        schema_name=schema.name,
        schema_version=schema.version,
        spec_snapshot=schema.spec,
        seed=7,
        num_rows=2,
        status=Run.Status.FINISHED,
        created_by=owner,
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
    export = HubExport.objects.create(run=run, repo_id="owner/trivia", created_by=owner)
    seed = seed_file_upload(
        project=project, user=owner, filename="topics.csv", data=b"topic\nspace\noceans\n"
    )
    token, _ = api_token_create(user=owner, name="owner's")
    evaluation = Evaluation.objects.create(
        run=run,
        name="length",
        kind="length",
        settings={"column": "question", "unit": "characters"},
        status=Evaluation.Status.DONE,
        is_current=True,
    )
    Score.objects.create(evaluation=evaluation, row=rows[0], value=12.0)
    return World(project, credential, schema, run, rows[0], export, seed, token, evaluation)


@pytest.fixture
def world(project, qa_schema, openai_credential, owner, collaborator, stranger) -> World:
    world = make_world(project, qa_schema, openai_credential)
    world.users = {"owner": owner, "editor": collaborator, "stranger": stranger}
    for role in ("reviewer", "viewer"):
        user = type(owner).objects.create_user(role, password=PASSWORD)
        project_member_add(project=project, user=user, role=role)
        world.users[role] = user
    world.colleague = type(owner).objects.create_user("colleague", email="colleague@example.org")
    project_member_add(project=project, user=world.colleague, role="viewer")
    return world


def snapshot(world: World) -> dict[str, Any]:
    """Everything in the world a request could change, to compare before and after."""
    project = Project.objects.get(pk=world.project.pk)
    return {
        "project": (project.name, project.description, project.owner_id),
        "members": sorted(project.memberships.values_list("user_id", "role")),
        "credentials": sorted(
            project.credentials.values_list(
                "name", "base_url", "key_last4", "api_key_encrypted", "requests_per_minute"
            )
        ),
        "schemas": sorted(project.schemas.values_list("name", "version", "description")),
        "seed_files": sorted(project.seed_files.values_list("pk", flat=True)),
        "runs": sorted(project.runs.values_list("pk", "status", "budget_usd")),
        "rows": sorted(
            Row.objects.filter(run__project=project).values_list(
                "pk", "status", "review_status", "edited_values"
            )
        ),
        "review_actions": ReviewAction.objects.filter(run__project=project).count(),
        "exports": HubExport.objects.filter(run__project=project).count(),
        "evaluations": sorted(
            Evaluation.objects.filter(run__project=project).values_list("pk", "status")
        ),
        "tokens": sorted(ApiToken.objects.values_list("pk", flat=True)),
    }


def preview_form(world: World) -> dict[str, str]:
    """The schema editor's formset as posted (preview, check, designer operations, save)."""
    return {
        "columns-TOTAL_FORMS": "1",
        "columns-INITIAL_FORMS": "0",
        "columns-0-name": "topic",
        "columns-0-kind": "category",
        "columns-0-values": "space, oceans",
        "columns-0-credential": str(world.credential.pk),
    }


UUID_SPEC = {"columns": [{"name": "a", "kind": "uuid"}]}
Data = dict[str, Any] | Callable[[World], dict[str, Any]] | None


@dataclass(frozen=True)
class Route:
    """One route, as the URLconf (pages) or the OpenAPI schema (API) spells its path, with the
    action it needs and a request that does it."""

    method: str
    path: str
    action: Action
    data: Data = None
    # Values for placeholders that are not ids (e.g. a run action's name).
    params: dict[str, str] = field(default_factory=dict)
    # What a member allowed to do the action may get (a refused business rule, e.g. pausing a
    # finished run, is a 400, never a 403 or 404).
    ok: tuple[int, ...] = (200, 201, 202, 204, 302)
    multipart: bool = False

    def url(self, world: World) -> str:
        return self.path.format(**world.ids(), **self.params)

    def body(self, world: World) -> dict[str, Any] | None:
        return self.data(world) if callable(self.data) else self.data

    def __str__(self) -> str:
        extra = "".join(f" {key}={value}" for key, value in self.params.items())
        return f"{self.method.upper()} {self.path}{extra}"


def _upload(world: World) -> dict[str, Any]:
    return {"file": SimpleUploadedFile("more.csv", b"topic\nvolcanoes\n", "text/csv")}


# --------------------------------------------------------------------------------------------
# The tables: every route of the site
# --------------------------------------------------------------------------------------------

# Pages about a project's contents, by their URLconf path.
PAGES: list[Route] = [
    Route("get", "/projects/{project_id}/", Action.VIEW),
    Route("get", "/projects/{project_id}/runs/status/", Action.VIEW),
    # {user_id} is a colleague's: removing someone else is managing (leaving: test_members_pages).
    Route(
        "post",
        "/projects/{project_id}/members/",
        Action.MANAGE_PROJECT,
        {"identifier": "stranger", "role": "owner"},
    ),
    Route(
        "post",
        "/projects/{project_id}/members/{user_id}/role/",
        Action.MANAGE_PROJECT,
        {"role": "owner"},
    ),
    Route("post", "/projects/{project_id}/members/{user_id}/remove/", Action.MANAGE_PROJECT),
    Route("get", "/projects/{project_id}/credentials/new/", Action.MANAGE_CREDENTIALS),
    Route(
        "post",
        "/projects/{project_id}/credentials/new/",
        Action.MANAGE_CREDENTIALS,
        {"name": "sneaky", "provider": "simulator", "requests_per_minute": "5"},
    ),
    Route("get", "/credentials/{credential_id}/", Action.MANAGE_CREDENTIALS),
    Route(
        "post",
        "/credentials/{credential_id}/",
        Action.MANAGE_CREDENTIALS,
        {"api_key": "sk-stolen-key-1234", "base_url": "http://127.0.0.1:9/v1"},
    ),
    Route("post", "/credentials/{credential_id}/test/", Action.MANAGE_CREDENTIALS),
    Route("get", "/projects/{project_id}/schemas/new/", Action.DESIGN),
    Route(
        "post",
        "/projects/{project_id}/schemas/new/",
        Action.DESIGN,
        lambda world: {"name": "Sneaky", "description": ""} | preview_form(world),
    ),
    Route("post", "/projects/{project_id}/schemas/preview/", Action.DESIGN, preview_form),
    Route(
        "post",
        "/projects/{project_id}/schemas/designer/",
        Action.DESIGN,
        lambda world: {"op": "add"} | preview_form(world),
    ),
    Route("post", "/projects/{project_id}/schemas/check/", Action.DESIGN, preview_form),
    Route(
        "post",
        "/projects/{project_id}/schemas/import/",
        Action.DESIGN,
        {"text": "columns:\n- name: a\n  kind: uuid\n", "name": "Imported"},
    ),
    Route("post", "/projects/{project_id}/seed-files/", Action.DESIGN, _upload),
    Route("get", "/seed-files/{seed_file_id}/", Action.VIEW),
    Route("post", "/seed-files/{seed_file_id}/delete/", Action.DELETE_SEED_FILES),
    Route("get", "/schemas/{schema_id}/", Action.VIEW),
    Route(
        "post",
        "/schemas/{schema_id}/",
        Action.DESIGN,
        lambda world: {"name": "QA", "description": "changed"} | preview_form(world),
    ),
    Route("get", "/schemas/{schema_id}/export/", Action.VIEW),
    Route("post", "/schemas/{schema_id}/versions/{version}/restore/", Action.DESIGN),
    # Editors may start a run with a budget; only the owner changes it afterwards.
    Route(
        "post",
        "/schemas/{schema_id}/runs/",
        Action.OPERATE_RUNS,
        {"num_rows": "3", "budget_usd": "1.50"},
    ),
    Route("get", "/runs/{run_id}/", Action.VIEW),
    Route("get", "/runs/{run_id}/rows/", Action.VIEW),
    *[
        Route("post", "/runs/{run_id}/actions/{action}/", Action.OPERATE_RUNS, params={"action": a})
        for a in ("pause", "resume", "cancel", "retry-failed")
    ],
    Route("post", "/runs/{run_id}/budget/", Action.CHANGE_BUDGET, {"budget_usd": "5"}),
    Route("post", "/runs/{run_id}/retry-matching/", Action.OPERATE_RUNS, {"message": "boom"}),
    Route("get", "/rows/{row_id}/", Action.VIEW),
    Route("post", "/rows/{row_id}/review/", Action.REVIEW_ROWS, {"decision": "rejected"}),
    Route("get", "/runs/{run_id}/review/", Action.REVIEW_ROWS),
    Route(
        "post",
        "/runs/{run_id}/review/decide/",
        Action.REVIEW_ROWS,
        {"row": 0, "decision": "rejected"},
    ),
    Route(
        "post",
        "/runs/{run_id}/review/edit/",
        Action.REVIEW_ROWS,
        {"row": 0, "column": "question", "value": "Edited?"},
    ),
    Route("post", "/runs/{run_id}/review/undo/", Action.REVIEW_ROWS),
    Route("get", "/runs/{run_id}/review/table/", Action.VIEW),
    # A filter nothing matches: the confirmation says so, nothing is changed.
    Route(
        "post",
        "/runs/{run_id}/review/table/bulk/",
        Action.REVIEW_ROWS,
        {"bulk": "rejected:filter", "q": "nothing has this"},
    ),
    Route("post", "/runs/{run_id}/review/table/undo/", Action.REVIEW_ROWS, ok=(302,)),
    Route("get", "/runs/{run_id}/review/regenerate/", Action.OPERATE_RUNS),
    Route(
        "post",
        "/runs/{run_id}/review/regenerate/",
        Action.OPERATE_RUNS,
        {"row": 0, "column": "question"},
    ),
    Route("get", "/rows/{row_id}/regenerate/", Action.OPERATE_RUNS),
    Route("post", "/rows/{row_id}/regenerate/", Action.OPERATE_RUNS, {"column": "question"}),
    Route("get", "/runs/{run_id}/export/", Action.VIEW),
    Route(
        "post",
        "/runs/{run_id}/export/",
        Action.PUSH_TO_HUB,
        {"repo_id": "someone/trivia", "token": "hf_x"},
    ),
    Route("get", "/runs/{run_id}/export/hub-pushes/", Action.VIEW),
    Route("get", "/runs/{run_id}/export.jsonl", Action.VIEW),
    Route("get", "/runs/{run_id}/evaluations/new/", Action.EVALUATE),
    Route(
        "post",
        "/runs/{run_id}/evaluations/new/",
        Action.EVALUATE,
        {"name": "len", "kind": "length", "column": "question", "unit": "words"},
    ),
    Route("get", "/evaluations/{evaluation_id}/", Action.VIEW),
    Route("get", "/runs/{run_id}/compare/", Action.VIEW),
    Route("get", "/runs/{run_id}/compare/{other_run_id}/", Action.VIEW),
    *[
        Route(
            "post", "/evaluations/{evaluation_id}/{action}/", Action.EVALUATE, params={"action": a}
        )
        for a in ("rerun", "cancel")
    ],
    # The world's evaluation has no threshold: the gate pages show why (200), act on nothing.
    Route("get", "/evaluations/{evaluation_id}/gate/regenerate/", Action.OPERATE_RUNS),
    Route(
        "post",
        "/evaluations/{evaluation_id}/gate/regenerate/",
        Action.OPERATE_RUNS,
        {"max_attempts": "2"},
    ),
    Route("get", "/evaluations/{evaluation_id}/gate/reject/", Action.EVALUATE),
    Route("post", "/evaluations/{evaluation_id}/gate/reject/", Action.EVALUATE),
]

# API operations about a project's contents, by their OpenAPI path.
API: list[Route] = [
    Route("get", "/api/projects/{project_id}", Action.VIEW),
    Route("get", "/api/projects/{project_id}/credentials", Action.VIEW),
    Route("get", "/api/projects/{project_id}/members", Action.VIEW),
    Route(
        "post",
        "/api/projects/{project_id}/members",
        Action.MANAGE_PROJECT,
        {"identifier": "stranger", "role": "owner"},
    ),
    Route(
        "patch",
        "/api/projects/{project_id}/members/{user_id}",
        Action.MANAGE_PROJECT,
        {"role": "owner"},
    ),
    Route("delete", "/api/projects/{project_id}/members/{user_id}", Action.MANAGE_PROJECT),
    Route(
        "post",
        "/api/projects/{project_id}/credentials",
        Action.MANAGE_CREDENTIALS,
        {"name": "sneaky", "provider": "simulator"},
    ),
    Route(
        "patch",
        "/api/credentials/{credential_id}",
        Action.MANAGE_CREDENTIALS,
        {"api_key": "sk-stolen-key-1234", "base_url": "http://127.0.0.1:9/v1"},
    ),
    Route("post", "/api/credentials/{credential_id}/test", Action.MANAGE_CREDENTIALS),
    Route("get", "/api/projects/{project_id}/schemas", Action.VIEW),
    Route(
        "post",
        "/api/projects/{project_id}/schemas",
        Action.DESIGN,
        {"name": "sneaky", "spec": UUID_SPEC},
    ),
    Route(
        "post", "/api/projects/{project_id}/schemas/validate", Action.DESIGN, {"spec": UUID_SPEC}
    ),
    Route(
        "post",
        "/api/projects/{project_id}/schemas/import",
        Action.DESIGN,
        {"text": "columns:\n- name: a\n  kind: uuid\n", "name": "Imported"},
    ),
    Route("post", "/api/projects/{project_id}/preview", Action.DESIGN, {"spec": UUID_SPEC}),
    Route("get", "/api/schemas/{schema_id}", Action.VIEW),
    Route("put", "/api/schemas/{schema_id}", Action.DESIGN, {"name": "QA", "spec": UUID_SPEC}),
    Route("get", "/api/schemas/{schema_id}/versions", Action.VIEW),
    Route("post", "/api/schemas/{schema_id}/versions/{version}/restore", Action.DESIGN),
    Route("get", "/api/schemas/{schema_id}/export", Action.VIEW),
    Route("get", "/api/projects/{project_id}/seed-files", Action.VIEW),
    Route("post", "/api/projects/{project_id}/seed-files", Action.DESIGN, _upload, multipart=True),
    Route("get", "/api/seed-files/{seed_file_id}", Action.VIEW),
    Route(
        "post",
        "/api/schemas/{schema_id}/runs",
        Action.OPERATE_RUNS,
        {"num_rows": 3, "budget_usd": "1.50"},
    ),
    Route("get", "/api/projects/{project_id}/runs", Action.VIEW),
    Route("get", "/api/runs/{run_id}", Action.VIEW),
    # The run is finished: pausing or resuming it is refused by the run's rules (400).
    Route("post", "/api/runs/{run_id}/pause", Action.OPERATE_RUNS, ok=(200, 400)),
    Route("post", "/api/runs/{run_id}/resume", Action.OPERATE_RUNS, ok=(200, 400)),
    Route("post", "/api/runs/{run_id}/cancel", Action.OPERATE_RUNS, ok=(200, 400)),
    Route("post", "/api/runs/{run_id}/retry-failed", Action.OPERATE_RUNS, ok=(200, 400)),
    Route("put", "/api/runs/{run_id}/budget", Action.CHANGE_BUDGET, {"budget_usd": "5"}),
    Route("get", "/api/runs/{run_id}/rows", Action.VIEW),
    Route("get", "/api/runs/{run_id}/costs", Action.VIEW),
    Route("post", "/api/rows/{row_id}/review", Action.REVIEW_ROWS, {"decision": "rejected"}),
    Route(
        "patch",
        "/api/rows/{row_id}/review",
        Action.REVIEW_ROWS,
        {"decision": "rejected", "edited_values": {"question": "Edited?"}},
    ),
    # Nothing of the member's to undo yet: a 400 saying so.
    Route("post", "/api/runs/{run_id}/review/undo", Action.REVIEW_ROWS, ok=(200, 400)),
    Route("get", "/api/runs/{run_id}/review/activity", Action.VIEW),
    Route("get", "/api/runs/{run_id}/review/table", Action.VIEW),
    # A filter nothing matches: 400 "no rows match", nothing changed.
    Route(
        "post",
        "/api/runs/{run_id}/review/bulk",
        Action.REVIEW_ROWS,
        {"decision": "rejected", "filter": {"q": "nothing has this"}},
        ok=(200, 400),
    ),
    Route("post", "/api/rows/{row_id}/regenerate", Action.OPERATE_RUNS, {"columns": ["question"]}),
    Route("get", "/api/rows/{row_id}/history", Action.VIEW),
    Route("get", "/api/runs/{run_id}/export.jsonl", Action.VIEW),
    Route(
        "post",
        "/api/runs/{run_id}/hub-pushes",
        Action.PUSH_TO_HUB,
        {"repo_id": "someone/trivia", "token": "hf_x"},
    ),
    Route("get", "/api/hub-pushes/{export_id}", Action.VIEW),
    Route(
        "post",
        "/api/runs/{run_id}/evaluations",
        Action.EVALUATE,
        {"name": "len", "kind": "length", "settings": {"column": "question"}},
    ),
    Route("get", "/api/runs/{run_id}/evaluations", Action.VIEW),
    Route("get", "/api/evaluations/{evaluation_id}", Action.VIEW),
    Route("post", "/api/evaluations/{evaluation_id}/cancel", Action.EVALUATE, ok=(200, 400)),
    Route("post", "/api/evaluations/{evaluation_id}/rerun", Action.EVALUATE),
    Route("get", "/api/evaluations/{evaluation_id}/scores", Action.VIEW),
    Route("get", "/api/evaluations/{evaluation_id}/summary", Action.VIEW),
    Route("get", "/api/runs/{run_id}/compare/{other_run_id}", Action.VIEW),
    Route("get", "/api/evaluations/{evaluation_id}/gate", Action.VIEW),
    # The world's evaluation has no threshold: refused by the gate's rules (400).
    Route(
        "post",
        "/api/evaluations/{evaluation_id}/gate/regenerate",
        Action.OPERATE_RUNS,
        {"max_attempts": 2},
        ok=(202, 400),
    ),
    Route(
        "post", "/api/evaluations/{evaluation_id}/gate/reject", Action.EVALUATE, {}, ok=(200, 400)
    ),
]

# Routes of no project: a signed-in user's own (tested in `test_user_routes_*`).
USER_PAGES = {
    "/": "the user's project list, and creating a project of their own",
    "/settings/tokens/": "the user's own API tokens",
    "/settings/tokens/{token_id}/revoke/": "revoking one of the user's own API tokens",
    "/runs/status/": "the run board of all the user's projects",
}
USER_API = {
    ("get", "/api/projects"): "the user's project list",
    ("post", "/api/projects"): "creating a project of their own (its owner)",
    ("get", "/api/tokens"): "the user's own API tokens",
    ("delete", "/api/tokens/{token_id}"): "revoking one of the user's own API tokens",
}
# Routes open to anyone.
PUBLIC_PAGES = {
    "/login/": "signing in",
    "/logout/": "signing out",
    "/signup/": "creating an account",
    "/api/": "the API's root (no operation)",
    "/api/docs": "the API's documentation page",
    "/api/openapi.json": "the API's schema",
}
# URL namespaces with their own access control.
OTHER_ACCESS = {
    "admin": "Django's admin: staff only (is_staff), Django's own permissions; not for members",
}

# Websocket routes, by their path, with the action they need.
SOCKETS = {"/ws/runs/{run_id}/": Action.VIEW}


# --------------------------------------------------------------------------------------------
# Every route is in a table: the class of "a route nobody checked" cannot come back
# --------------------------------------------------------------------------------------------


def _path_template(route: str) -> str:
    """``projects/<int:project_id>/`` → ``/projects/{project_id}/``, as the tables spell it."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def url_patterns(
    patterns: list | None = None, prefix: str = "", namespace: str | None = None
) -> list[tuple[str | None, str]]:
    """Every (namespace, path) the URLconf serves."""
    found: list[tuple[str | None, str]] = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found += url_patterns(
                pattern.url_patterns,
                prefix + str(pattern.pattern),
                pattern.namespace or namespace,
            )
        elif isinstance(pattern, URLPattern):
            found.append((namespace, _path_template(prefix + str(pattern.pattern))))
    return found


def api_operations() -> list[tuple[str, str]]:
    """Every (method, path) of the API, from its OpenAPI schema."""
    from config.api_site import api

    paths = api.get_openapi_schema()["paths"]
    return [(method, path) for path, operations in paths.items() for method in operations]


def test_every_url_pattern_has_an_access_entry() -> None:
    from config.api_site import api

    covered = {route.path for route in PAGES} | set(USER_PAGES) | set(PUBLIC_PAGES)
    api_paths = {path for _, path in api_operations()}
    missing = []
    for namespace, path in url_patterns():
        if namespace in OTHER_ACCESS:
            continue
        if namespace == api.urls_namespace and path in api_paths:
            continue  # each operation is checked against API below
        if path not in covered:
            missing.append(path)
    assert missing == [], "URL patterns with no entry in tests/test_access.py's tables"


def test_every_api_operation_has_an_access_entry() -> None:
    covered = {(route.method, route.path) for route in API} | set(USER_API)
    missing = [operation for operation in api_operations() if operation not in covered]
    assert missing == [], "API operations with no entry in tests/test_access.py's tables"


def test_every_websocket_route_has_an_access_entry() -> None:
    from generation.live.routing import websocket_urlpatterns

    paths = [_path_template(str(pattern.pattern)) for pattern in websocket_urlpatterns]
    assert sorted(paths) == sorted(SOCKETS)


def test_every_table_entry_is_a_route_that_exists() -> None:
    """A stale entry would test a 404 that proves nothing."""
    served = {path for _, path in url_patterns()}
    operations = set(api_operations())
    assert [r.path for r in PAGES if r.path not in served] == []
    assert [p for p in [*USER_PAGES, *PUBLIC_PAGES] if p not in served] == []
    assert [str(r) for r in API if (r.method, r.path) not in operations] == []
    assert [op for op in USER_API if op not in operations] == []


def test_the_role_matrix_is_the_products_table() -> None:
    assert {action: {str(role) for role in roles} for action, roles in ALLOWED.items()} == (
        EXPECTED_ROLES
    )
    assert set(Membership.Role.values) == set(MEMBERS)


# --------------------------------------------------------------------------------------------
# Each route × each identity
# --------------------------------------------------------------------------------------------


def _client(world: World, identity: str, *, api: bool) -> tuple[Client, dict[str, str]]:
    if identity == "anonymous":
        return Client(), {}
    user = world.users[identity]
    if api:
        _, token = api_token_create(user=user, name="mine")
        return Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return client_for(user), {}


def _send(client: Client, route: Route, world: World, *, api: bool, **headers: str) -> Any:
    url, body = route.url(world), route.body(world)
    send = getattr(client, route.method)
    if body is None:
        return send(url, **headers)
    if api and not route.multipart:
        return send(url, data=json.dumps(body), content_type="application/json", **headers)
    return send(url, body, **headers)


def _check(route: Route, identity: str, world: World, *, api: bool) -> None:
    client, headers = _client(world, identity, api=api)
    before = snapshot(world)
    response = _send(client, route, world, api=api, **headers)
    allowed = identity in EXPECTED_ROLES[route.action]
    status = response.status_code
    if identity == "anonymous":
        if api:
            assert status == 401
        else:
            assert status == 302
            assert response["Location"].startswith("/login/?next=")
    elif identity == "stranger":
        assert status == 404, response.content[:300]
    elif allowed:
        assert status in route.ok, response.content[:300]
    else:
        assert status == 403, response.content[:300]
        text = response.json()["detail"] if api else response.content.decode()
        assert f"({identity})" in text
        assert "allowed: owner" in text
    if not allowed:
        assert snapshot(world) == before, "a refused request changed the project"


@pytest.mark.django_db
@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("route", PAGES, ids=str)
def test_page_access(route: Route, identity: str, world: World) -> None:
    _check(route, identity, world, api=False)


@pytest.mark.django_db
@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("route", API, ids=str)
def test_api_access(route: Route, identity: str, world: World) -> None:
    _check(route, identity, world, api=True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "route",
    [
        Route("get", "/api/projects/{project_id}", Action.VIEW),
        Route("get", "/api/runs/{run_id}", Action.VIEW),
        Route("post", "/api/runs/{run_id}/cancel", Action.OPERATE_RUNS),
    ],
    ids=str,
)
def test_stranger_with_a_session_gets_404_from_the_api(route: Route, world: World) -> None:
    response = _send(client_for(world.users["stranger"]), route, world, api=True)
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("identity", ["anonymous", "stranger"])
@pytest.mark.parametrize("path", sorted(USER_PAGES))
def test_user_pages_need_a_sign_in_and_show_nothing_of_others(
    path: str, identity: str, world: World
) -> None:
    client, _ = _client(world, identity, api=False)
    before = snapshot(world)
    method = "post" if path.endswith("/revoke/") else "get"
    response = getattr(client, method)(path.format(**world.ids()))
    if identity == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    else:
        assert response.status_code < 500
        assert world.project.name not in response.content.decode()
        assert f"Run #{world.run.pk}" not in response.content.decode()
    assert snapshot(world) == before


@pytest.mark.django_db
@pytest.mark.parametrize("identity", ["anonymous", "stranger"])
@pytest.mark.parametrize("operation", sorted(USER_API))
def test_user_api_needs_a_token_and_shows_nothing_of_others(
    operation: tuple[str, str], identity: str, world: World
) -> None:
    method, path = operation
    client, headers = _client(world, identity, api=True)
    body = {"name": "Mine"} if method == "post" else None
    tokens_before = sorted(ApiToken.objects.values_list("pk", flat=True))
    response = _send(client, Route(method, path, Action.VIEW, body), world, api=True, **headers)
    if identity == "anonymous":
        assert response.status_code == 401
    elif method == "delete":  # {token_id} is the owner's token: not the stranger's to revoke
        assert response.status_code == 404
    else:
        assert response.status_code in (200, 201)
        assert world.project.name not in response.content.decode()
    if method == "delete":
        assert sorted(ApiToken.objects.values_list("pk", flat=True)) == tokens_before


@pytest.mark.django_db
@pytest.mark.parametrize("identity", ["owner", "viewer"])
def test_a_refused_page_is_a_403_page_naming_the_role(identity: str, world: World) -> None:
    """The refusal a member reads; the owner does the same thing."""
    response = client_for(world.users[identity]).post(f"/seed-files/{world.seed_file.pk}/delete/")
    if identity == "owner":
        assert response.status_code == 302
        assert not SeedFile.objects.filter(pk=world.seed_file.pk).exists()
    else:
        assert response.status_code == 403
        assert "Your role in this project (viewer) may not delete seed files" in (
            response.content.decode()
        )


@pytest.mark.django_db
def test_collaborator_can_review_a_row(world: World) -> None:
    response = client_for(world.users["reviewer"]).post(
        f"/rows/{world.row.pk}/review/", {"decision": "rejected"}
    )
    assert response.status_code == 302
    world.row.refresh_from_db()
    assert world.row.review_status == Row.Review.REJECTED
    assert world.row.reviewed_by == world.users["reviewer"]


@pytest.mark.django_db
def test_viewer_export_jsonl_has_the_accepted_rows(world: World) -> None:
    response = client_for(world.users["viewer"]).get(f"/runs/{world.run.pk}/export.jsonl")
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"topic": "space", "question": "Question 0?"},
        {"topic": "space", "question": "Question 1?"},
    ]


@pytest.mark.django_db
def test_editor_starts_a_run_with_a_budget_but_only_the_owner_raises_it(world: World) -> None:
    editor = client_for(world.users["editor"])
    response = editor.post(
        f"/schemas/{world.schema.pk}/runs/", {"num_rows": "2", "budget_usd": "0.50"}
    )
    assert response.status_code == 302
    run = Run.objects.exclude(pk=world.run.pk).get(project=world.project)
    assert str(run.budget_usd) == "0.5000"
    assert editor.post(f"/runs/{run.pk}/budget/", {"budget_usd": "500"}).status_code == 403
    run.refresh_from_db()
    assert str(run.budget_usd) == "0.5000"
    owner = client_for(world.users["owner"])
    assert owner.post(f"/runs/{run.pk}/budget/", {"budget_usd": "5"}).status_code == 302
    run.refresh_from_db()
    assert str(run.budget_usd) == "5.0000"


# --------------------------------------------------------------------------------------------
# Pages show only what the role may use
# --------------------------------------------------------------------------------------------


def _page(world: World, identity: str, url: str) -> str:
    response = client_for(world.users[identity]).get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("identity", MEMBERS)
def test_project_page_shows_the_controls_of_the_role(identity: str, world: World) -> None:
    html = _page(world, identity, f"/projects/{world.project.pk}/")
    owner, designer = identity == "owner", identity in ("owner", "editor")
    assert ("Add credential" in html) is owner
    assert (f"/credentials/{world.credential.pk}/" in html) is owner
    assert world.credential.name in html  # every member sees which credentials there are
    assert ("New schema" in html) is designer
    assert (f"/projects/{world.project.pk}/seed-files/" in html) is designer


@pytest.mark.django_db
@pytest.mark.parametrize("identity", MEMBERS)
def test_seed_file_page_shows_delete_to_the_owner_only(identity: str, world: World) -> None:
    html = _page(world, identity, f"/seed-files/{world.seed_file.pk}/")
    assert (f"/seed-files/{world.seed_file.pk}/delete/" in html) is (identity == "owner")


@pytest.mark.django_db
@pytest.mark.parametrize("identity", MEMBERS)
def test_schema_page_shows_the_controls_of_the_role(identity: str, world: World) -> None:
    html = _page(world, identity, f"/schemas/{world.schema.pk}/")
    designer = identity in ("owner", "editor")
    assert ("Save schema" in html) is designer
    assert ('id="add-column"' in html) is designer
    assert (f"/schemas/{world.schema.pk}/runs/" in html) is designer
    assert (f"/schemas/{world.schema.pk}/versions/1/restore/" in html) is designer


@pytest.mark.django_db
@pytest.mark.parametrize("identity", MEMBERS)
def test_run_page_shows_the_controls_of_the_role(identity: str, world: World) -> None:
    Run.objects.filter(pk=world.run.pk).update(status=Run.Status.BUDGET_REACHED, budget_usd=1)
    html = _page(world, identity, f"/runs/{world.run.pk}/")
    assert ('id="raise-budget"' in html) is (identity == "owner")
    assert ('id="run-cancel"' in html) is (identity in ("owner", "editor"))
    assert ("data-row-review" in html) is (identity != "viewer")
    rows = _page(world, identity, f"/runs/{world.run.pk}/rows/")
    assert ("data-row-review" in rows) is (identity != "viewer")


@pytest.mark.django_db
@pytest.mark.parametrize("identity", MEMBERS)
def test_export_page_shows_the_hub_push_to_the_owner_only(identity: str, world: World) -> None:
    html = _page(world, identity, f"/runs/{world.run.pk}/export/")
    assert ('name="repo_id"' in html) is (identity == "owner")
    assert f"/runs/{world.run.pk}/export.jsonl" in html


# --------------------------------------------------------------------------------------------
# Websocket
# --------------------------------------------------------------------------------------------


def session_headers(user) -> list[tuple[bytes, bytes]]:
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
def owner_headers(owner) -> list[tuple[bytes, bytes]]:
    return session_headers(owner)


@pytest.fixture
def stranger_headers(stranger) -> list[tuple[bytes, bytes]]:
    return session_headers(stranger)


async def _connect(path: str, headers: list[tuple[bytes, bytes]]) -> tuple[Any, Any]:
    from config.asgi import application

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


@pytest.fixture
def member_headers(world: World) -> dict[str, list[tuple[bytes, bytes]]]:
    """Each member's browser headers, for a run stopped by its budget (every control shows)."""
    Run.objects.filter(pk=world.run.pk).update(status=Run.Status.BUDGET_REACHED, budget_usd=1)
    return {identity: session_headers(world.users[identity]) for identity in MEMBERS}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("identity", MEMBERS)
async def test_every_member_watches_the_run_with_the_controls_of_their_role(
    identity: str, world: World, member_headers: dict
) -> None:
    path = f"/ws/runs/{world.run.pk}/"
    communicator, (connected, _) = await _connect(path, member_headers[identity])
    try:
        assert connected is True
        message = await communicator.receive_from(timeout=5)
        assert "Question 0?" in message
        assert ('id="run-cancel"' in message) is (identity in ("owner", "editor"))
        assert ('id="raise-budget"' in message) is (identity == "owner")
        assert ("data-row-review" in message) is (identity != "viewer")
    finally:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_removed_member_loses_the_project_at_once(
    world: World, member_headers: dict
) -> None:
    """Pages, API and websocket ask for the membership on every request: a reviewer removed by
    the owner gets 404 from the session, the token and a newly opened socket they already held."""
    from asgiref.sync import sync_to_async

    from studio.members import member_remove

    reviewer, project_id = world.users["reviewer"], world.project.pk
    page = await sync_to_async(client_for)(reviewer)
    api, headers = await sync_to_async(_client)(world, "reviewer", api=True)
    path = f"/ws/runs/{world.run.pk}/"
    urls = [f"/projects/{project_id}/", f"/runs/{world.run.pk}/"]

    async def statuses() -> list[int]:
        found = [(await sync_to_async(page.get)(url)).status_code for url in urls]
        response = await sync_to_async(api.get)(f"/api/projects/{project_id}", **headers)
        return [*found, response.status_code]

    assert await statuses() == [200, 200, 200]
    communicator, (connected, _) = await _connect(path, member_headers["reviewer"])
    assert connected is True
    await communicator.disconnect()

    await sync_to_async(member_remove)(
        project=world.project, by=world.users["owner"], user_id=reviewer.pk
    )

    assert await statuses() == [404, 404, 404]
    communicator, (connected, code) = await _connect(path, member_headers["reviewer"])
    assert (connected, code) == (False, 4404)
    await communicator.disconnect()
