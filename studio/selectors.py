"""Read access to the core objects. Every request handler fetches through these and names the
action it needs (studio/permissions.py), so a user who is not a member of a project gets 404 for
it and everything in it, and a member whose role may not do the action gets 403."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from studio.models import (
    ApiToken,
    DatasetSchema,
    DatasetSchemaVersion,
    Membership,
    Project,
    ProviderCredential,
    SeedFile,
)
from studio.permissions import Action, refusal_message, role_may

AnyUser = User | AnonymousUser


def project_list_for_user(*, user: AnyUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user).select_related("owner").distinct()


def project_role_for_user(*, user: AnyUser, project_id: int) -> str | None:
    """The user's role in the project, or None for a stranger or an anonymous visitor."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.filter(project_id=project_id, user=user)
        .values_list("role", flat=True)
        .first()
    )


def authorize(*, user: AnyUser, project: Project, action: Action, missing: str) -> None:
    """The one access check. A stranger gets 404 (``missing``: ids reveal nothing); a member whose
    role may not do ``action`` gets 403 with the reason (studio/permissions.py). The role is kept
    on ``project`` so its pages show only what the user may do (the ``may`` template filter)."""
    role = project_role_for_user(user=user, project_id=project.pk)
    if role is None:
        raise Http404(missing)
    project.member_role = role
    if not role_may(role, action):
        raise PermissionDenied(refusal_message(role, action))


def project_get_for_user(*, user: AnyUser, project_id: int, action: Action) -> Project:
    project = Project.objects.select_related("owner").filter(pk=project_id).first()
    if project is None:
        raise Http404("No such project")
    authorize(user=user, project=project, action=action, missing="No such project")
    return project


def member_list(*, project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("created_at", "pk")


def member_get(*, project: Project, user_id: int) -> Membership:
    """A member of a project the caller already holds; 404 for anyone else."""
    membership = member_list(project=project).filter(user_id=user_id).first()
    if membership is None:
        raise Http404("No such member")
    return membership


def credential_list(*, project: Project) -> QuerySet[ProviderCredential]:
    return project.credentials.order_by("name")


def credential_get_for_user(
    *, user: AnyUser, credential_id: int, action: Action
) -> ProviderCredential:
    credential = (
        ProviderCredential.objects.filter(pk=credential_id).select_related("project").first()
    )
    if credential is None:
        raise Http404("No such credential")
    authorize(user=user, project=credential.project, action=action, missing="No such credential")
    return credential


def schema_list(*, project: Project) -> QuerySet[DatasetSchema]:
    return project.schemas.order_by("name")


def schema_get_for_user(*, user: AnyUser, schema_id: int, action: Action) -> DatasetSchema:
    schema = DatasetSchema.objects.filter(pk=schema_id).select_related("project").first()
    if schema is None:
        raise Http404("No such schema")
    authorize(user=user, project=schema.project, action=action, missing="No such schema")
    return schema


def schema_version_get(*, schema: DatasetSchema, version: int) -> DatasetSchemaVersion:
    """One saved version of a schema the caller already holds; 404 for a number it never had."""
    found = schema.versions.filter(version=version).first()
    if found is None:
        raise Http404(f"Schema '{schema.name}' has no version {version}")
    return found


def api_token_list(*, user: AnyUser) -> QuerySet[ApiToken]:
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user=user)


def api_token_get_for_user(*, user: AnyUser, token_id: int) -> ApiToken:
    """The caller's own token; someone else's is as unknown as one that never existed."""
    token = api_token_list(user=user).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token")
    return token


def seed_file_list(*, project: Project) -> QuerySet[SeedFile]:
    return project.seed_files.defer("text").order_by("-created_at")


def seed_file_get_for_user(*, user: AnyUser, seed_file_id: int, action: Action) -> SeedFile:
    seed_file = SeedFile.objects.filter(pk=seed_file_id).select_related("project").first()
    if seed_file is None:
        raise Http404("No such seed file")
    authorize(user=user, project=seed_file.project, action=action, missing="No such seed file")
    return seed_file


def seed_file_head(*, seed_file: SeedFile, count: int = 10) -> list[dict]:
    return list(seed_file.rows.order_by("index").values_list("data", flat=True)[:count])
