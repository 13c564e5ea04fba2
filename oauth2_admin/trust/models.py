"""Which tenant trusts which issuer key, and the Hydra trust relationship that carries it. Public key data only.

Hydra keeps trust relationships globally and one key per issuer and key id; deleting a trust deletes that key and,
with it, every other trust using it. So a trust of Truss (one tenant's) is carried by a Hydra trust
(``grant_id``) that tenants trusting the same issuer, subject and key share, and Truss keeps Hydra's trusts for one
issuer key exactly what the live rows need (service.sync_key)."""

from __future__ import annotations

from django.db import models

from truss.models import Tenant


class TrustRecord(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    # The trust's id in the API and on the pages: Hydra's id for the trust Truss created for it, or a new id when
    # the tenant joined a Hydra trust that was there already. It never changes.
    hydra_id = models.CharField(max_length=100, unique=True)
    # The Hydra trust carrying it now (re-created when the tenants sharing it change what it must allow).
    grant_id = models.CharField(max_length=100, db_index=True)
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255, blank=True)  # "" when any subject is allowed
    allow_any_subject = models.BooleanField(default=False)
    scope = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    public_jwk = models.JSONField()  # the issuer's public key (private members are refused before saving)
    kid = models.CharField(max_length=255)  # public_jwk["kid"]: Hydra finds the key by issuer and kid
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200, blank=True)
    # Hydra v2.3.0 does not enforce expires_at for an assertion naming the key's kid: once the expiry passed, Truss
    # deletes the trust in Hydra (service.expire_due) and records when here; the row stays for the history.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["expires_at"], name="trust_expiry_due", condition=models.Q(removed_at=None)),
            models.Index(fields=["issuer", "kid"], name="trust_issuer_key"),
        ]
        constraints = [
            # Once per tenant: another tenant trusting the same issuer key and subject is no conflict.
            models.UniqueConstraint(
                fields=["tenant", "issuer", "subject", "kid"],
                condition=models.Q(removed_at=None),
                name="trust_once_per_tenant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.issuer} ({self.hydra_id})"

    @property
    def subject_key(self) -> str:
        """What Hydra's trust is unique by besides issuer and kid: the subject, "" for any subject."""
        return "" if self.allow_any_subject else self.subject


class TrustKeyLock(models.Model):
    """One row per issuer key (issuer, kid): changes to the Hydra trusts using that key take it in turn (the row
    is updated first in the transaction, which locks it on PostgreSQL and the database on SQLite)."""

    issuer = models.CharField(max_length=255)
    kid = models.CharField(max_length=255)
    changed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "kid"], name="trust_key_lock_once")]

    def __str__(self) -> str:
        return f"{self.issuer} {self.kid}"
