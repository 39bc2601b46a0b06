"""Read access to the core objects. Every request handler fetches through these, so a user who
is not a member of a project gets 404 for it and everything in it."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.http import Http404

from studio.models import (
    ApiToken,
    DatasetSchema,
    DatasetSchemaVersion,
    Project,
    ProviderCredential,
    SeedFile,
)

AnyUser = AbstractBaseUser | AnonymousUser


def project_list_for_user(*, user: AnyUser) -> QuerySet[Project]:
    if not user.is_authenticated:
        return Project.objects.none()
    return Project.objects.filter(memberships__user=user).select_related("owner").distinct()


def project_get_for_user(*, user: AnyUser, project_id: int) -> Project:
    project = project_list_for_user(user=user).filter(pk=project_id).first()
    if project is None:
        raise Http404("No such project")
    return project


def user_can_see_project(*, user: AnyUser, project_id: int) -> bool:
    return project_list_for_user(user=user).filter(pk=project_id).exists()


def credential_list(*, project: Project) -> QuerySet[ProviderCredential]:
    return project.credentials.order_by("name")


def credential_get_for_user(*, user: AnyUser, credential_id: int) -> ProviderCredential:
    credential = (
        ProviderCredential.objects.filter(
            pk=credential_id, project__in=project_list_for_user(user=user)
        )
        .select_related("project")
        .first()
    )
    if credential is None:
        raise Http404("No such credential")
    return credential


def schema_list(*, project: Project) -> QuerySet[DatasetSchema]:
    return project.schemas.order_by("name")


def schema_get_for_user(*, user: AnyUser, schema_id: int) -> DatasetSchema:
    schema = (
        DatasetSchema.objects.filter(pk=schema_id, project__in=project_list_for_user(user=user))
        .select_related("project")
        .first()
    )
    if schema is None:
        raise Http404("No such schema")
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


def seed_file_get_for_user(*, user: AnyUser, seed_file_id: int) -> SeedFile:
    seed_file = (
        SeedFile.objects.filter(pk=seed_file_id, project__in=project_list_for_user(user=user))
        .select_related("project")
        .first()
    )
    if seed_file is None:
        raise Http404("No such seed file")
    return seed_file


def seed_file_head(*, seed_file: SeedFile, count: int = 10) -> list[dict]:
    return list(seed_file.rows.order_by("index").values_list("data", flat=True)[:count])
