from __future__ import annotations

from django.apps import AppConfig


class TokensConfig(AppConfig):
    """Token introspection, revocation and Hydra's janitor (its run history is this app's only model)."""

    name = "oauth2_admin.tokens"
    label = "console_tokens"
    verbose_name = "OAuth2 tokens"
    default_auto_field = "django.db.models.BigAutoField"
