"""Which tenant created which of Hydra's (global) trust relationships. Public key data only."""

from __future__ import annotations

from django.db import models

from truss.models import Tenant


class TrustRecord(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    hydra_id = models.CharField(max_length=100, unique=True)
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=500, blank=True)
    allow_any_subject = models.BooleanField(default=False)
    scope = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    public_jwk = models.JSONField()  # the issuer's public key (private members are refused before saving)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=200, blank=True)
    # Hydra v2.3.0 does not enforce expires_at for an assertion naming the key's kid: once the expiry passed, Truss
    # deletes the trust in Hydra (service.expire_due) and records when here; the row stays for the history.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["expires_at"], name="trust_expiry_due", condition=models.Q(removed_at=None))
        ]

    def __str__(self) -> str:
        return f"{self.issuer} ({self.hydra_id})"
