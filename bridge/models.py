from __future__ import annotations

from django.conf import settings
from django.db import models

from truss.models import Tenant


class ClaimsConfig(models.Model):
    """A tenant's custom token claims: claim name -> template such as "{{traits.email}}" (see bridge/claims.py).

    Rendered at consent time against the consenting subject's Kratos identity, for clients the tenant owns.
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
