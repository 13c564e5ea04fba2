from __future__ import annotations

from django.apps import AppConfig


class OAuth2AdminConfig(AppConfig):
    name = "oauth2_admin"
    verbose_name = "OAuth2 console"
