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
from studio.api_input import InputSchema
from studio.credential_rules import CredentialChange, CredentialFields
from studio.form_validation import form_validated
from studio.forms import ProjectForm, SchemaImportForm, SchemaMetaForm
from studio.permissions import Action
from studio.schema import SchemaError
from studio.schema.serialization import MAX_SCHEMA_TEXT_CHARS, spec_to_json, spec_to_yaml
from studio.signed_in import SignedInRequest

router = Router(tags=["projects"])


class ProjectIn(InputSchema):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""


class ProjectOut(Schema):
    id: int
    name: str
    description: str
    created_at: datetime


class CredentialIn(CredentialFields, InputSchema):
    """A new credential; the rules are the forms' (studio.credential_rules)."""


class CredentialPatch(CredentialChange, InputSchema):
    """A new key and/or base URL; a new base URL needs the key again."""


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


class SchemaIn(InputSchema):
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


class SpecIn(InputSchema):
    spec: dict[str, Any]


class ValidationOut(Schema):
    valid: bool
    messages: list[str]
    levels: list[list[str]]


@router.get("/projects", response=list[ProjectOut])
def list_projects(request: HttpRequest) -> Any:
    return selectors.project_list_for_user(user=request.user)


@router.post("/projects", response={201: ProjectOut})
def create_project(request: SignedInRequest, payload: ProjectIn) -> Any:
    data = form_validated(ProjectForm, payload.dict())
    return Status(201, services.project_create(user=request.user, **data))


@router.get("/projects/{project_id}", response=ProjectOut)
def get_project(request: HttpRequest, project_id: int) -> Any:
    return selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.VIEW
    )


@router.get("/projects/{project_id}/credentials", response=list[CredentialOut])
def list_credentials(request: HttpRequest, project_id: int) -> Any:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.VIEW
    )
    return selectors.credential_list(project=project)


@router.post("/projects/{project_id}/credentials", response={201: CredentialOut})
def create_credential(request: HttpRequest, project_id: int, payload: CredentialIn) -> Any:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.MANAGE_CREDENTIALS
    )
    return Status(201, services.credential_create(project=project, **payload.service_arguments()))


@router.patch("/credentials/{credential_id}", response=CredentialOut)
def update_credential(request: HttpRequest, credential_id: int, payload: CredentialPatch) -> Any:
    credential = selectors.credential_get_for_user(
        user=request.user, credential_id=credential_id, action=Action.MANAGE_CREDENTIALS
    )
    return services.credential_update(
        credential=credential, api_key=payload.api_key, base_url=payload.base_url
    )


@router.get("/projects/{project_id}/schemas", response=list[SchemaOut])
def list_schemas(request: HttpRequest, project_id: int) -> Any:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.VIEW
    )
    return selectors.schema_list(project=project)


@router.post("/projects/{project_id}/schemas", response={201: SchemaOut})
def create_schema(request: SignedInRequest, project_id: int, payload: SchemaIn) -> Any:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.DESIGN
    )
    meta = form_validated(SchemaMetaForm, payload.dict(include={"name", "description"}))
    schema = services.schema_create(project=project, user=request.user, data=payload.spec, **meta)
    return Status(201, schema)


@router.post("/projects/{project_id}/schemas/validate", response=ValidationOut)
def validate_schema(request: HttpRequest, project_id: int, payload: SpecIn) -> Any:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.DESIGN
    )
    try:
        spec = services.schema_validate(project=project, data=payload.spec)
    except SchemaError as exc:
        return {"valid": False, "messages": exc.messages, "levels": []}
    return {"valid": True, "messages": [], "levels": spec.levels()}


@router.get("/schemas/{schema_id}", response=SchemaOut)
def get_schema(request: HttpRequest, schema_id: int) -> Any:
    return selectors.schema_get_for_user(user=request.user, schema_id=schema_id, action=Action.VIEW)


@router.put("/schemas/{schema_id}", response=SchemaOut)
def update_schema(request: SignedInRequest, schema_id: int, payload: SchemaIn) -> Any:
    schema = selectors.schema_get_for_user(
        user=request.user, schema_id=schema_id, action=Action.DESIGN
    )
    meta = form_validated(SchemaMetaForm, payload.dict(include={"name", "description"}))
    return services.schema_update(schema=schema, data=payload.spec, user=request.user, **meta)


