from __future__ import annotations

from django.apps import AppConfig


class TrussConfig(AppConfig):
    name = "truss"
    verbose_name = "Truss"

    def ready(self) -> None:
        from truss import authcache, checks  # noqa: F401  (registers the cache's signal receivers, system checks)
