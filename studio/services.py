"""Write operations on projects, credentials, schemas and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from studio.crypto import decrypt_secret, encrypt_secret
from studio.models import (
    ApiToken,
    DatasetSchema,
    DatasetSchemaVersion,
    Membership,
    Project,
    ProviderCredential,
)
from studio.schema import SchemaError, SchemaSpec, parse_spec

API_TOKEN_PREFIX = "dst_"
MSG_UNKNOWN_CREDENTIAL = "Column '{column}' uses a credential that is not in this project"
MSG_DUPLICATE_SCHEMA = "A schema named '{name}' already exists in this project"
MSG_DUPLICATE_CREDENTIAL = "A credential named '{name}' already exists in this project"


@transaction.atomic
def project_create(*, user: AbstractBaseUser, name: str, description: str = "") -> Project:
    project = Project.objects.create(name=name, description=description, owner=user)
    Membership.objects.create(project=project, user=user, role=Membership.Role.OWNER)
    return project


@transaction.atomic
def project_member_add(
    *, project: Project, user: AbstractBaseUser, role: str = Membership.Role.EDITOR
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
) -> ProviderCredential:
    if project.credentials.filter(name=name).exists():
        raise SchemaError([MSG_DUPLICATE_CREDENTIAL.replace("{name}", name)])
    return ProviderCredential.objects.create(
        project=project,
        name=name,
        provider=provider,
        base_url=base_url,
        api_key_encrypted=encrypt_secret(api_key) if api_key else "",
        key_last4=_key_tail(api_key),
        requests_per_minute=requests_per_minute,
        tokens_per_minute=tokens_per_minute,
    )


@transaction.atomic
def credential_update(
    *,
    credential: ProviderCredential,
    api_key: str | None = None,
    base_url: str | None = None,
) -> ProviderCredential:
    """Replace the key (when given) and/or base URL. An empty key leaves the stored one."""
    fields = ["updated_at"]
    if api_key:
        credential.api_key_encrypted = encrypt_secret(api_key)
        credential.key_last4 = _key_tail(api_key)
        fields += ["api_key_encrypted", "key_last4"]
    if base_url is not None:
        credential.base_url = base_url
        fields.append("base_url")
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
    if problems:
        raise SchemaError(problems)
    return spec


@transaction.atomic
def schema_create(
    *, project: Project, user: AbstractBaseUser | None, name: str, data: Any, description: str = ""
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


def _record_version(schema: DatasetSchema, user: AbstractBaseUser | None) -> None:
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
    user: AbstractBaseUser | None = None,
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
def schema_restore(
    *, schema: DatasetSchema, version: int, user: AbstractBaseUser | None
) -> DatasetSchema:
    """Make an earlier version current again, as a new version (history is never rewritten)."""
    old = schema.versions.get(version=version)
    return schema_update(schema=schema, data=old.spec, user=user)


def _hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Create a token; the plain value is returned once and only its hash is kept."""
    plain = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=plain[:10], token_hash=_hash_token(plain)
    )
    return token, plain


def api_token_authenticate(*, plain: str) -> AbstractBaseUser | None:
    if not plain.startswith(API_TOKEN_PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=_hash_token(plain)).first()
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user


def api_token_delete(*, user: AbstractBaseUser, token_id: int) -> None:
    ApiToken.objects.filter(pk=token_id, user=user).delete()
