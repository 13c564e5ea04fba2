"""Signing keys as their own Django app (label ``console_keys``): it records what Hydra's JWKs lack (when
Truss created a key, by whom) and the staged rotations."""

from __future__ import annotations

from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "oauth2_admin.keys"
    label = "console_keys"
    verbose_name = "Signing keys"
    default_auto_field = "django.db.models.BigAutoField"
