"""REST endpoints for projects, credentials and schemas. Keys are write-only."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from studio import selectors, services
from studio.models import ProviderCredential
from studio.schema import SchemaError
from studio.schema.serialization import MAX_SCHEMA_TEXT_CHARS, spec_to_json, spec_to_yaml

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
    tokens_per_minute: int = Field(default=200_000, ge=1)
    input_price_per_million: Decimal | None = Field(default=None, ge=0)
    output_price_per_million: Decimal | None = Field(default=None, ge=0)


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
    tokens_per_minute: int
    input_price_per_million: Decimal | None
    output_price_per_million: Decimal | None


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


class VersionOut(Schema):
    version: int
    name: str
    spec: dict[str, Any]
    created_at: datetime


class ImportIn(Schema):
    text: str = Field(min_length=1, max_length=MAX_SCHEMA_TEXT_CHARS)
    name: str | None = None


class SeedFileOut(Schema):
    id: int
    name: str
    kind: str
    size_bytes: int
    columns: list[str]
    renamed: dict[str, str]
    row_count: int
    created_at: datetime


class SeedFileDetailOut(SeedFileOut):
    head: list[dict[str, Any]]


@router.get("/schemas/{schema_id}/versions", response=list[VersionOut])
def list_versions(request: HttpRequest, schema_id: int) -> Any:
    schema = selectors.schema_get_for_user(user=request.user, schema_id=schema_id)
    return schema.versions.all()


@router.post("/schemas/{schema_id}/versions/{version}/restore", response=SchemaOut)
def restore_version(request: HttpRequest, schema_id: int, version: int) -> Any:
    schema = selectors.schema_get_for_user(user=request.user, schema_id=schema_id)
    if not schema.versions.filter(version=version).exists():
        raise SchemaError([f"Schema '{schema.name}' has no version {version}"])
    return services.schema_restore(schema=schema, version=version, user=request.user)


@router.get("/schemas/{schema_id}/export")
def export_schema(request: HttpRequest, schema_id: int, format: str = "yaml") -> HttpResponse:
    """The schema as a YAML (default) or JSON document that `import` accepts unchanged."""
    schema = selectors.schema_get_for_user(user=request.user, schema_id=schema_id)
    if format == "json":
        text = spec_to_json(schema.spec, name=schema.name, description=schema.description)
        return HttpResponse(text, content_type="application/json; charset=utf-8")
    text = spec_to_yaml(schema.spec, name=schema.name, description=schema.description)
    return HttpResponse(text, content_type="application/yaml; charset=utf-8")


@router.post("/projects/{project_id}/schemas/import", response={201: SchemaOut})
def import_schema(request: HttpRequest, project_id: int, payload: ImportIn) -> Any:
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    return Status(
        201,
        services.schema_import(
            project=project, user=request.user, text=payload.text, name=payload.name
        ),
    )


@router.get("/projects/{project_id}/seed-files", response=list[SeedFileOut])
def list_seed_files(request: HttpRequest, project_id: int) -> Any:
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    return selectors.seed_file_list(project=project)


@router.post("/projects/{project_id}/seed-files", response={201: SeedFileDetailOut})
def upload_seed_file(request: HttpRequest, project_id: int, file: File[UploadedFile]) -> Any:
    """Upload a table (CSV, TSV, JSONL, JSON, Parquet) or a document (.txt, .md, .pdf)."""
    project = selectors.project_get_for_user(user=request.user, project_id=project_id)
    seed = services.seed_file_upload(
        project=project, user=request.user, filename=file.name or "upload", data=file.read()
    )
    return Status(201, _seed_detail(seed))


@router.get("/seed-files/{seed_file_id}", response=SeedFileDetailOut)
def get_seed_file(request: HttpRequest, seed_file_id: int) -> Any:
    return _seed_detail(
        selectors.seed_file_get_for_user(user=request.user, seed_file_id=seed_file_id)
    )


def _seed_detail(seed: Any) -> dict[str, Any]:
    data = {field: getattr(seed, field) for field in SeedFileOut.model_fields}
    data["head"] = selectors.seed_file_head(seed_file=seed, count=10)
    return data
