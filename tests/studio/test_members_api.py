"""The members API (studio/members_api.py) as a script uses it: list, add by username or
e-mail, change a role, remove, leave; every refusal a 4xx with a message, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from studio.members import MSG_LAST_OWNER_DEMOTE, MSG_LAST_OWNER_LEAVE, MSG_NO_USER
from studio.services import api_token_create, project_member_add

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user) -> None:
        _, token = api_token_create(user=user, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", raise_request_exception=False)

    def send(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        if body is None:
            return getattr(self.client, method)(url)
        return getattr(self.client, method)(
            url, data=json.dumps(body), content_type="application/json"
        )


@pytest.fixture
def rita(db):
    return get_user_model().objects.create_user("rita", email="rita@example.org")


def roles(project) -> dict[str, str]:
    return dict(project.memberships.values_list("user__username", "role"))


def test_owner_lists_adds_changes_and_removes(owner, project, rita) -> None:
    api, base = Api(owner), f"/api/projects/{project.pk}/members"
    listed = api.send("get", base).json()
    assert [(m["username"], m["role"]) for m in listed] == [
        ("owner", "owner"),
        ("collaborator", "editor"),
    ]
    assert set(listed[0]) == {"user_id", "username", "email", "role", "since"}
    added = api.send("post", base, {"identifier": "RITA@example.org", "role": "reviewer"})
    assert added.status_code == 201
    assert added.json() | {"since": None} == {
        "user_id": rita.pk,
        "username": "rita",
        "email": "rita@example.org",
        "role": "reviewer",
        "since": None,
    }
    changed = api.send("patch", f"{base}/{rita.pk}", {"role": "editor"})
    assert changed.status_code == 200 and changed.json()["role"] == "editor"
    assert api.send("delete", f"{base}/{rita.pk}").status_code == 204
    assert "rita" not in roles(project)


def test_add_defaults_to_viewer(owner, project, rita) -> None:
    response = Api(owner).send(
        "post", f"/api/projects/{project.pk}/members", {"identifier": "rita"}
    )
    assert response.status_code == 201 and response.json()["role"] == "viewer"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"identifier": "ghost", "role": "viewer"}, "identifier", MSG_NO_USER),
        ({"identifier": "collaborator"}, "identifier", "collaborator is already a member"),
        ({"identifier": "rita", "role": "admin"}, "role", "Input should be"),
        ({"identifier": ""}, "identifier", "at least 1 character"),
        ({"identifier": "   "}, "identifier", "This field is required."),
        ({"identifier": "x" * 300}, "identifier", "at most 254 characters"),
        ({"identifier": "ri\x00ta"}, "identifier", "NUL"),
        ({"role": "viewer"}, "identifier", "Field required"),
    ],
)
def test_a_refused_add_is_a_422_naming_the_field(owner, project, rita, body, field, message):
    before = roles(project)
    response = Api(owner).send("post", f"/api/projects/{project.pk}/members", body)
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert [item["loc"][-1] for item in detail] == [field]
    assert message in detail[0]["msg"]
    assert roles(project) == before


def test_the_last_owner_cannot_be_demoted_nor_leave(owner, project) -> None:
    api, url = Api(owner), f"/api/projects/{project.pk}/members/{owner.pk}"
    demoted = api.send("patch", url, {"role": "viewer"})
    assert (demoted.status_code, demoted.json()) == (400, {"detail": MSG_LAST_OWNER_DEMOTE})
    left = api.send("delete", url)
    assert (left.status_code, left.json()) == (400, {"detail": MSG_LAST_OWNER_LEAVE})
    assert roles(project)["owner"] == "owner"


def test_a_bad_role_in_a_patch_is_a_422(owner, project, collaborator) -> None:
    url = f"/api/projects/{project.pk}/members/{collaborator.pk}"
    for body in ({"role": "root"}, {}, {"role": None}):
        assert Api(owner).send("patch", url, body).status_code == 422
    assert roles(project)["collaborator"] == "editor"


def test_someone_not_in_the_project_is_404(owner, project, stranger) -> None:
    url = f"/api/projects/{project.pk}/members/{stranger.pk}"
    assert Api(owner).send("patch", url, {"role": "viewer"}).status_code == 404
    assert Api(owner).send("delete", url).status_code == 404
    assert (
        Api(owner).send("delete", f"/api/projects/{project.pk}/members/999999").status_code == 404
    )


@pytest.mark.parametrize("role", ["editor", "reviewer", "viewer"])
def test_any_member_may_leave_but_not_change_others(owner, project, rita, role) -> None:
    project_member_add(project=project, user=rita, role=role)
    api, base = Api(rita), f"/api/projects/{project.pk}/members"
    assert [m["username"] for m in api.send("get", base).json()] == [
        "owner",
        "collaborator",
        "rita",
    ]
    refused = api.send("patch", f"{base}/{rita.pk}", {"role": "owner"})
    assert refused.status_code == 403
    assert f"({role}) may not manage this project" in refused.json()["detail"]
    assert api.send("delete", f"{base}/{owner.pk}").status_code == 403
    assert api.send("delete", f"{base}/{rita.pk}").status_code == 204
    assert "rita" not in roles(project)
    assert api.send("get", base).status_code == 404


def test_the_members_endpoints_are_documented(owner) -> None:
    schema = Client().get("/api/openapi.json").json()
    paths = schema["paths"]
    assert set(paths["/api/projects/{project_id}/members"]) == {"get", "post"}
    assert set(paths["/api/projects/{project_id}/members/{user_id}"]) == {"patch", "delete"}
    add = paths["/api/projects/{project_id}/members"]["post"]
    assert "username or e-mail" in add["description"]
