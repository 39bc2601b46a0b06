"""REST endpoints for projects, credentials and schemas. Keys are write-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from studio import selectors, services
from studio.models import ProviderCredential
from studio.schema import SchemaError

router = Router(tags=["projects"])


class ProjectIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""


class ProjectOut(Schema):
    id: int
    name: str
    description: str
    created_at: datetime


class CredentialIn(Schema):
    name: str = Field(min_length=1, max_length=80)
    provider: ProviderCredential.Provider
    api_key: str = ""
    base_url: str = ""
    requests_per_minute: int = Field(default=500, ge=1)


class CredentialPatch(Schema):
    api_key: str | None = None
    base_url: str | None = None


class CredentialOut(Schema):
    id: int
    name: str
    provider: str
    base_url: str
    key_last4: str
    requests_per_minute: int


class SchemaIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    spec: dict[str, Any]


class SchemaOut(Schema):
    id: int
    project_id: int
    name: str
    description: str
    version: int
    spec: dict[str, Any]


class SpecIn(Schema):
    spec: dict[str, Any]


class ValidationOut(Schema):
    valid: bool
    messages: list[str]
    levels: list[list[str]]


@router.get("/projects", response=list[ProjectOut])
def list_projects(request: HttpRequest) -> Any:
    return selectors.project_list_for_user(user=request.user)


@router.post("/projects", response={201: ProjectOut})
def create_project(request: HttpRequest, payload: ProjectIn) -> Any:
    return Status(201, services.project_create(user=request.user, **payload.dict()))


@router.get("/projects/{project_id}", response=ProjectOut)
def get_project(request: HttpRequest, project_id: int) -> Any:
    return selectors.project_get_for_user(user=request.user, project_id=project_id)


@router.get("/projects/{project_id}/credentials", response=list[CredentialOut])
def list_credentials(request: HttpRequest, project_id: int) -> Any:
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    return selectors.credential_list(project=project)


@router.post("/projects/{project_id}/credentials", response={201: CredentialOut})
def create_credential(request: HttpRequest, project_id: int, payload: CredentialIn) -> Any:
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    data = payload.dict()
    data["provider"] = str(payload.provider.value)
    return Status(201, services.credential_create(project=project, **data))


@router.patch("/credentials/{credential_id}", response=CredentialOut)
def update_credential(request: HttpRequest, credential_id: int, payload: CredentialPatch) -> Any:
    credential = selectors.credential_get_for_user(user=request.user, credential_id=credential_id)
    return services.credential_update(
        credential=credential, api_key=payload.api_key, base_url=payload.base_url
    )


@router.get("/projects/{project_id}/schemas", response=list[SchemaOut])
def list_schemas(request: HttpRequest, project_id: int) -> Any:
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    return selectors.schema_list(project=project)


@router.post("/projects/{project_id}/schemas", response={201: SchemaOut})
def create_schema(request: HttpRequest, project_id: int, payload: SchemaIn) -> Any:
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    schema = services.schema_create(
        project=project,
        user=request.user,
        name=payload.name,
        description=payload.description,
        data=payload.spec,
    )
    return Status(201, schema)


@router.post("/projects/{project_id}/schemas/validate", response=ValidationOut)
def validate_schema(request: HttpRequest, project_id: int, payload: SpecIn) -> Any:
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    try:
        spec = services.schema_validate(project=project, data=payload.spec)
    except SchemaError as exc:
        return {"valid": False, "messages": exc.messages, "levels": []}
    return {"valid": True, "messages": [], "levels": spec.levels()}


@router.get("/schemas/{schema_id}", response=SchemaOut)
def get_schema(request: HttpRequest, schema_id: int) -> Any:
    return selectors.schema_get_for_user(user=request.user, schema_id=schema_id)


@router.put("/schemas/{schema_id}", response=SchemaOut)
def update_schema(request: HttpRequest, schema_id: int, payload: SchemaIn) -> Any:
    schema = selectors.schema_get_for_user(user=request.user, schema_id=schema_id)
    return services.schema_update(
        schema=schema,
        data=payload.spec,
        name=payload.name,
        description=payload.description,
        user=request.user,
    )
