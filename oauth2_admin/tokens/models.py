"""The history of `hydra janitor` runs started from Truss (the cleanup page and `POST /api/hydra/flush`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class JanitorRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCESS = "success"
        FAILURE = "failure"
        TIMEOUT = "timeout"
        ABANDONED = "abandoned"  # the process running it died; found stale by the next run

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    actor = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    # What was asked: {"tokens": bool, "requests": bool, "grants": bool, "keep_if_younger": "1h", …}
    options = models.JSONField(default=dict)
    # Hydra logs counts only for tokens (debug level); requests and grants report completion only.
    access_tokens_removed = models.IntegerField(null=True, blank=True)
    refresh_tokens_removed = models.IntegerField(null=True, blank=True)
    completed = models.JSONField(default=list)  # ["access tokens", "refresh tokens", …] as Hydra reported
    detail = models.TextField(blank=True)  # a failure's reason (never the DSN)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # The lock: at most one running janitor, across processes and hosts (the database decides).
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="running"), name="one_running_janitor"
            )
        ]

    def __str__(self) -> str:
        return f"janitor run {self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()
