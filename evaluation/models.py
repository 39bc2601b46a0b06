"""Exports of reviewed rows, including pushes to the Hugging Face Hub."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from generation.models import Run


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
