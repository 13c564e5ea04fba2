from __future__ import annotations

from django.apps import AppConfig


class TrussConfig(AppConfig):
    name = "truss"
    verbose_name = "Truss"

    def ready(self) -> None:
        # authcache and checks register the cache's signal receivers and the system checks on import.
        from truss import authcache, checks, metrics  # noqa: F401

        metrics.connect()  # chained audit events feed the bridge and operations counters
