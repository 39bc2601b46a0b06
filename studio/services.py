"""Write operations on projects, credentials, schemas and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from pydantic import ValidationError

from studio.credential_rules import (
    MSG_KEY_FOR_NEW_URL,
    MSG_NEEDS_BASE_URL,
    MSG_SIMULATOR_URL,
    CredentialChange,
    CredentialFields,
    CredentialInvalid,
    first_error,
)
from studio.crypto import decrypt_secret, encrypt_secret
from studio.models import (
    ApiToken,
    DatasetSchema,
    DatasetSchemaVersion,
    Membership,
    Project,
    ProviderCredential,
    SeedFile,
    SeedRow,
)
from studio.schema import SchemaError, SchemaSpec, parse_spec
from studio.schema.seed_kinds import DocumentColumn, SeedDataColumn
from studio.schema.serialization import document_from_text
from studio.seeds import (
    DOCUMENT_EXTENSIONS,
    TABLE_EXTENSIONS,
    SeedFileError,
    extract_text,
    read_table,
)

API_TOKEN_PREFIX = "dst_"
MSG_UNKNOWN_CREDENTIAL = "Column '{column}' uses a credential that is not in this project"
MSG_UNKNOWN_SEED_FILE = "Column '{column}' needs an uploaded {kind} of this project: choose one"
MSG_UNKNOWN_FIELDS = "Column '{column}' reads fields the table does not have: {fields}"
MSG_DUPLICATE_SCHEMA = "A schema named '{name}' already exists in this project"
MSG_NO_VERSION = "Schema '{name}' has no version {version}"
MSG_DUPLICATE_CREDENTIAL = "A credential named '{name}' already exists in this project"


@transaction.atomic
def project_create(*, user: User, name: str, description: str = "") -> Project:
    project = Project.objects.create(name=name, description=description, owner=user)
    Membership.objects.create(project=project, user=user, role=Membership.Role.OWNER)
    return project


@transaction.atomic
def project_member_add(
    *, project: Project, user: User, role: str = Membership.Role.EDITOR
) -> Membership:
    membership, _ = Membership.objects.get_or_create(
        project=project, user=user, defaults={"role": role}
    )
    return membership


def _key_tail(api_key: str) -> str:
    return api_key[-4:] if len(api_key) >= 8 else ""


@transaction.atomic
def credential_create(
    *,
    project: Project,
    name: str,
    provider: str,
    api_key: str = "",
    base_url: str = "",
    requests_per_minute: int = 500,
    tokens_per_minute: int = 200_000,
    input_price_per_million: Decimal | None = None,
    output_price_per_million: Decimal | None = None,
) -> ProviderCredential:
    """Raises CredentialInvalid (naming the field) for what studio.credential_rules refuses."""
    try:
        fields = CredentialFields(
            name=name,
            provider=provider,
            api_key=api_key,
            base_url=base_url,
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
            input_price_per_million=input_price_per_million,
            output_price_per_million=output_price_per_million,
        )
    except ValidationError as exc:
        raise first_error(exc) from exc
    if project.credentials.filter(name=fields.name).exists():
        raise SchemaError([MSG_DUPLICATE_CREDENTIAL.replace("{name}", fields.name)])
    return ProviderCredential.objects.create(
        project=project,
        name=fields.name,
        provider=fields.provider.value,
        base_url=fields.base_url,
        api_key_encrypted=encrypt_secret(fields.api_key) if fields.api_key else "",
        key_last4=_key_tail(fields.api_key),
        requests_per_minute=fields.requests_per_minute,
        tokens_per_minute=fields.tokens_per_minute,
        input_price_per_million=fields.input_price_per_million,
        output_price_per_million=fields.output_price_per_million,
    )


@transaction.atomic
def credential_update(
    *,
    credential: ProviderCredential,
    api_key: str | None = None,
    base_url: str | None = None,
) -> ProviderCredential:
    """Replace the key (when given) and/or base URL. An empty key leaves the stored one.

    A new base URL needs the key again, in the same call: the stored key was entered for the
    old URL, and whoever may edit a credential must not be able to send it somewhere else (a
    server of theirs) with "Test connection" or a run. Raises CredentialInvalid."""
    try:
        change = CredentialChange(api_key=api_key, base_url=base_url)
    except ValidationError as exc:
        raise first_error(exc) from exc
    new_key = change.api_key or None
    new_url = change.base_url
    fields = ["updated_at"]
    if new_url is not None and new_url != credential.base_url:
        if credential.provider == ProviderCredential.Provider.OPENAI_COMPATIBLE and not new_url:
            raise CredentialInvalid("base_url", MSG_NEEDS_BASE_URL)
        if credential.provider == ProviderCredential.Provider.SIMULATOR and new_url:
            raise CredentialInvalid("base_url", MSG_SIMULATOR_URL)
        if credential.api_key_encrypted and new_key is None:
            raise CredentialInvalid("api_key", MSG_KEY_FOR_NEW_URL)
        credential.base_url = new_url
        fields.append("base_url")
    if new_key is not None:
        credential.api_key_encrypted = encrypt_secret(new_key)
        credential.key_last4 = _key_tail(new_key)
        fields += ["api_key_encrypted", "key_last4"]
    credential.save(update_fields=fields)
    return credential


def credential_api_key(*, credential: ProviderCredential) -> str:
    """The plain key, for the provider client only; never for a page or an API answer."""
    return decrypt_secret(credential.api_key_encrypted) if credential.api_key_encrypted else ""


def schema_validate(*, project: Project, data: Any) -> SchemaSpec:
    """Parse and validate a spec, including that its credentials belong to the project."""
    spec = parse_spec(data)
    known = set(project.credentials.values_list("pk", flat=True))
    problems = [
        MSG_UNKNOWN_CREDENTIAL.replace("{column}", column.name)
        for column in spec.llm_columns()
        if column.credential_id not in known
    ]
    problems += _seed_file_problems(project, spec)
    if problems:
        raise SchemaError(problems)
    return spec


def _seed_file_problems(project: Project, spec: SchemaSpec) -> list[str]:
    files = {f.pk: f for f in project.seed_files.filter(pk__in=spec.seed_file_ids()).defer("text")}
    problems = []
    for column in spec.columns:
        if not isinstance(column, SeedDataColumn | DocumentColumn):
            continue
        wanted = SeedFile.Kind.TABLE if column.kind == "seed_data" else SeedFile.Kind.DOCUMENT
        seed = files.get(column.seed_file_id)
        if seed is None or seed.kind != wanted:
            problems.append(
                MSG_UNKNOWN_SEED_FILE.replace("{column}", column.name).replace(
                    "{kind}", "table" if wanted == SeedFile.Kind.TABLE else "document"
                )
            )
        elif column.kind == "seed_data":
            missing = [f for f in column.fields if f not in seed.columns]
            if missing:
                problems.append(
                    MSG_UNKNOWN_FIELDS.replace("{column}", column.name).replace(
                        "{fields}", ", ".join(missing)
                    )
                )
    return problems


@transaction.atomic
def schema_create(
    *, project: Project, user: User | None, name: str, data: Any, description: str = ""
) -> DatasetSchema:
    spec = schema_validate(project=project, data=data)
    if project.schemas.filter(name=name).exists():
        raise SchemaError([MSG_DUPLICATE_SCHEMA.replace("{name}", name)])
    schema = DatasetSchema.objects.create(
        project=project,
        name=name,
        description=description,
        spec=spec.model_dump(mode="json"),
        created_by=user,
    )
    _record_version(schema, user)
    return schema


def _record_version(schema: DatasetSchema, user: User | None) -> None:
    DatasetSchemaVersion.objects.create(
        schema=schema, version=schema.version, name=schema.name, spec=schema.spec, created_by=user
    )


@transaction.atomic
def schema_update(
    *,
    schema: DatasetSchema,
    data: Any,
    name: str | None = None,
    description: str | None = None,
    user: User | None = None,
) -> DatasetSchema:
    """Save an edit as a new version; runs keep the version they ran with."""
    spec = schema_validate(project=schema.project, data=data)
    if name and name != schema.name and schema.project.schemas.filter(name=name).exists():
        raise SchemaError([MSG_DUPLICATE_SCHEMA.replace("{name}", name)])
    schema.spec = spec.model_dump(mode="json")
    schema.version += 1
    schema.name = name or schema.name
    if description is not None:
        schema.description = description
    schema.save(update_fields=["spec", "version", "name", "description", "updated_at"])
    _record_version(schema, user)
    return schema


@transaction.atomic
def schema_import(
    *, project: Project, user: User | None, text: str, name: str | None = None
) -> DatasetSchema:
    """Create a schema from a YAML or JSON document (as exported); a name already taken gets
    a numbered suffix rather than failing."""
    document = document_from_text(text)
    base = (name or document.name or "Imported schema")[:110]
    final, n = base, 2
    while project.schemas.filter(name=final).exists():
        final, n = f"{base} ({n})", n + 1
    return schema_create(
        project=project,
        user=user,
        name=final,
        description=document.description or "",
        data=document.spec.model_dump(mode="json"),
    )


@transaction.atomic
def schema_restore(*, schema: DatasetSchema, version: int, user: User | None) -> DatasetSchema:
    """Make an earlier version current again, as a new version (history is never rewritten)."""
    old = schema.versions.filter(version=version).first()
    if old is None:
        message = MSG_NO_VERSION.replace("{name}", schema.name)
        raise SchemaError([message.replace("{version}", str(version))])
    return schema_update(schema=schema, data=old.spec, user=user)


def _hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and only its hash is kept."""
    plain = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=plain[:10], token_hash=_hash_token(plain)
    )
    return token, plain


