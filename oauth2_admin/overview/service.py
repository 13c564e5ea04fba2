"""Read models for the console and the API, shared so both answer the same thing."""

from __future__ import annotations

from dataclasses import dataclass

from truss.ory import hydra, kratos


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    ready: bool
    version: str | None
    url: str


def health() -> list[ServiceHealth]:
    """Readiness and version of Hydra and Kratos; never raises (an outage is a state, not an error)."""
    from django.conf import settings

    out = []
    for name, module, url in (
        ("Hydra", hydra, settings.HYDRA_ADMIN_URL),
        ("Kratos", kratos, settings.KRATOS_ADMIN_URL),
    ):
        ready = module.is_ready()
        version: str | None = None
        if ready:
            try:
                version = module.get_version()
            except (hydra.HydraError, kratos.KratosError):
                version = None
        out.append(ServiceHealth(name=name, ready=ready, version=version, url=url))
    return out
