"""`GET /api/hydra/health`: Hydra's and Kratos's readiness and versions (public, as in the guide). `GET …/overview`:
the tenant's numbers as the overview shows them (client counts, 14 days of bridge activity from the daily
rollup, consents per scope), mounted twice: `/api/hydra/overview` (operator session) and `/v1/oauth2/overview`
(service_role API key). Its cost does not grow with the tenant's clients or audit events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status
from ninja.security.base import AuthBase

from oauth2_admin.overview import service
from truss.apikit import AUTH_ERRORS, answers, json_response, service_key, session_auth, tenant_of

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


class OverviewClientsOut(Schema):
    state: Literal["counted", "counting", "unavailable"]
    total: int | None = None
    by_grant: dict[str, int] = {}
    counted_at: datetime | None = None


class OverviewDayOut(Schema):
    day: date
    sign_ins: int
    consents_given: int
    consents_refused: int


class OverviewActivityOut(Schema):
    days: list[OverviewDayOut]
    failed: int
    denied: int


class OverviewScopeOut(Schema):
    scope: str
    title: str
    grants: int


class OverviewScopesOut(Schema):
    consents: int
    scopes: list[OverviewScopeOut]
    more: int


class OverviewOut(Schema):
    clients: OverviewClientsOut
    activity: OverviewActivityOut
    scopes: OverviewScopesOut


def _clients(stats: service.ClientStats | None) -> dict[str, Any]:
    if stats is None:
        return {"state": "unavailable", "total": None, "by_grant": {}, "counted_at": None}
    if stats.counting:
        return {"state": "counting", "total": None, "by_grant": {}, "counted_at": None}
    return {
        "state": "counted",
        "total": stats.total,
        "by_grant": dict(stats.by_grant),
        "counted_at": stats.counted_at,
    }


def overview_of(request: HttpRequest) -> dict[str, Any]:
    tenant = tenant_of(request)
    activity = service.activity(tenant)
    grants = service.scope_grants(tenant)
    keys = [label.replace("-", "_").replace(" ", "_") for label in activity["labels"]]  # "sign-ins": sign_ins
    return {
        "clients": _clients(service.client_stats(tenant)),
        "activity": {
            "days": [
                {"day": row["day"], **dict(zip(keys, row["values"], strict=True))}
                for row in activity["table"]
            ],
            "failed": activity["failed"],
            "denied": activity["denied"],
        },
        "scopes": {
            "consents": grants.consents,
            "scopes": [{"scope": s.scope, "title": s.title, "grants": s.grants} for s in grants.scopes],
            "more": grants.more,
        },
    }


def build_router(*, auth: AuthBase, op: str, tags: list[str]) -> Router:
    tenant_router = Router(tags=tags)

    @tenant_router.get(
        "/overview",
        auth=auth,
        response=answers({200: OverviewOut}, AUTH_ERRORS),
        summary="The tenant's overview numbers: clients, 14 days of sign-in activity, consents per scope",
        description="Clients from the tenant's stored counts (`counted_at`: the last full count in Hydra; Truss's "
        "own changes count at once): `state` is `unavailable` only while Hydra cannot be asked for a tenant never "
        "counted. Activity per UTC day from the audit log's daily rollup.",
        operation_id=f"{op}_overview",
    )
    def overview(request: HttpRequest) -> HttpResponse:
        return json_response(overview_of(request))

    return tenant_router


session_router = build_router(auth=session_auth, op="hydra", tags=["overview"])
key_router = build_router(auth=service_key, op="v1", tags=["overview (API key)"])
