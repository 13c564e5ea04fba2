"""Client hygiene as its own Django app (label ``console_hygiene``): it owns the per-tenant linter thresholds.

Versions and drift need no table of their own: they are read from the audit log's before/after."""

from __future__ import annotations

from django.apps import AppConfig


class HygieneConfig(AppConfig):
    name = "oauth2_admin.hygiene"
    label = "console_hygiene"
    verbose_name = "Client hygiene"
    default_auto_field = "django.db.models.BigAutoField"
