"""Who is in a project (studio/members.py): adding by username or e-mail, changing roles,
removing and leaving, and the rule nothing may break: a project always keeps an owner."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection, connections

from studio import members as members_module
from studio.members import (
    MSG_ALREADY_MEMBER,
    MSG_LAST_OWNER_DEMOTE,
    MSG_LAST_OWNER_LEAVE,
    MSG_NO_USER,
    MSG_SEVERAL_USERS,
    MemberError,
    member_add,
    member_change_role,
    member_remove,
)
from studio.models import Membership, Project
from studio.services import project_create


def make_user(username: str, email: str = ""):
    return get_user_model().objects.create_user(username, email=email, password="x" * 20)


def roles(project: Project) -> dict[str, str]:
    return dict(project.memberships.values_list("user__username", "role"))


@pytest.mark.django_db
class TestAdd:
    def test_by_username_any_case(self, project, owner) -> None:
        make_user("Ada")
        member_add(project=project, by=owner, identifier="  ada ", role="reviewer")
        assert roles(project)["Ada"] == "reviewer"

    def test_by_email_any_case(self, project, owner) -> None:
        make_user("grace", email="Grace@Example.org")
        membership = member_add(
            project=project, by=owner, identifier="grace@example.ORG", role="viewer"
        )
        assert membership.user.username == "grace"
        assert roles(project)["grace"] == "viewer"

    def test_an_exact_username_wins_over_a_case_insensitive_one(self, project, owner) -> None:
        make_user("bob")
        make_user("Bob")
        member_add(project=project, by=owner, identifier="Bob", role="viewer")
        assert "Bob" in roles(project) and "bob" not in roles(project)

    def test_unknown_user_is_a_clear_error(self, project, owner) -> None:
        with pytest.raises(MemberError) as refused:
            member_add(project=project, by=owner, identifier="nobody@example.org", role="viewer")
        assert (refused.value.message, refused.value.field) == (MSG_NO_USER, "identifier")

    def test_an_email_shared_by_two_users_asks_for_the_username(self, project, owner) -> None:
        make_user("one", email="team@example.org")
        make_user("two", email="TEAM@example.org")
        with pytest.raises(MemberError, match=MSG_SEVERAL_USERS):
            member_add(project=project, by=owner, identifier="team@example.org", role="viewer")

    def test_already_a_member_is_a_clear_error(self, project, owner, collaborator) -> None:
        with pytest.raises(MemberError) as refused:
            member_add(project=project, by=owner, identifier="collaborator", role="owner")
        assert refused.value.message == MSG_ALREADY_MEMBER.replace("{username}", "collaborator")
        assert roles(project)["collaborator"] == "editor"

    def test_an_unknown_role_is_refused(self, project, owner, stranger) -> None:
        with pytest.raises(MemberError) as refused:
            member_add(project=project, by=owner, identifier="stranger", role="admin")
        assert refused.value.field == "role"
        assert "stranger" not in roles(project)

    def test_only_an_owner_adds(self, project, collaborator, stranger) -> None:
        with pytest.raises(PermissionDenied, match=r"\(editor\) may not manage this project"):
            member_add(project=project, by=collaborator, identifier="stranger", role="owner")


@pytest.mark.django_db
class TestRolesAndRemoval:
    def test_owner_changes_a_role(self, project, owner, collaborator) -> None:
        member_change_role(project=project, by=owner, user_id=collaborator.pk, role="reviewer")
        assert roles(project)["collaborator"] == "reviewer"

    def test_the_last_owner_cannot_be_demoted(self, project, owner) -> None:
        with pytest.raises(MemberError, match=MSG_LAST_OWNER_DEMOTE):
            member_change_role(project=project, by=owner, user_id=owner.pk, role="editor")
        assert roles(project)["owner"] == "owner"

    def test_the_last_owner_cannot_leave(self, project, owner) -> None:
        with pytest.raises(MemberError, match=MSG_LAST_OWNER_LEAVE):
            member_remove(project=project, by=owner, user_id=owner.pk)
        assert roles(project)["owner"] == "owner"

    def test_with_a_second_owner_the_first_may_leave(self, project, owner, collaborator) -> None:
        member_change_role(project=project, by=owner, user_id=collaborator.pk, role="owner")
        member_remove(project=project, by=owner, user_id=owner.pk)
        assert roles(project) == {"collaborator": "owner"}
        project.refresh_from_db()
        assert project.owner == collaborator  # the project's owner field follows the owners

    def test_an_owner_removed_by_another_owner(self, project, owner, collaborator) -> None:
        member_change_role(project=project, by=owner, user_id=collaborator.pk, role="owner")
        member_remove(project=project, by=collaborator, user_id=owner.pk)
        assert roles(project) == {"collaborator": "owner"}

    def test_the_last_owner_cannot_be_removed_by_anyone(self, project, owner, collaborator) -> None:
        # Only an owner may remove someone else, so this is the owner removing themselves by
        # another path: a demoted-meanwhile caller is refused before the rule is even asked.
        with pytest.raises(PermissionDenied):
            member_remove(project=project, by=collaborator, user_id=owner.pk)
        with pytest.raises(MemberError, match=MSG_LAST_OWNER_LEAVE):
            member_remove(project=project, by=owner, user_id=owner.pk)

    def test_any_member_may_leave(self, project, owner, collaborator) -> None:
        viewer = make_user("viewer")
        member_add(project=project, by=owner, identifier="viewer", role="viewer")
        member_remove(project=project, by=viewer, user_id=viewer.pk)
        member_remove(project=project, by=collaborator, user_id=collaborator.pk)
        assert roles(project) == {"owner": "owner"}

    def test_a_non_owner_cannot_remove_others(self, project, owner, collaborator) -> None:
        with pytest.raises(PermissionDenied):
            member_remove(project=project, by=collaborator, user_id=owner.pk)
        assert set(roles(project)) == {"owner", "collaborator"}

    def test_removing_someone_who_is_not_a_member(self, project, owner, stranger) -> None:
        with pytest.raises(MemberError):
            member_remove(project=project, by=owner, user_id=stranger.pk)

    def test_ownership_handed_on_still_keeps_one_owner(self, project, owner, collaborator) -> None:
        second = make_user("second")
        member_add(project=project, by=owner, identifier="second", role="owner")
        member_remove(project=project, by=second, user_id=owner.pk)
        member_change_role(project=project, by=second, user_id=collaborator.pk, role="owner")
        member_change_role(project=project, by=collaborator, user_id=second.pk, role="viewer")
        with pytest.raises(MemberError, match=MSG_LAST_OWNER_DEMOTE):
            member_change_role(
                project=project, by=collaborator, user_id=collaborator.pk, role="viewer"
            )
        assert roles(project) == {"collaborator": "owner", "second": "viewer"}
        project.refresh_from_db()
        assert project.owner == collaborator


def _waiting_on_a_lock() -> bool:
    """Whether some other connection of the test database waits for a row lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_owners_demoting_each_other_at_once_leave_one_owner(monkeypatch) -> None:
    """Ada's demotion of Bob holds the owners' row locks; Bob's demotion of Ada, sent meanwhile
    (both passed their access check as owners), waits for them, then finds Bob no owner any more
    and is refused. Without the lock both would count two owners and leave none."""
    ada, bob = make_user("ada"), make_user("bob")
    project = project_create(user=ada, name="Shared")
    Membership.objects.create(project=project, user=bob, role=Membership.Role.OWNER)
    ada_holds_locks, release = threading.Event(), threading.Event()
    original = members_module._membership_locked

    def pausing(project, user_id):
        found = original(project, user_id)
        if threading.current_thread().name == "ada":
            ada_holds_locks.set()
            release.wait(timeout=30)
        return found

    monkeypatch.setattr(members_module, "_membership_locked", pausing)
    outcomes: dict[str, str] = {}

    def demote(by, other) -> None:
        try:
            member_change_role(project=project, by=by, user_id=other.pk, role="editor")
            outcomes[by.username] = "demoted"
        except (MemberError, PermissionDenied) as exc:
            outcomes[by.username] = type(exc).__name__
        finally:
            connections.close_all()

    first = threading.Thread(target=demote, args=(ada, bob), name="ada")
    second = threading.Thread(target=demote, args=(bob, ada), name="bob")
    first.start()
    assert ada_holds_locks.wait(timeout=30)
    second.start()
    for _ in range(300):  # until Bob's request waits for Ada's locks
        if _waiting_on_a_lock():
            break
        time.sleep(0.05)
    waited = _waiting_on_a_lock()
    release.set()
    first.join(timeout=30)
    second.join(timeout=30)
    assert waited, "the second demotion did not wait for the owners' row locks"
    assert outcomes == {"ada": "demoted", "bob": "PermissionDenied"}
    assert roles(project) == {"ada": "owner", "bob": "editor"}
