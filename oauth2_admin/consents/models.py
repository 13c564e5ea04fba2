"""The consent ledger: who has authorised which of a tenant's clients (Hydra cannot answer that), and the
bulk-revoke jobs that work through it."""

from __future__ import annotations

from django.db import models

from truss.models import Tenant


class LedgerEntry(models.Model):
    """One row per (tenant, client, subject): the latest consent decision plus counts.

    ``state`` says whether the consent is in force as far as Truss knows: ``active`` after a grant,
    ``denied`` when the person only ever said no, ``revoked`` after a revocation through Truss, ``gone`` when
    ``manage.py reconcile_consents`` found that Hydra no longer has it (expired, revoked elsewhere).
    """

    class Decision(models.TextChoices):
        ACCEPTED = "accepted"  # the person pressed Allow
        REMEMBERED = "remembered"  # Hydra skipped the screen: an earlier consent was remembered
        SKIPPED = "skipped"  # the client has skip_consent
        DENIED = "denied"

    class State(models.TextChoices):
        ACTIVE = "active"
        DENIED = "denied"
        REVOKED = "revoked"
        GONE = "gone"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    state = models.CharField(max_length=16, choices=State.choices)
    scopes = models.JSONField(default=list)  # granted scopes of the consent in force (latest grant)
    audience = models.JSONField(default=list)
    remembered = models.BooleanField(default=False)
    remember_until = models.DateTimeField(null=True, blank=True)  # None with remembered: until revoked
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()  # time of the latest decision
    state_changed_at = models.DateTimeField(null=True, blank=True)
    granted_count = models.PositiveIntegerField(default=0)
    denied_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "client_id", "subject"], name="consent_ledger_person"),
        ]
        indexes = [
            # The client page: "tenant + client [+ state] ORDER BY last_at DESC, id DESC LIMIT n" (keyset).
            models.Index(
                fields=["tenant", "client_id", "state", "-last_at", "-id"], name="consent_ledger_state"
            ),
            models.Index(fields=["tenant", "client_id", "-last_at", "-id"], name="consent_ledger_recent"),
            # A person's rows in this tenant (revoking all of someone's consents).
            models.Index(fields=["tenant", "subject"], name="consent_ledger_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {self.client_id}: {self.decision}/{self.state}"

    @property
    def active(self) -> bool:
        return self.state == self.State.ACTIVE


class ScopeCount(models.Model):
    """People with an active consent per (tenant, client, scope), kept in step with the ledger so the client
    page never counts 100,000 rows. ``scope == ""`` holds the number of people."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=255)
    scope = models.CharField(max_length=255)
    people = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "client_id", "scope"], name="consent_scope_count"),
        ]

    def __str__(self) -> str:
        return f"{self.client_id} {self.scope or '(people)'}: {self.people}"


class TenantScopeCount(models.Model):
    """ScopeCount summed over the tenant's clients, one row per (tenant, scope), moved in the same transaction as
    the client's counters (``ledger._adjust_counts``, ``ledger.rebuild_counts``): the overview reads a handful of
    rows whatever the number of clients. ``scope == ""`` holds the active consents (people per client, summed)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=255)
    people = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "scope"], name="consent_tenant_scope_count"),
        ]

    def __str__(self) -> str:
        return f"{self.scope or '(consents)'}: {self.people}"


class RevokeJob(models.Model):
    """ "Revoke this client for everyone": worked through in batches by the page's polling requests or
    ``manage.py run_consent_jobs``; ``cursor`` (the last ledger id handled) makes it resumable, and revoking
    an already revoked consent is a no-op in Hydra, so a batch interrupted half-way is simply redone."""

    class State(models.TextChoices):
        RUNNING = "running"
        DONE = "done"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    client_id = models.CharField(max_length=255)
    actor = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cursor = models.BigIntegerField(default=0)
    last_entry = models.BigIntegerField(default=0)  # highest ledger id at start: later grants are not revoked
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "client_id", "-id"], name="consent_job_client")]

    def __str__(self) -> str:
        return f"revoke {self.client_id}: {self.processed}/{self.total} {self.state}"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE or not self.total:
            return 100
        return min(100, self.processed * 100 // self.total)


class ReconcileRun(models.Model):
    """Where ``manage.py reconcile_consents`` stands: it walks the people of the ledger tenant by tenant (ids in
    order) and, in each, subject by subject; each person's rows and this position are written in one short
    transaction, so a run that was stopped resumes with the next person. One row per scope of a run (every
    tenant, one tenant, one client): the run under way, or the last one."""

    class State(models.TextChoices):
        RUNNING = "running"
        DONE = "done"

    scope = models.CharField(max_length=300, unique=True)  # "all", "tenant:<id>" or "tenant:<id>:client:<id>"
    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    tenant_cursor = models.BigIntegerField(default=0)  # the tenant being walked (its id)
    subject_cursor = models.CharField(max_length=255, blank=True)  # the last person handled in that tenant
    subjects = models.PositiveIntegerField(default=0)  # people checked so far
    expected = models.PositiveIntegerField(default=0)  # people to check, counted when the run started
    gone = models.PositiveIntegerField(default=0)
    back = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"reconcile {self.scope}: {self.subjects}/{self.expected} {self.state}"

    @property
    def running(self) -> bool:
        return self.state == self.State.RUNNING
