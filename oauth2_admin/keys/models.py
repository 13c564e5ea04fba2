"""What Truss knows about Hydra's keys beyond the JWK itself. Never any key material."""

from __future__ import annotations

from django.db import models


class KeyRecord(models.Model):
    """A key Truss created in Hydra: Hydra's JWK has no creation date, so Truss keeps it."""

    set_id = models.CharField(max_length=200)
    kid = models.CharField(max_length=200)
    algorithm = models.CharField(max_length=10)
    use = models.CharField(max_length=3, default="sig")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["set_id", "kid"], name="console_keys_unique_set_kid")]

    def __str__(self) -> str:
        return f"{self.set_id}/{self.kid}"


class Rotation(models.Model):
    """A staged rotation of one signing set: published → promoted → retired (or cancelled)."""

    class Stage(models.TextChoices):
        PUBLISHED = "published", "Published, not signing"
        PROMOTED = "promoted", "Signing; old key still published"
        RETIRED = "retired", "Done: old key removed"
        CANCELLED = "cancelled", "Cancelled"

    set_id = models.CharField(max_length=200)
    holding_set = models.CharField(max_length=250)
    next_kid = models.CharField(max_length=200)
    algorithm = models.CharField(max_length=10)
    old_kids = models.JSONField(default=list)
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.PUBLISHED)
    cache_window_seconds = models.PositiveIntegerField()
    published_at = models.DateTimeField()
    promoted_at = models.DateTimeField(null=True, blank=True)
    retire_after = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]

    def __str__(self) -> str:
        return f"{self.set_id} → {self.next_kid} ({self.stage})"

    @property
    def open(self) -> bool:
        return self.stage in (self.Stage.PUBLISHED, self.Stage.PROMOTED)
