"""The project page's Members section as people use it: the owner adds a member by username or
e-mail, changes roles and removes members (htmx answers with the section); other members see the
list and may leave; refusals show beside their field or row, never as a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from studio.members import MSG_LAST_OWNER_DEMOTE, MSG_LAST_OWNER_LEAVE, MSG_NO_USER
from studio.services import project_member_add
from tests.fixtures import client_for

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def reviewer_to_be(db):
    return get_user_model().objects.create_user("rita", email="Rita@Example.org")


def roles(project) -> dict[str, str]:
    return dict(project.memberships.values_list("user__username", "role"))


def test_owner_adds_a_member_by_email_and_gets_the_section_back(
    owner_client, project, reviewer_to_be
) -> None:
    response = owner_client.post(
        f"/projects/{project.pk}/members/",
        {"identifier": "rita@example.org", "role": "reviewer"},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="members"' in html and "<html" not in html
    assert "Added rita as reviewer." in html
    assert "Rita@example.org" in html  # Django lower-cases the domain only
    assert roles(project)["rita"] == "reviewer"


def test_plain_form_post_redirects_to_the_members_section(owner_client, project, reviewer_to_be):
    response = owner_client.post(
        f"/projects/{project.pk}/members/", {"identifier": "rita", "role": "viewer"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.pk}/#members"
    assert "Added rita as viewer." in owner_client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"identifier": "nobody@example.org", "role": "viewer"}, MSG_NO_USER),
        ({"identifier": "collaborator", "role": "viewer"}, "collaborator is already a member"),
        ({"identifier": "   ", "role": "viewer"}, "This field is required."),
        ({"identifier": "rita", "role": "admin"}, "Select a valid choice."),
        ({"identifier": "rita\x00", "role": "viewer"}, "Null characters are not allowed."),
    ],
)
def test_a_refused_add_shows_the_error_beside_the_field(
    owner_client, project, reviewer_to_be, data, message
) -> None:
    before = roles(project)
    htmx = owner_client.post(f"/projects/{project.pk}/members/", data, **HTMX)
    assert htmx.status_code == 200
    assert message in htmx.content.decode()
    assert 'class="field invalid"' in htmx.content.decode()
    page = owner_client.post(f"/projects/{project.pk}/members/", data)
    assert page.status_code == 400
    assert message in page.content.decode()
    assert roles(project) == before


def test_owner_changes_a_role_and_removes_a_member(owner_client, project, collaborator) -> None:
    url = f"/projects/{project.pk}/members/{collaborator.pk}"
    response = owner_client.post(f"{url}/role/", {"role": "reviewer"}, **HTMX)
    assert "collaborator is now reviewer." in response.content.decode()
    assert roles(project)["collaborator"] == "reviewer"
    response = owner_client.post(f"{url}/remove/", **HTMX)
    assert "Removed collaborator from the project." in response.content.decode()
    assert "collaborator" not in roles(project)


def test_the_last_owner_cannot_demote_themselves_nor_leave(owner_client, project, owner) -> None:
    url = f"/projects/{project.pk}/members/{owner.pk}"
    response = owner_client.post(f"{url}/role/", {"role": "viewer"}, **HTMX)
    assert MSG_LAST_OWNER_DEMOTE in response.content.decode()
    response = owner_client.post(f"{url}/remove/", **HTMX)
    assert MSG_LAST_OWNER_LEAVE in response.content.decode()
    assert owner_client.post(f"{url}/remove/").status_code == 400
    assert roles(project)["owner"] == "owner"


def test_a_bad_role_in_a_row_is_shown_in_that_row(owner_client, project, collaborator) -> None:
    url = f"/projects/{project.pk}/members/{collaborator.pk}/role/"
    response = owner_client.post(url, {"role": "superuser"}, **HTMX)
    assert "Select a valid choice" in response.content.decode()
    assert roles(project)["collaborator"] == "editor"


def test_a_user_who_is_not_a_member_is_404(owner_client, project, stranger) -> None:
    url = f"/projects/{project.pk}/members/{stranger.pk}"
    assert owner_client.post(f"{url}/role/", {"role": "viewer"}).status_code == 404
    assert owner_client.post(f"{url}/remove/").status_code == 404


def test_an_owner_who_makes_another_owner_then_steps_down_loses_the_controls(
    owner_client, project, owner, collaborator
) -> None:
    base = f"/projects/{project.pk}/members"
    owner_client.post(f"{base}/{collaborator.pk}/role/", {"role": "owner"}, **HTMX)
    html = owner_client.post(f"{base}/{owner.pk}/role/", {"role": "editor"}, **HTMX).content
    assert roles(project) == {"owner": "editor", "collaborator": "owner"}
    assert b'id="member-add"' not in html  # the section answers with the new role's view


@pytest.mark.parametrize("role", ["owner", "editor", "reviewer", "viewer"])
def test_every_member_sees_the_list_only_owners_see_the_controls(
    project, owner, collaborator, reviewer_to_be, role
) -> None:
    if role == "owner":
        user = owner
    else:
        user = reviewer_to_be
        project_member_add(project=project, user=user, role=role)
    html = client_for(user).get(f"/projects/{project.pk}/").content.decode()
    assert 'id="members"' in html
    assert "collaborator" in html and "Editor" in html
    owner_only = [
        'id="member-add"',
        f"/projects/{project.pk}/members/{collaborator.pk}/role/",
        f"/projects/{project.pk}/members/{collaborator.pk}/remove/",
    ]
    assert [part in html for part in owner_only] == [role == "owner"] * 3
    # Everyone may leave, but the only owner (who would be refused) is not offered it.
    assert ("Leave project" in html) is (role != "owner")
    assert ("the only owner" in html) is (role == "owner")
    assert 'hx-confirm="Remove collaborator from this project?"' in html or role != "owner"


def test_a_member_leaves_and_loses_the_project(project, collaborator) -> None:
    client = client_for(collaborator)
    response = client.post(f"/projects/{project.pk}/members/{collaborator.pk}/remove/", **HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/"
    assert "collaborator" not in roles(project)
    assert client.get(f"/projects/{project.pk}/").status_code == 404
    assert "You left Trivia." in client.get("/").content.decode()


def test_leaving_without_htmx_redirects_to_the_project_list(project, collaborator) -> None:
    client = client_for(collaborator)
    response = client.post(f"/projects/{project.pk}/members/{collaborator.pk}/remove/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_signup_takes_an_optional_email(client) -> None:
    data = {
        "username": "newbie",
        "password1": "a-long-pass-12345",
        "password2": "a-long-pass-12345",
    }
    assert client.post("/signup/", data | {"email": "newbie@example.org"}).status_code == 302
    assert get_user_model().objects.get(username="newbie").email == "newbie@example.org"
    client.logout()
    data["username"] = "nomail"
    assert client.post("/signup/", data).status_code == 302