def api_token_authenticate(*, plain: str) -> User | None:
    if not plain.startswith(API_TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=_hash_token(plain)).first()
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


def api_token_delete(*, user: User, token_id: int) -> bool:
    """Revoke one of ``user``'s tokens; False when they have no such token."""
    deleted, _ = ApiToken.objects.filter(pk=token_id, user=user).delete()
    return bool(deleted)


MSG_UPLOAD_TOO_LARGE = "The file is {size} MB; the limit is {limit} MB"
MSG_UPLOAD_TYPE = "Upload a table ({tables}) or a document ({documents})"


@transaction.atomic
def seed_file_upload(
    *, project: Project, user: User | None, filename: str, data: bytes
) -> SeedFile:
    """Parse an upload and keep its content in the database (workers on any machine read it).
    Raises SeedFileError with a message naming what is wrong and where; nothing is saved then."""
    limit = settings.STUDIO_MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise SeedFileError(
            MSG_UPLOAD_TOO_LARGE.replace("{size}", f"{len(data) / 1e6:.1f}").replace(
                "{limit}", f"{limit / 1e6:.1f}"
            )
        )
    extension = PurePath(filename).suffix.lower()
    name = PurePath(filename).name[:200] or "upload"
    if extension in TABLE_EXTENSIONS:
        table = read_table(
            data,
            filename,
            max_columns=settings.STUDIO_MAX_SEED_COLUMNS,
            max_rows=settings.STUDIO_MAX_SEED_ROWS,
            max_cells=settings.STUDIO_MAX_SEED_CELLS,
            max_bytes=settings.STUDIO_MAX_SEED_DECODED_BYTES,
            max_cell_bytes=settings.STUDIO_MAX_SEED_CELL_BYTES,
        )
        seed = SeedFile.objects.create(
            project=project,
            name=name,
            kind=SeedFile.Kind.TABLE,
            size_bytes=len(data),
            columns=table.columns,
            renamed=table.renamed,
            row_count=len(table),
            uploaded_by=user,
        )
        SeedRow.objects.bulk_create(
            (SeedRow(seed_file=seed, index=i, data=row) for i, row in enumerate(table.rows)),
            batch_size=2000,
        )
        return seed
    if extension in DOCUMENT_EXTENSIONS:
        text = extract_text(
            data,
            filename,
            max_chars=settings.STUDIO_MAX_DOCUMENT_CHARS,
            max_pages=settings.STUDIO_MAX_DOCUMENT_PAGES,
        )
        return SeedFile.objects.create(
            project=project,
            name=name,
            kind=SeedFile.Kind.DOCUMENT,
            size_bytes=len(data),
            text=text,
            uploaded_by=user,
        )
    raise SeedFileError(
        MSG_UPLOAD_TYPE.replace("{tables}", ", ".join(TABLE_EXTENSIONS)).replace(
            "{documents}", ", ".join(DOCUMENT_EXTENSIONS)
        )
    )


def seed_file_delete(*, seed_file: SeedFile) -> None:
    seed_file.delete()
