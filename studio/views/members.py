"""The project page's Members section: add a member, change a role, remove a member, leave.

An htmx post gets the section back (a refusal shown beside its field or row, 200 so htmx swaps
it); a plain form post is redirected to the page, or gets the page again with the error."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio import members, selectors
from studio.form_validation import form_messages
from studio.forms import MemberAddForm, MemberRoleForm, SeedUploadForm
from studio.models import Membership, Project
from studio.permissions import Action, member_removal_action
from studio.signed_in import SignedInRequest
from studio.views.projects import members_context, project_page


def _answer(
    request: SignedInRequest, project: Project, *, refused: bool = False, **section: Any
) -> HttpResponse:
    # The caller's role may have just changed (an owner who made themselves an editor).
    project.member_role = selectors.project_role_for_user(user=request.user, project_id=project.pk)
    if request.htmx:
        context = members_context(project, **section)
        return render(request, "studio/partials/members.html", context)
    if refused:
        return project_page(request, project, SeedUploadForm(), status=400, **section)
    if section.get("notice"):
        messages.success(request, section["notice"])
    return redirect(reverse("project-detail", args=[project.pk]) + "#members")


@login_required
@require_POST
def member_add(request: SignedInRequest, project_id: int) -> HttpResponse:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.MANAGE_PROJECT
    )
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = members.member_add(project=project, by=request.user, **form.cleaned_data)
        except members.MemberError as exc:
            form.add_error(exc.field, exc.message)
        else:
            notice = f"Added {added.user.get_username()} as {added.get_role_display().lower()}."
            return _answer(request, project, notice=notice)
    return _answer(request, project, refused=True, member_form=form)


@login_required
@require_POST
def member_role(request: SignedInRequest, project_id: int, user_id: int) -> HttpResponse:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.MANAGE_PROJECT
    )
    membership = selectors.member_get(project=project, user_id=user_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        error = " ".join(form_messages(form))
        return _answer(request, project, refused=True, member_error=(user_id, error))
    role = form.cleaned_data["role"]
    try:
        members.member_change_role(project=project, by=request.user, user_id=user_id, role=role)
    except members.MemberError as exc:
        return _answer(request, project, refused=True, member_error=(user_id, exc.message))
    label = Membership.Role(role).label.lower()
    return _answer(request, project, notice=f"{membership.user.get_username()} is now {label}.")


@login_required
@require_POST
def member_remove(request: SignedInRequest, project_id: int, user_id: int) -> HttpResponse:
    """Remove a member, or leave (``user_id`` is the caller's own: any member may)."""
    leaving = user_id == request.user.pk
    project = selectors.project_get_for_user(
        user=request.user,
        project_id=project_id,
        action=member_removal_action(removing_self=leaving),
    )
    membership = selectors.member_get(project=project, user_id=user_id)
    try:
        members.member_remove(project=project, by=request.user, user_id=user_id)
    except members.MemberError as exc:
        return _answer(request, project, refused=True, member_error=(user_id, exc.message))
    if not leaving:
        notice = f"Removed {membership.user.get_username()} from the project."
        return _answer(request, project, notice=notice)
    messages.success(request, f"You left {project.name}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("project-list"))
    return redirect("project-list")
