"""Runs, their rows, and the ledger of finished LLM calls. The database is the source of truth:
workers claim rows here, write results here, and a restarted worker continues from here."""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.db import models

from studio.models import DatasetSchema, Project, ProviderCredential
from studio.schema import SchemaSpec, parse_spec


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

    # --- batch mode (generation/batch/) ---
    class Mode(models.TextChoices):
        ONLINE = "online", "Online"
        # OpenAI's Batch API / Anthropic's Message Batches: about half the price, slower.
        BATCH = "batch", "Batch API"

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
    # How the run's LLM calls are made (batch mode: generation/batch/).
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.ONLINE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When a worker last sent the pending chunks of this run again because it had stopped
    # advancing (generation/worker/stalled_runs.py); counts as progress for the next sweep.
    swept_at = models.DateTimeField(null=True, blank=True)
    # A quality gate set before the run started ({"name", "kind", "settings", "max_attempts"}):
    # when the run ends, an evaluation with these settings scores it and the rows below its
    # threshold are regenerated (evaluation/gate/). Empty: none.
    gate = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status"], name="run_status_idx")]

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.schema_name}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @cached_property
    def spec(self) -> SchemaSpec:
        """The snapshot as a typed schema: the one way pages, exports and workers read a run's
        columns (``run.spec.output_columns()`` for the fields it writes), so none of them can
        drift from the others by reading the raw JSON its own way. Parsed once per instance:
        a snapshot never changes after the run starts. Raises SchemaError if the snapshot no
        longer validates; it was validated when the run started, and kinds only grow, as for
        saved schemas (``run_create``)."""
        return parse_spec(self.spec_snapshot)


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


class RowVersion(models.Model):
    """What a row was before it was regenerated (generation/regeneration.py): its values, the
    scores they had, and why they were replaced. ``attempt`` numbers the row's generations: 1 is
    the first; the row's current values are attempt ``max(attempt) + 1``."""

    row = models.ForeignKey(Row, on_delete=models.CASCADE, related_name="versions")
    attempt = models.PositiveIntegerField()
    # The columns regenerated after this version (those asked and those depending on them).
    columns = models.JSONField(default=list)
    values = models.JSONField(default=dict)
    errors = models.JSONField(default=dict)
    edited_values = models.JSONField(null=True, blank=True)
    review_status = models.CharField(max_length=16, blank=True)
    # Evaluation id (as text) → {"name", "value", "passed"}: the scores these values had.
    scores = models.JSONField(default=dict, blank=True)
    # "quality gate: <evaluation> below <threshold>" or "manual".
    reason = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["row", "attempt"]
        constraints = [
            models.UniqueConstraint(fields=["row", "attempt"], name="rowversion_unique_attempt")
        ]

    def __str__(self) -> str:
        return f"Attempt {self.attempt} of row {self.row_id}"


class LlmCall(models.Model):
    """One finished provider call. ``key`` hashes what was asked and the project it was asked
    in, so asking again in that project is free. The ledger is the project's: every lookup
    filters by ``project`` too, and no entry is ever shared with another project (other
    people's money and data; docs/architecture.md, "Calls")."""

    # No index of its own: the unique (project, key) index leads with it. With a second index
    # on project alone, PostgreSQL read a whole project's entries for the grouped lookup.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="llm_calls", db_index=False
    )
    key = models.CharField(max_length=64)
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
        constraints = [
            # Also the index of the grouped lookup (project = … AND key IN (…)).
            models.UniqueConstraint(fields=["project", "key"], name="llmcall_unique_in_project")
        ]
        indexes = [models.Index(fields=["run", "created_at"], name="llmcall_run_idx")]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} {self.key[:10]}"


class BudgetHold(models.Model):
    """What one call in flight may cost at most, held against its run's budget until its ledger
    entry adds the real cost to the run's spend (in the same transaction) or it fails. Kept in
    the database, not in a worker's memory, so the worker processes of every machine see each
    other's calls: ``spent + holds + next call`` never passes the budget. A hold whose worker
    died is no longer counted once ``expires_at`` is past (generation/worker/budget_holds.py)."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="budget_holds")
    amount_usd = models.DecimalField(max_digits=12, decimal_places=6)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["run", "expires_at"], name="budgethold_run_idx")]

    def __str__(self) -> str:
        return f"${self.amount_usd} held for run {self.run_id}"


# --- batch mode (generation/batch/) ---------------------------------------------------------


class BatchJob(models.Model):
    """One provider batch (OpenAI Batch API or Anthropic Message Batches) of a batch-mode run:
    the requests of one pass that use one credential. Created with its requests before anything
    is sent, so a crashed worker finds it here; every change is a conditional UPDATE."""

    class Status(models.TextChoices):
        PENDING = "pending", "Not sent yet"
        SUBMITTING = "submitting", "Being sent"
        IN_PROGRESS = "in_progress", "At the provider"
        # Answers are in the ledger; the errors wait for the next pass to fail their rows.
        COLLECTED = "collected", "Collected"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    OPEN = (Status.PENDING, Status.SUBMITTING, Status.IN_PROGRESS)

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="batch_jobs")
    credential = models.ForeignKey(
        ProviderCredential, null=True, on_delete=models.SET_NULL, related_name="batch_jobs"
    )
    provider = models.CharField(max_length=32)
    # The pass of the run that made it (1 = first column level, 2 = its dependants, ...).
    pass_number = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # The provider's own ids and last-seen status word.
    external_id = models.CharField(max_length=200, blank=True)
    input_file_id = models.CharField(max_length=200, blank=True)
    provider_status = models.CharField(max_length=32, blank=True)
    request_count = models.PositiveIntegerField(default=0)
    succeeded_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    # Why the whole batch failed (then every request carries it too); transient poll errors.
    error = models.TextField(blank=True)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    # When a worker claimed it for sending: a claim older than the lease is taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["run", "status"], name="batchjob_run_status_idx")]

    def __str__(self) -> str:
        return f"Batch {self.external_id or self.pk} of run {self.run_id}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class BatchRequest(models.Model):
    """One request of a batch job, keyed by its ledger key (also the provider's custom_id).
    ``open`` until the job's results are collected: at most one open request per key, so two
    workers racing through the same pass never pay for the same call twice."""

    job = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="requests")
    key = models.CharField(max_length=64)
    # What the provider knows the request by when it is not ``key``: the unscoped key of a
    # request made before ledger keys were scoped to projects (migration 0006), which a batch
    # sent then answers under. Empty: the key.
    custom_id = models.CharField(max_length=64, blank=True, default="")
    open = models.BooleanField(default=True)
    column = models.CharField(max_length=64, blank=True)
    row_index = models.PositiveIntegerField(null=True, blank=True)
    reask = models.PositiveSmallIntegerField(default=0)
    # Enough to rebuild the CompletionRequest: model, system, messages, temperature,
    # max_tokens, json_schema, schema_name (the ledger's request shape plus model and name).
    request = models.JSONField()
    # The provider's message when this request failed on its own.
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(open=True),
                name="batchrequest_one_open_per_key",
            ),
            models.UniqueConstraint(fields=["job", "key"], name="batchrequest_unique_in_job"),
        ]
        indexes = [models.Index(fields=["key"], name="batchrequest_key_idx")]

    def __str__(self) -> str:
        return f"{self.key[:10]} in {self.job_id}"

    @property
    def provider_id(self) -> str:
        """The request's custom_id at the provider."""
        return self.custom_id or self.key
