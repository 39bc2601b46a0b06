"""Projects, memberships, encrypted provider credentials, dataset schemas and API tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class Project(models.Model):
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="owned_projects"
    )
    members: models.ManyToManyField[User, Membership] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Not a column: the viewer's role, set by ``studio.selectors.authorize`` for the pages.
    member_role: str | None

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        # What each role may do: studio/permissions.py (the same values as its Role).
        OWNER = "owner", "Owner"
        EDITOR = "editor", "Editor"
        REVIEWER = "reviewer", "Reviewer"
        VIEWER = "viewer", "Viewer"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="unique_project_member")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class ProviderCredential(models.Model):
    class Provider(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible (vLLM, Ollama, …)"
        SIMULATOR = "simulator", "Simulated (offline demo, no real model)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="credentials")
    name = models.CharField(max_length=80)
    provider = models.CharField(max_length=32, choices=Provider.choices)
    base_url = models.URLField(blank=True, max_length=500)
    # Fernet token of the API key; the plain key is never stored nor shown back.
    api_key_encrypted = models.TextField(blank=True)
    key_last4 = models.CharField(max_length=4, blank=True)
    requests_per_minute = models.PositiveIntegerField(default=500)
    tokens_per_minute = models.PositiveIntegerField(default=200_000)
    # Prices in USD per million tokens, for self-hosted or unlisted models; empty = price table.
    input_price_per_million = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True
    )
    output_price_per_million = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_credential_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} (simulated)" if self.is_simulated else self.name

    @property
    def masked_key(self) -> str:
        return f"••••{self.key_last4}" if self.key_last4 else "no key"

    @property
    def is_simulated(self) -> bool:
        return self.provider == self.Provider.SIMULATOR


class DatasetSchema(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="schemas")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    # The validated column spec (studio.schema.SchemaSpec as JSON); runs snapshot it.
    spec = models.JSONField()
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_schema_name")
        ]

    def __str__(self) -> str:
        return self.name


class DatasetSchemaVersion(models.Model):
    """Every saved state of a schema; a run names the version it ran with."""

    schema = models.ForeignKey(DatasetSchema, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=120)
    spec = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["schema", "version"], name="unique_schema_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class SeedFile(models.Model):
    """An uploaded table (its rows become variables) or document (split into chunks).

    The parsed content lives in the database, not on a disk, so workers on any machine read it.
    """

    class Kind(models.TextChoices):
        TABLE = "table", "Table (CSV, JSONL, JSON, Parquet)"
        DOCUMENT = "document", "Document (text, Markdown, PDF)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="seed_files")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    size_bytes = models.PositiveBigIntegerField()
    # Table: the (normalised) column names, and how original names were renamed.
    columns = models.JSONField(default=list)
    renamed = models.JSONField(default=dict)
    row_count = models.PositiveIntegerField(default=0)
    # Document: the extracted text.
    text = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class SeedRow(models.Model):
    seed_file = models.ForeignKey(SeedFile, on_delete=models.CASCADE, related_name="rows")
    index = models.PositiveIntegerField()
    data = models.JSONField()

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["seed_file", "index"], name="unique_seed_row")
        ]

    def __str__(self) -> str:
        return f"{self.seed_file_id}[{self.index}]"


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=80)
    # The first characters, shown in lists so a user can tell tokens apart.
    prefix = models.CharField(max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
