"""Who is in a project: adding a member by username or e-mail, changing a role, removing a member
or leaving. The page (studio/views/members.py) and the API (studio/members_api.py) both call
these; the access check is the caller's (``Action.MANAGE_PROJECT``, or ``Action.VIEW`` to leave).

The one rule no request may break: a project always keeps an owner. Every change takes the
project's owner memberships with ``SELECT ... FOR UPDATE`` (in primary key order, so two changes
never deadlock) and counts them under that lock: two owners demoting each other at the same time
are serialised, and the second sees one owner left and is refused. The lock also re-checks that
the one who asks is still an owner, in case they were demoted while their request waited.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from studio.models import Membership, Project
from studio.permissions import Action, refusal_message

MSG_NO_USER = "No user with that username or e-mail"
MSG_SEVERAL_USERS = "Several users have that e-mail: add them by username"
MSG_ALREADY_MEMBER = "{username} is already a member of this project"
MSG_LAST_OWNER_LEAVE = "The last owner cannot leave the project: make another member owner first"
MSG_LAST_OWNER_DEMOTE = "The last owner cannot be demoted: make another member owner first"
MSG_NOT_A_MEMBER = "That user is not a member of this project"
MSG_BAD_ROLE = "Choose a role: owner, editor, reviewer or viewer"


class MemberError(Exception):
    """A change of members the rules refuse. ``field`` names the input it is about (``identifier``
    or ``role``), or None for a rule of the project (the last owner)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def user_find(identifier: str) -> User:
    """The user a person typed: a username (exact, then case-insensitive), else an e-mail
    address (case-insensitive). MemberError when nobody, or several people, match."""
    users = get_user_model().objects
    text = identifier.strip()
    exact = users.filter(username=text).first()
    if exact is not None:
        return exact
    for found in (users.filter(username__iexact=text), users.filter(email__iexact=text)):
        matches = list(found[:2]) if text else []
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise MemberError(MSG_SEVERAL_USERS, field="identifier")
    raise MemberError(MSG_NO_USER, field="identifier")


def _check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise MemberError(MSG_BAD_ROLE, field="role")


def _owner_ids_locked(project: Project) -> list[int]:
    """The project's owners, their memberships locked until the transaction ends."""
    return list(
        Membership.objects.select_for_update()
        .filter(project=project, role=Membership.Role.OWNER)
        .order_by("pk")
        .values_list("user_id", flat=True)
    )


def _require_owner(project: Project, by: User, owner_ids: list[int]) -> None:
    """The caller passed the access check before the lock; re-checked under it."""
    if by.pk not in owner_ids:
        role = (
            Membership.objects.filter(project=project, user=by)
            .values_list("role", flat=True)
            .first()
        )
        raise PermissionDenied(refusal_message(role or "none", Action.MANAGE_PROJECT))


def _membership_locked(project: Project, user_id: int) -> Membership:
    membership = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(project=project, user_id=user_id)
        .first()
    )
    if membership is None:
        raise MemberError(MSG_NOT_A_MEMBER)
    return membership


def _keep_project_owner(project: Project) -> None:
    """``Project.owner`` (who made it) follows the owners: when that person is no longer one,
    the longest-standing owner takes the field."""
    owners = Membership.objects.filter(project=project, role=Membership.Role.OWNER)
    if owners.filter(user_id=project.owner_id).exists():
        return
    first = owners.order_by("created_at", "pk").values_list("user_id", flat=True).first()
    if first is not None:
        project.owner_id = first
        project.save(update_fields=["owner"])


@transaction.atomic
def member_add(*, project: Project, by: User, identifier: str, role: str) -> Membership:
    """Add the user named by ``identifier`` (username or e-mail) with ``role``."""
    _check_role(role)
    _require_owner(project, by, _owner_ids_locked(project))
    user = user_find(identifier)
    already = MSG_ALREADY_MEMBER.replace("{username}", user.get_username())
    if Membership.objects.filter(project=project, user=user).exists():
        raise MemberError(already, field="identifier")
    try:
        with transaction.atomic():
            return Membership.objects.create(project=project, user=user, role=role)
    except IntegrityError:  # added by another request a moment ago
        raise MemberError(already, field="identifier") from None


@transaction.atomic
def member_change_role(*, project: Project, by: User, user_id: int, role: str) -> Membership:
    _check_role(role)
    owner_ids = _owner_ids_locked(project)
    _require_owner(project, by, owner_ids)
    membership = _membership_locked(project, user_id)
    demoted = membership.role == Membership.Role.OWNER and role != Membership.Role.OWNER
    if demoted and len(owner_ids) <= 1:
        raise MemberError(MSG_LAST_OWNER_DEMOTE)
    if membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
        _keep_project_owner(project)
    return membership


@transaction.atomic
def member_remove(*, project: Project, by: User, user_id: int) -> None:
    """Remove a member; ``by`` removing themselves is leaving, which any member may do."""
    owner_ids = _owner_ids_locked(project)
    leaving = by.pk == user_id
    if not leaving:
        _require_owner(project, by, owner_ids)
    membership = _membership_locked(project, user_id)
    # Only leaving can get here with one owner: removing someone else takes an owner besides.
    if membership.role == Membership.Role.OWNER and len(owner_ids) <= 1:
        raise MemberError(MSG_LAST_OWNER_LEAVE)
    membership.delete()
    _keep_project_owner(project)
