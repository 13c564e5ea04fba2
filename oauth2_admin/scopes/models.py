"""A tenant's own scopes. The standard OIDC scopes are built in (catalogue.STANDARD) and never stored."""

from __future__ import annotations

from django.db import models

from truss.models import Tenant


class Scope(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)  # an RFC 6749 §3.3 scope token, not a standard scope's name
    title_en = models.CharField(max_length=100)
    description_en = models.CharField(max_length=300)
    title_de = models.CharField(max_length=100, blank=True)  # blank: the English text is shown
    description_de = models.CharField(max_length=300, blank=True)
    # Names of the tenant's claim templates (ClaimsConfig, ID token or access token) this scope releases.
    claims = models.JSONField(default=list, blank=True)
    rememberable = models.BooleanField(default=True)  # False: a consent including it is asked every time
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="scope_per_tenant")]

    def __str__(self) -> str:
        return f"{self.tenant}: {self.name}"
