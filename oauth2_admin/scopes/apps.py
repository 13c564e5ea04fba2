"""The scope catalogue as its own Django app (label ``console_scopes``): each tenant's scopes with their text
for the consent screen, the claims each releases and whether a consent to it may be remembered."""

from __future__ import annotations

from django.apps import AppConfig


class ScopesConfig(AppConfig):
    name = "oauth2_admin.scopes"
    label = "console_scopes"
    verbose_name = "Scope catalogue"
    default_auto_field = "django.db.models.BigAutoField"
