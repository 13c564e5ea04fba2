"""`GET /api/hydra/health`: Hydra's and Kratos's readiness and versions (public, as in the guide)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from oauth2_admin.overview import service

router = Router(tags=["health"])


class ServiceStatus(Schema):
    ready: bool
    version: str | None


class HealthOut(Schema):
    status: str
    hydra: ServiceStatus
    kratos: ServiceStatus


@router.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None, summary="Health check")
def health(request: HttpRequest) -> Status[dict[str, Any]]:
    checks = {h.name.lower(): {"ready": h.ready, "version": h.version} for h in service.health()}
    ok = all(c["ready"] for c in checks.values())
    return Status(200 if ok else 503, {"status": "ok" if ok else "degraded", **checks})
