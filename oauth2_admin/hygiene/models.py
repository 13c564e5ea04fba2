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
