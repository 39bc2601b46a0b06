"""Runs, their rows, and the ledger of finished LLM calls. The database is the source of truth:
workers claim rows here, write results here, and a restarted worker continues from here."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from studio.models import DatasetSchema, Project, ProviderCredential


class Run(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Finished with failures"
        BUDGET_REACHED = "budget_reached", "Budget reached"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="runs")
    schema = models.ForeignKey(
        DatasetSchema, null=True, on_delete=models.SET_NULL, related_name="runs"
    )
    schema_name = models.CharField(max_length=120)
    schema_version = models.PositiveIntegerField(default=1)
    # The schema exactly as it was when the run started; later edits do not change the run.
    spec_snapshot = models.JSONField()
    seed = models.BigIntegerField()
    num_rows = models.PositiveIntegerField()
    # Stop before spending more than this (USD); empty = no budget.
    budget_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    # What the run's calls have cost so far. Also derivable from the ledger, but the budget is
    # checked before every call and a sum over a large ledger would be too slow there; it is
    # only ever changed by an atomic F() update next to the ledger insert.
    spent_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    # Ask every call afresh instead of reusing ledger answers from earlier runs with this seed.
    fresh_samples = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"], name="run_status_idx")]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.schema_name}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class Row(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        GENERATED = "generated", "Generated"
        FAILED = "failed", "Failed"

    class Review(models.TextChoices):
        UNREVIEWED = "unreviewed", "Unreviewed"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="rows")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    values = models.JSONField(default=dict)
    # Column name → error message, for the columns that could not be filled.
    errors = models.JSONField(default=dict)
    # Column name → the rendered prompt of each LLM column, to show what was asked.
    prompts = models.JSONField(default=dict)
    # Column name → the raw answer, attempts (re-asks included), cost and ledger use of each
    # LLM column: what the row's detail panel shows.
    calls = models.JSONField(default=dict)
    review_status = models.CharField(
        max_length=16, choices=Review.choices, default=Review.UNREVIEWED
    )
    # A reviewer's edit; ``values`` keeps the original generation.
    edited_values = models.JSONField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="unique_row_index_in_run")
        ]
        indexes = [
            models.Index(fields=["run", "status"], name="row_run_status_idx"),
            models.Index(fields=["run", "review_status"], name="row_run_review_idx"),
        ]

    def __str__(self) -> str:
        return f"Row {self.index} of run {self.run_id}"

    @property
    def final_values(self) -> dict:
        return self.edited_values if self.edited_values is not None else self.values


class LlmCall(models.Model):
    """One finished provider call. ``key`` hashes what was asked, so asking again is free."""

    key = models.CharField(max_length=64, unique=True)
    run = models.ForeignKey(Run, null=True, on_delete=models.SET_NULL, related_name="calls")
    credential = models.ForeignKey(
        ProviderCredential, null=True, on_delete=models.SET_NULL, related_name="calls"
    )
    provider = models.CharField(max_length=32)
    model = models.CharField(max_length=200)
    column = models.CharField(max_length=64, blank=True)
    # 0 for the first ask; 1.. for re-asks after an answer failed its JSON schema.
    reask = models.PositiveSmallIntegerField(default=0)
    row_index = models.PositiveIntegerField(null=True, blank=True)
    request = models.JSONField()
    response_text = models.TextField()
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["run", "created_at"], name="llmcall_run_idx")]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} {self.key[:10]}"
