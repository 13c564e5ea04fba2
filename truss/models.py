from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from truss import caching


class Tenant(models.Model):
    """An operator organisation. Its slug is written into Hydra's `owner` field of every client it creates."""

    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    logo_url = models.URLField(blank=True)
    accent_color = models.CharField(
        max_length=7,
        blank=True,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #2563eb.")],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # Prefixed so that clients created outside Truss (owner "" or anything else) never match a tenant.
    OWNER_PREFIX = "truss:"

    @property
    def hydra_owner(self) -> str:
        return f"{self.OWNER_PREFIX}{self.slug}"

    @classmethod
    def for_owner(cls, owner: str | None) -> Tenant | None:
        """The tenant a Hydra `owner` value names, if it is one of Truss's."""
        if not owner or not owner.startswith(cls.OWNER_PREFIX):
            return None
        return cls.cached(owner.removeprefix(cls.OWNER_PREFIX))

    @classmethod
    def cached(cls, slug: str) -> Tenant | None:
        """The tenant with this slug and its claims configuration (``tenant.claims_config``, loaded with it in
        the same query), through the shared cache (truss.caching)."""
        hit = caching.through_cache(
            caching.tenant_key(slug),
            lambda: (cls.objects.filter(slug=slug).select_related("claims_config").first(),),
            caching.TENANT_TTL,
        )
        return hit[0] if hit is not None else None


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tenant"], name="one_membership_per_tenant")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class ApiKeyRole(models.TextChoices):
    SERVICE_ROLE = "service_role", "service_role (full access to the tenant's clients)"
    ANON = "anon", "anon (read-only: discovery)"


class ApiKey(models.Model):
    """A tenant API key. Only a SHA-256 digest of the key is stored; the key itself is shown once."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    role = models.CharField(max_length=16, choices=ApiKeyRole.choices)
    prefix = models.CharField(max_length=24, unique=True)  # "truss_sk_ab12cd34", visible in lists and logs
    digest = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.role})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AuditEvent(models.Model):
    """Append-only record of every mutation. Rows are chained: `hash` covers the row and the previous hash."""

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"
        DENIED = "denied"

    tenant = models.ForeignKey(Tenant, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    actor = models.CharField(max_length=200)  # "user:alice", "apikey:truss_sk_ab12cd34", "system"
    action = models.CharField(max_length=100)  # e.g. "oauth2.client.create"
    target = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    request_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.TextField(blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # "tenant:<id>", "global" (no tenant) or "legacy" (rows from before per-tenant chains): see
    # truss/audit/events.py.
    chain = models.CharField(max_length=40)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # verify_audit walks each chain; the audit page turns a date into an id bound within one tenant.
            models.Index(fields=["chain", "id"], name="audit_chain_id"),
            models.Index(fields=["tenant", "created_at"], name="audit_tenant_created"),
            # Keyset pagination: every list query is "tenant [+ one filter] ORDER BY id DESC LIMIT n".
            models.Index(fields=["tenant", "-id"], name="audit_tenant_id"),
            models.Index(fields=["tenant", "action", "-id"], name="audit_tenant_action_id"),
            models.Index(fields=["tenant", "actor", "-id"], name="audit_tenant_actor_id"),
            models.Index(fields=["tenant", "target", "-id"], name="audit_tenant_target_id"),
            models.Index(fields=["created_at"], name="audit_created_at"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} {self.outcome}"


class AuditChainHead(models.Model):
    """One row per chain holding its last hash; locking it serialises that chain's appends so it never forks."""

    chain = models.CharField(max_length=40, unique=True)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.last_hash


class AuditOutbox(models.Model):
    """An audit event written ahead, in one INSERT before the answer leaves, and chained into AuditEvent right
    after the answer (truss/audit/outbox.py: ``write_ahead``, ``drain_outbox``). A row outlives a process that
    dies in between and is chained by the next drain in any process: no event is lost, none is chained twice
    (the row is deleted in the transaction that appends it)."""

    created_at = models.DateTimeField(auto_now_add=True)
    chain = models.CharField(max_length=40)
    event = models.JSONField()  # AuditEvent's fields, already redacted and JSON-normalised

    def __str__(self) -> str:
        return f"outbox #{self.pk} ({self.chain})"


class ClaimsConfig(models.Model):
    """A tenant's custom token claims: claim name -> template such as "{{traits.email}}" (see truss/claims.py).

    Edited in the console (oauth2_admin.claims), rendered by the bridge at consent time against the consenting
    subject's Kratos identity, for clients the tenant owns.
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="claims_config")
    id_token_claims = models.JSONField(default=dict, blank=True)
    access_token_claims = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"claims for {self.tenant}"

    @property
    def is_empty(self) -> bool:
        return not (self.id_token_claims or self.access_token_claims)


class AuditStreamCursor(models.Model):
    """How far one audit sink (file, webhook) has been delivered (truss/audit/stream.py), so a restart resumes
    where it stopped. Every event with id <= ``position`` was acknowledged by the sink; above it, every id up to
    ``top`` was too, except the ``holes`` (ids not visible when later ones were: a transaction still open, or
    rolled back), which are delivered when they appear or given up after AUDIT_STREAM_HOLE_TIMEOUT."""

    sink = models.CharField(max_length=16, unique=True)  # "file" or "webhook"
    position = models.BigIntegerField(default=0)
    top = models.BigIntegerField(default=0)
    holes = models.JSONField(default=dict)  # {"<id>": first seen (ISO time)}
    delivered = models.BigIntegerField(default=0)  # events acknowledged since the cursor was created
    failures = models.BigIntegerField(default=0)  # failed deliveries since the cursor was created
    consecutive_failures = models.IntegerField(default=0)
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)  # no attempt before (backoff after a failure)
    lease_owner = models.CharField(max_length=64, blank=True)  # the streamer process delivering this sink
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.sink} @ {self.position}"


class AuditDailyCount(models.Model):
    """The audit log's daily rollup: events per (tenant, UTC day, action, outcome), added to in the transaction
    that chains them (truss/audit/chain.py), so activity charts read at most days × actions rows whatever the
    traffic. Events without a tenant are not counted (no page charts them)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    action = models.CharField(max_length=100)
    outcome = models.CharField(max_length=16)
    events = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day", "action", "outcome"], name="audit_daily_count"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day} {self.action}/{self.outcome}: {self.events}"


class AuditCut(models.Model):
    """Where retention cut a chain: every event up to ``last_id`` (whose hash is ``last_hash``) was archived to
    ``archive`` and removed; the live chain is verified from ``last_hash``, the archive against this row.
    ``signature`` is an HMAC over the other fields (truss/audit/verify.py's checkpoint key)."""

    chain = models.CharField(max_length=40)
    last_id = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)
    last_created_at = models.DateTimeField()
    events = models.BigIntegerField()  # events archived by this cut
    archive = models.CharField(max_length=500)  # the archive file's name, relative to AUDIT_ARCHIVE_DIR
    archive_sha256 = models.CharField(max_length=64)
    signature = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["chain", "last_id"]
        constraints = [models.UniqueConstraint(fields=["chain", "last_id"], name="audit_cut_once")]

    def __str__(self) -> str:
        return f"{self.chain} cut at #{self.last_id}"


class ClientCount(models.Model):
    """A tenant's OAuth2 clients counted, by grant type: kept by the client writes Truss makes and the drift
    sweep sees, reconciled by the sweeps, so no page lists a tenant's fleet from Hydra to count it."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="+")
    total = models.IntegerField(default=0)
    by_grant = models.JSONField(default=dict)  # {"authorization_code": 12, ...}
    reconciled_at = models.DateTimeField(null=True, blank=True)  # last full count from Hydra
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.tenant}: {self.total} clients"
