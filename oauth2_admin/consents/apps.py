"""The consent feature as its own Django app (label ``console_consents``): it owns the consent ledger."""

from __future__ import annotations

from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "oauth2_admin.consents"
    label = "console_consents"
    verbose_name = "Consent ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from oauth2_admin.consents import ledger
        from truss.models import AuditEvent

        # The bridge records every consent decision as an audit event; the ledger follows those events, so
        # the bridge needs no knowledge of it.
        post_save.connect(ledger.on_audit_event, sender=AuditEvent, dispatch_uid="console_consents.ledger")
