"""Client hygiene as its own Django app (label ``console_hygiene``): it owns the per-tenant linter thresholds and
the findings snapshot the report reads (hygiene.snapshot).

Versions and drift need no table of their own: they are read from the audit log's before/after.

Dependencies go one way, hygiene → clients: hygiene reads and writes clients through oauth2_admin.clients, and
clients never imports hygiene. What clients learns from hygiene arrives through what ready() connects: the
audit events of client writes feed the snapshot (post_save), and the linter's findings join the client API's
answer warnings (clients.add_warning_source), and a client's home shows its findings, versions and drift through
what hygiene provides (clients.home.provide)."""

from __future__ import annotations

from django.apps import AppConfig


class HygieneConfig(AppConfig):
    name = "oauth2_admin.hygiene"
    label = "console_hygiene"
    verbose_name = "Client hygiene"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from oauth2_admin.clients import home
        from oauth2_admin.clients import service as clients
        from oauth2_admin.hygiene import sections, service, snapshot
        from oauth2_admin.hygiene.models import Thresholds
        from truss.models import AuditEvent

        # Every client write Truss makes is an audit event (drained outbox events are saved too): the snapshot
        # follows those events, so the client service needs no knowledge of hygiene.
        post_save.connect(snapshot.on_audit_event, sender=AuditEvent, dispatch_uid="console_hygiene.snapshot")
        post_save.connect(
            snapshot.on_thresholds_saved, sender=Thresholds, dispatch_uid="console_hygiene.thresholds"
        )
        clients.add_warning_source(service.answer_warnings)
        home.provide("drift", sections.drift_of)
        home.provide("findings", sections.findings_of)
        home.provide("history", sections.history_of)
