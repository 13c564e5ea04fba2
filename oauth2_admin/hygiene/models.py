from __future__ import annotations

from django.conf import settings
from django.db import models

from truss.models import Tenant


class Thresholds(models.Model):
    """A tenant's linter thresholds; a tenant without a row uses the field defaults."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="hygiene_thresholds")
    secret_max_age_days = models.PositiveIntegerField(default=180)
    idle_days = models.PositiveIntegerField(default=90)
    max_access_token_seconds = models.PositiveIntegerField(default=3600)
    max_jwt_access_token_seconds = models.PositiveIntegerField(default=900)
    max_refresh_token_seconds = models.PositiveIntegerField(default=30 * 86400)
    # Host names the tenant runs itself: skip_consent is only fine for clients redirecting to these.
    own_hosts = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"hygiene thresholds for {self.tenant}"

    @classmethod
    def for_tenant(cls, tenant: Tenant) -> Thresholds:
        """The saved row, or an unsaved one holding the defaults."""
        return cls.objects.filter(tenant=tenant).first() or cls(tenant=tenant)


class FindingsSnapshot(models.Model):
    """One client's linter result as of its last Truss write or full refresh (see hygiene.snapshot).

    `findings` holds the rules that depend only on the client and the thresholds; the time- and deployment-
    dependent ones (secret age, idle, PKCE) are evaluated when the report is read, from the inputs kept here."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    client = models.JSONField(default=dict)  # the client's public view (no secrets)
    findings = models.JSONField(default=list)  # static findings, Finding.as_dict()
    penalty = models.PositiveIntegerField(default=0)  # sum of the static findings' weights
    high = models.PositiveSmallIntegerField(default=0)
    medium = models.PositiveSmallIntegerField(default=0)
    low = models.PositiveSmallIntegerField(default=0)
    rules = models.CharField(max_length=1000, blank=True)  # ",rule-a,rule-b," of the static findings
    # Inputs of the rules evaluated at read time.
    uses_secret = models.BooleanField(default=False)
    interactive = models.BooleanField(default=False)
    public_code = models.BooleanField(default=False)
    secret_set_at = models.DateTimeField(null=True, blank=True)
    last_consent_at = models.DateTimeField(null=True, blank=True)
    client_created_at = models.DateTimeField(null=True, blank=True)
    client_updated_at = models.DateTimeField(null=True, blank=True)
    # Changed in Hydra outside Truss (seen by a refresh or the drift sweep); cleared by the next Truss write.
    drifted = models.BooleanField(default=False)
    drift_fields = models.JSONField(default=list, blank=True)
    drift_seen_at = models.DateTimeField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "client_id"], name="hygiene_snapshot_client")
        ]

    def __str__(self) -> str:
        return f"findings of {self.client_id}"


class SnapshotRefresh(models.Model):
    """When the tenant's snapshot was last rebuilt from Hydra's full listing."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="+")
    refreshed_at = models.DateTimeField()
    source = models.CharField(max_length=20)  # "refresh", "sweep" or "first view"
    clients = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"snapshot of {self.tenant} at {self.refreshed_at}"


class SweepRun(models.Model):
    """A walk over a tenant's clients in Hydra, one page at a time (hygiene.fleet): each page's findings rows,
    drift and client counts are written with the position of the next page, so a walk that was stopped (killed,
    Hydra down) resumes where it stopped and handles every client once. One row per tenant: the walk in
    progress, or the last one. A lease (renewed each page) keeps two processes from walking it at once."""

    class State(models.TextChoices):
        RUNNING = "running"
        DONE = "done"

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    source = models.CharField(max_length=20)  # "sweep", "refresh", "view", "first view"
    records = models.BooleanField(
        default=False
    )  # audits each new drift (the drift sweep does, a refresh not)
    page_token = models.TextField(blank=True)  # Hydra's token of the next page; "" = the first page
    walked = models.BooleanField(default=False)  # the listing's last page is handled; the finish remains
    pages = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)  # clients handled (and counted) so far
    expected = models.PositiveIntegerField(default=0)  # estimate of the total: the last walk's count
    drifted = models.PositiveIntegerField(default=0)
    by_grant = models.JSONField(default=dict)  # clients per grant type counted so far
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"walk of {self.tenant}: {self.done}/{self.expected} {self.state}"

    @property
    def running(self) -> bool:
        return self.state == self.State.RUNNING

    @property
    def percent(self) -> int:
        if not self.running:
            return 100
        return min(99, self.done * 100 // self.expected) if self.expected else 0
