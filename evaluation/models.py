"""Evaluations of a run's rows and their scores; exports of reviewed rows (Hub pushes)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from generation.models import Row, Run


class HubExport(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        # Claimed by a worker (evaluation/hub_export.py): a redelivered message leaves it alone.
        PUSHING = "pushing", "Pushing"
        DONE = "done", "Pushed"
        FAILED = "failed", "Failed"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="hub_exports")
    repo_id = models.CharField(max_length=200)
    private = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # The Hub token, encrypted, kept only until the push is done.
    token_encrypted = models.TextField(blank=True)
    rows_pushed = models.PositiveIntegerField(default=0)
    url = models.URLField(blank=True, max_length=500)
    commit_url = models.URLField(blank=True, max_length=500)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.repo_id} from run {self.run_id}"


class Evaluation(models.Model):
    """One scoring of a run's rows by one kind (evaluation/kinds/). Scored in chunks by workers
    (evaluation/scoring/); a re-run is a new version whose scores replace the old ones only
    when it is done (``is_current`` moves in the same transaction)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="evaluations")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=40)
    # Before ``settings``, which shadows django.conf.settings in the rest of the class body.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The kind's settings as validated by its settings model (evaluation/kinds/).
    settings = models.JSONField(default=dict)
    # Which rows: {"status": [...], "review": [...], "where": {column: value}} (scoring/targets.py).
    target = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The version pages show: the newest finished one of its line.
    is_current = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_scored = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    # Mean, median, pass rate, histogram, per criterion and per sampler column (scoring/summary).
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["run", "is_current"], name="evaluation_run_current_idx")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version} on run {self.run_id}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def progress_percent(self) -> int:
        if not self.rows_total:
            return 100 if self.status == self.Status.DONE else 0
        done = self.rows_scored + self.rows_failed
        return min(100, round(100 * done / self.rows_total))


class EvaluationChunk(models.Model):
    """A range of row indexes one actor message scores. ``done`` is set in the transaction that
    writes its scores, so a redelivered message finds it done and writes nothing twice."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()
    start = models.PositiveIntegerField()
    stop = models.PositiveIntegerField()
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "number"], name="evaluationchunk_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"Chunk {self.number} of evaluation {self.evaluation_id}"


class Score(models.Model):
    """One row's score in one evaluation: a number (None when it does not apply or failed),
    pass/fail where the kind has a threshold, and the detail (criteria, reasons, rule)."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="scores")
    row = models.ForeignKey(Row, on_delete=models.CASCADE, related_name="scores")
    value = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # Why the row could not be scored (a judge that never answered well); value is then None.
    error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "row"], name="score_unique_per_row")
        ]
        indexes = [
            # Filtering a million rows by a score range or pass/fail is an index range scan.
            models.Index(fields=["evaluation", "value"], name="score_eval_value_idx"),
            models.Index(fields=["evaluation", "passed"], name="score_eval_passed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.value} for row {self.row_id} in evaluation {self.evaluation_id}"


class QualityGate(models.Model):
    """An action on the rows below an evaluation's threshold (evaluation/gate/): reject them, or
    regenerate them and score them again, at most ``max_attempts`` times. The database holds
    where the loop is (``status``, ``round``), so a redelivered step carries on from there."""

    class Action(models.TextChoices):
        REGENERATE = "regenerate", "Regenerate the rows below"
        REJECT = "reject", "Reject the rows below"

    class Status(models.TextChoices):
        # Waiting for the evaluation's scores (then decides: done, or regenerate the rows below).
        SCORING = "scoring", "Scoring"
        REGENERATING = "regenerating", "Regenerating"
        DONE = "done", "Done"
        STOPPED = "stopped", "Stopped"

    ACTIVE = (Status.SCORING, Status.REGENERATING)

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="gates")
    action = models.CharField(max_length=16, choices=Action.choices)
    max_attempts = models.PositiveSmallIntegerField(default=1)
    # Regenerations made so far (each of the rows below, once per round).
    round = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCORING)
    # Set on the run form, before the run started.
    from_run = models.BooleanField(default=False)
    # "<evaluation> below <threshold>": the reason rows get.
    reason = models.CharField(max_length=300)
    rows_below = models.PositiveIntegerField(default=0)
    rows_regenerated = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} gate on evaluation {self.evaluation_id}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class ReviewAction(models.Model):
    """One review change of a row, by one user: the run's activity log and each user's undo
    stack. ``before`` and ``after`` hold the row's review state (decision, who, when, the
    edited copy) so an undo puts ``before`` back (evaluation/review.py)."""

    class Kind(models.TextChoices):
        ACCEPT = "accept", "Accepted"
        REJECT = "reject", "Rejected"
        RESET = "reset", "Reset"
        EDIT = "edit", "Edited"
        # Logged only: the row's new values replace the decision and edit, not undone.
        REGENERATE = "regenerate", "Regenerated"

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="review_actions")
    row = models.ForeignKey(
        Row, null=True, blank=True, on_delete=models.CASCADE, related_name="review_actions"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The column an edit changed; blank for a decision.
    column = models.CharField(max_length=64, blank=True)
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)
    # The bulk review (evaluation/bulk.py) this action is one row of: undone together.
    batch = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["run", "-created_at"], name="review_action_run_idx"),
            models.Index(fields=["run", "user", "-created_at"], name="review_action_run_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.row_id} by {self.user_id}"
