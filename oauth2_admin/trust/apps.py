"""Trusted jwt-bearer issuers as their own Django app (label ``console_trust``): Hydra's trust relationships
are global, so Truss records which tenant created each."""

from __future__ import annotations

from django.apps import AppConfig


class TrustConfig(AppConfig):
    name = "oauth2_admin.trust"
    label = "console_trust"
    verbose_name = "Trusted jwt-bearer issuers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oauth2_admin.trust import checks  # noqa: F401  (registers the check)
