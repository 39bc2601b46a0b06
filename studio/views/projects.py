"""The project list and a project's page (its credentials, schemas, runs and seed files)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from studio import selectors, services
from studio.forms import MemberAddForm, ProjectForm, SeedUploadForm
from studio.models import Membership, Project
from studio.permissions import Action
from studio.signed_in import SignedInRequest


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request: SignedInRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(user=request.user, **form.cleaned_data)
        return redirect("project-detail", project.pk)
    projects = selectors.project_list_for_user(user=request.user).annotate(
        run_count=Count("runs", distinct=True), schema_count=Count("schemas", distinct=True)
    )
    return render(request, "studio/project_list.html", {"projects": projects, "form": form})


@login_required
def project_detail(request: HttpRequest, project_id: int) -> HttpResponse:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.VIEW
    )
    return project_page(request, project, SeedUploadForm())


def members_context(
    project: Project,
    *,
    member_form: MemberAddForm | None = None,
    member_error: tuple[int, str] | None = None,
    notice: str = "",
) -> dict[str, Any]:
    """What the Members section shows: the members, the owner's add form (bound, with its
    errors, after a refused add), a refused change beside its member's row, a notice."""
    listed = list(selectors.member_list(project=project))
    return {
        "project": project,
        "members": listed,
        # The last owner is offered no "Leave project" (it would be refused).
        "owner_count": sum(member.role == Membership.Role.OWNER for member in listed),
        "member_form": member_form or MemberAddForm(),
        "member_error": member_error,
        "member_notice": notice,
        "role_choices": Membership.Role.choices,
    }


def project_page(
    request: HttpRequest, project, upload_form, status: int = 200, **members: Any
) -> HttpResponse:
    """The project's page, with ``upload_form`` (bound and showing its errors after a refused
    upload) and the Members section (``members``: see ``members_context``)."""
    context = {
        **members_context(project, **members),
        "project": project,
        "credentials": selectors.credential_list(project=project),
        "schemas": selectors.schema_list(project=project),
        "runs": project.runs.order_by("-created_at")[:20],
        "seed_files": selectors.seed_file_list(project=project),
        "upload_form": upload_form,
    }
    return render(request, "studio/project_detail.html", context, status=status)