class VersionOut(Schema):
    version: int
    name: str
    spec: dict[str, Any]
    created_at: datetime


class ImportIn(InputSchema):
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
    schema = selectors.schema_get_for_user(
        user=request.user, schema_id=schema_id, action=Action.VIEW
    )
    return schema.versions.all()


@router.post("/schemas/{schema_id}/versions/{version}/restore", response=SchemaOut)
def restore_version(request: SignedInRequest, schema_id: int, version: int) -> Any:
    schema = selectors.schema_get_for_user(
        user=request.user, schema_id=schema_id, action=Action.DESIGN
    )
    selectors.schema_version_get(schema=schema, version=version)
    return services.schema_restore(schema=schema, version=version, user=request.user)


@router.get("/schemas/{schema_id}/export")
def export_schema(request: HttpRequest, schema_id: int, format: str = "yaml") -> HttpResponse:
    """The schema as a YAML (default) or JSON document that `import` accepts unchanged."""
    schema = selectors.schema_get_for_user(
        user=request.user, schema_id=schema_id, action=Action.VIEW
    )
    if format == "json":
        text = spec_to_json(schema.spec, name=schema.name, description=schema.description)
        return HttpResponse(text, content_type="application/json; charset=utf-8")
    text = spec_to_yaml(schema.spec, name=schema.name, description=schema.description)
    return HttpResponse(text, content_type="application/yaml; charset=utf-8")


@router.post("/projects/{project_id}/schemas/import", response={201: SchemaOut})
def import_schema(request: SignedInRequest, project_id: int, payload: ImportIn) -> Any:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.DESIGN
    )
    data = form_validated(SchemaImportForm, payload.dict())
    return Status(
        201,
        services.schema_import(
            project=project, user=request.user, text=data["text"], name=data["name"] or None
        ),
    )


@router.get("/projects/{project_id}/seed-files", response=list[SeedFileOut])
def list_seed_files(request: HttpRequest, project_id: int) -> Any:
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.VIEW
    )
    return selectors.seed_file_list(project=project)


@router.post("/projects/{project_id}/seed-files", response={201: SeedFileDetailOut})
def upload_seed_file(request: SignedInRequest, project_id: int, file: File[UploadedFile]) -> Any:
    """Upload a table (CSV, TSV, JSONL, JSON, Parquet) or a document (.txt, .md, .pdf)."""
    project = selectors.project_get_for_user(
        user=request.user, project_id=project_id, action=Action.DESIGN
    )
    seed = services.seed_file_upload(
        project=project, user=request.user, filename=file.name or "upload", data=file.read()
    )
    return Status(201, _seed_detail(seed))


@router.get("/seed-files/{seed_file_id}", response=SeedFileDetailOut)
def get_seed_file(request: HttpRequest, seed_file_id: int) -> Any:
    return _seed_detail(
        selectors.seed_file_get_for_user(
            user=request.user, seed_file_id=seed_file_id, action=Action.VIEW
        )
    )


def _seed_detail(seed: Any) -> dict[str, Any]:
    data = {field: getattr(seed, field) for field in SeedFileOut.model_fields}
    data["head"] = selectors.seed_file_head(seed_file=seed, count=10)
    return data


class ApiTokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


# Listing and revoking only: a new token is made on the tokens page, behind the login, so a
# leaked token cannot mint others.
@router.get("/tokens", response=list[ApiTokenOut], tags=["tokens"])
def list_tokens(request: HttpRequest) -> Any:
    return selectors.api_token_list(user=request.user)


@router.delete("/tokens/{token_id}", response={204: None}, tags=["tokens"])
def revoke_token(request: SignedInRequest, token_id: int) -> Any:
    """Someone else's token is as unknown as one that never existed: 404, and it stays."""
    token = selectors.api_token_get_for_user(user=request.user, token_id=token_id)
    services.api_token_delete(user=request.user, token_id=token.pk)
    return Status(204, None)
