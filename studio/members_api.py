"""REST endpoints for a project's members: list, add (by username or e-mail), change a role,
remove or leave. The same services and rules as the project page (studio/members.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from studio import members, selectors
from studio.api_input import InputSchema
from studio.form_validation import form_validated
from studio.forms import MemberAddForm
from studio.models import Membership
from studio.permissions import Action, Role, member_removal_action
from studio.signed_in import SignedInRequest

router = Router(tags=["members"])


class MemberIn(InputSchema):
    identifier: str = Field(
        min_length=1, max_length=254, description="The person's username or e-mail address."
    )
    role: Role = Role.VIEWER


class MemberPatch(InputSchema):
    role: Role


class MemberOut(Schema):
    user_id: int
    username: str
    email: str
    role: Role
    since: datetime


def _out(membership: Membership) -> dict[str, Any]:
    return {
        "user_id": membership.user_id,
        "username": membership.user.get_username(),
        "email": membership.user.email,
        "role": membership.role,
        "since": membership.created_at,
    }


@router.get("/projects/{project_id}/members", response=list[MemberOut])
def list_members(request: HttpRequest, project_id: int) -> Any:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.VIEW
    )
    return [_out(membership) for membership in selectors.member_list(project=project)]


@router.post("/projects/{project_id}/members", response={201: MemberOut})
def add_member(request: SignedInRequest, project_id: int, payload: MemberIn) -> Any:
    """Add a user by username or e-mail (case-insensitive). 422 when nobody has it, or when
    they are already a member."""
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.MANAGE_PROJECT
    )
    data = form_validated(MemberAddForm, payload.dict())
    membership = members.member_add(project=project, by=request.user, **data)
    return Status(201, _out(membership))


@router.patch("/projects/{project_id}/members/{user_id}", response=MemberOut)
def change_member_role(
    request: SignedInRequest, project_id: int, user_id: int, payload: MemberPatch
) -> Any:
    """Change a member's role. The last owner cannot be demoted (400)."""
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.MANAGE_PROJECT
    )
    selectors.member_get(project=project, user_id=user_id)
    membership = members.member_change_role(
        project=project, by=request.user, user_id=user_id, role=payload.role
    )
    return _out(membership)


@router.delete("/projects/{project_id}/members/{user_id}", response={204: None})
def remove_member(request: SignedInRequest, project_id: int, user_id: int) -> Any:
    """Remove a member (owners), or leave: your own user id, any member may. The last owner
    cannot leave nor be removed (400)."""
    project = selectors.project_get_for_user(
        user=request.user,
        project_id=project_id,
        action=member_removal_action(removing_self=user_id == request.user.pk),
    )
    selectors.member_get(project=project, user_id=user_id)
    members.member_remove(project=project, by=request.user, user_id=user_id)
    return Status(204, None)
