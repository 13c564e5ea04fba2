"""Client hygiene over JSON: findings, the tenant report, versions (diff, restore) and drift (adopt).

Mounted twice like the client routes: `/api/hydra/…` (operator session + CSRF; writes need the member role) and
`/v1/oauth2/…` (service_role API key). Restore and adopt need `If-Match: <ETag>` (428 without it, 412 when the
client changed meanwhile): each replaces or records a whole client, so the caller must say which one it reviewed.
ClientInputError (400), PreconditionFailed (412) and Hydra errors (404/503) are answered by the shared handlers
in truss.api.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.params.functions import Query
from ninja.security.base import AuthBase

from oauth2_admin.clients import service as clients
from oauth2_admin.hygiene import drift, freshness, history, snapshot
from oauth2_admin.hygiene import service as hygiene
from oauth2_admin.hygiene.models import SnapshotRefresh, SweepRun
from truss.apikit import (
    AUTH_ERRORS,
    UPSTREAM_ERRORS,
    answers,
    audited,
    error,
    json_response,
    member_session,
    service_key,
    session_auth,
    tenant_of,
)
from truss.audit import Action

PAGE_SIZE, MAX_PAGE_SIZE = 100, 500  # clients per page of GET /findings
_TOKEN_SALT = "hygiene-findings-page"

# --- schemas -------------------------------------------------------------------------------------------------------


class FixOut(Schema):
    summary: str
    changes: dict[str, Any] | None = None
    token_config: dict[str, Any] | None = None


class FindingOut(Schema):
    rule: str
    severity: Literal["high", "medium", "low"]
    title: str
    reason: str
    detail: str
    fix: FixOut | None = None


class ClientFindingsOut(Schema):
    client_id: str
    name: str
    score: int
    findings: list[FindingOut]


class ReportItemOut(ClientFindingsOut):
    changed_outside_truss: list[str] = []


class ReportOut(Schema):
    items: list[ReportItemOut]
    counts: dict[str, int] = Field(..., description="Findings per severity over all the tenant's clients")
    total: int = Field(..., ge=0, description="The tenant's clients in the snapshot")
    as_of: datetime | None = Field(..., description="When the rows were checked against Hydra (null: never)")
    stale: bool = Field(..., description="Older than HYGIENE_REPORT_MAX_AGE or never checked against Hydra")
    next_page_token: str | None = Field(None, description="The next page's page_token; null on the last page")


class FindingsQuery(Schema):
    page_size: int = Field(PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="Clients per page")
    page_token: str | None = Field(
        None, min_length=1, max_length=512, description="A previous answer's next_page_token"
    )


FindingsParams: Any = Query(...)


class ChangeOut(Schema):
    field: str
    change: Literal["added", "removed", "changed", "rotated"]
    before: Any = None
    after: Any = None


class VersionOut(Schema):
    number: int
    action: str
    actor: str
    at: datetime
    changes: list[ChangeOut]


class VersionDetailOut(VersionOut):
    client: dict[str, Any]


class VersionListOut(Schema):
    items: list[VersionOut]


class DiffOut(Schema):
    a: int
    b: int
    changes: list[ChangeOut]


class RestoredOut(Schema):
    client: dict[str, Any]
    version: int


class DriftOut(Schema):
    drifted: bool
    known_version: int | None
    changes: list[ChangeOut]
    etag: str


class AdoptedOut(Schema):
    version: int


# --- helpers -------------------------------------------------------------------------------------------------------


def _token(tenant_pk: Any, after: str) -> str:
    """An opaque page token: the last client id of the page, signed for this tenant's listing only."""
    return signing.dumps(after, salt=f"{_TOKEN_SALT}:{tenant_pk}", compress=True)


def _after(tenant_pk: Any, token: str) -> str:
    """The client id a page token continues after; BadSignature if it is not one of this tenant's."""
    after = signing.loads(token, salt=f"{_TOKEN_SALT}:{tenant_pk}")
    if not isinstance(after, str) or not after:
        raise signing.BadSignature("not a client id")
    return after


def _stale(state: SnapshotRefresh | None, now: datetime) -> bool:
    """As the report judges it (hygiene.freshness), read only: never checked, or not checked lately."""
    if state is None:
        return True
    last = SweepRun.objects.filter(tenant=state.tenant).first()
    return bool(last and last.running) or now - freshness.checked_at(state, last) > freshness.max_age()


def _version_out(v: history.Version, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "number": v.number,
        "action": v.action,
        "actor": v.actor,
        "at": v.at,
        "changes": [c.as_dict() for c in v.changes],
    }
    if detail:
        out["client"] = v.state
    return out


def _versions(request: HttpRequest, client_id: str) -> list[history.Version]:
    clients.get_for(tenant_of(request), client_id)  # 404 for another tenant's client
    return history.versions_for(tenant_of(request), client_id)


def _pick(versions: list[history.Version], number: int) -> history.Version:
    try:
        return history.version(versions, number)
    except history.NoSuchVersion as exc:
        raise HttpError(404, str(exc)) from exc


def _with_etag(response: HttpResponse, client: Any) -> HttpResponse:
    response["ETag"] = clients.etag(client)
    return response


def _version_required(request: HttpRequest, exc: clients.PreconditionRequired) -> HttpResponse:
    """428 (RFC 6585): the write was refused (and audited by the service) for want of If-Match."""
    return error(request, 428, "precondition_required", str(exc))


_READ = (*AUTH_ERRORS, 404, *UPSTREAM_ERRORS)
_WRITE = (400, *AUTH_ERRORS, 404, 412, 428, *UPSTREAM_ERRORS)
# Declared, so the document says what 428 answers: an ETag (or *) is required.
_IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "pattern": "\\S"},
}


def build_router(*, read_auth: AuthBase, write_auth: AuthBase, op: str, tags: list[str]) -> Router:
    router = Router(tags=tags)

    @router.get(
        "/findings",
        auth=read_auth,
        response=answers({200: ReportOut}, 400, AUTH_ERRORS, UPSTREAM_ERRORS),
        summary="Security findings of the tenant's clients (RFC 9700 linter), from the findings snapshot, a page "
        "at a time",
        description="Clients in client id order, `page_size` at a time; pass `next_page_token` as `page_token` "
        "for the next page (null on the last). Read from the findings snapshot only, never from Hydra: rows "
        "follow every client write made through Truss at once; changes made in Hydra directly appear after a "
        "refresh or `sweep_drift` (`as_of`; `stale` when it is older than the report's maximum age). Secret "
        "age, idle and PKCE are evaluated now. `counts` and `total` cover all the tenant's clients.",
        operation_id=f"{op}_hygiene_report",
    )
    def report(request: HttpRequest, params: FindingsQuery = FindingsParams) -> HttpResponse:
        tenant = tenant_of(request)
        after = ""
        if params.page_token is not None:
            try:
                after = _after(tenant.pk, params.page_token)
            except signing.BadSignature:
                message = "Not a page token of this listing: start again without page_token."
                return error(request, 400, "invalid_request", message, fields={"page_token": [message]})
        now = timezone.now()
        rt = snapshot.read_time(tenant, now=now)
        selected = snapshot.select(rt).order_by("client_id")
        if after:
            selected = selected.filter(client_id__gt=after)
        window = list(selected[: params.page_size + 1])
        more = len(window) > params.page_size
        rows = snapshot.rows(tenant, window[: params.page_size], now=now)
        items = [
            {
                "client_id": r.client_id,
                "name": r.name,
                "score": r.score,
                "findings": [f.as_dict() for f in r.findings],
                "changed_outside_truss": r.drift_fields,
            }
            for r in rows
        ]
        sums = snapshot.totals(rt)
        state = SnapshotRefresh.objects.filter(tenant=tenant).first()
        body = {
            "items": items,
            "counts": {s: sums[f"{s}_sum"] for s in hygiene.SEVERITIES},
            "total": sums["total"],
            "as_of": state.refreshed_at.isoformat() if state else None,
            "stale": _stale(state, now),
            "next_page_token": _token(tenant.pk, rows[-1].client_id) if more and rows else None,
        }
        return json_response(body)

    @router.get(
        "/clients/{client_id}/findings",
        auth=read_auth,
        response=answers({200: ClientFindingsOut}, _READ),
        summary="Security findings of one client",
        operation_id=f"{op}_client_findings",
    )
    def client_findings(request: HttpRequest, client_id: str) -> HttpResponse:
        client = clients.get_for(tenant_of(request), client_id)
        found = hygiene.findings_for(tenant_of(request), client)
        return json_response(
            {
                "client_id": client.client_id,
                "name": client.client_name or "",
                "score": hygiene.score(found),
                "findings": [f.as_dict() for f in found],
            }
        )

    @router.get(
        "/clients/{client_id}/versions",
        auth=read_auth,
        response=answers({200: VersionListOut}, _READ),
        summary="The client's versions (from the audit log), oldest first",
        operation_id=f"{op}_client_versions",
    )
    def versions(request: HttpRequest, client_id: str) -> HttpResponse:
        return json_response({"items": [_version_out(v) for v in _versions(request, client_id)]})

    @router.get(
        "/clients/{client_id}/versions/{number}",
        auth=read_auth,
        response=answers({200: VersionDetailOut}, 400, _READ),
        summary="One version with the client as it was (no secrets)",
        operation_id=f"{op}_client_version",
    )
    def version(request: HttpRequest, client_id: str, number: int) -> HttpResponse:
        return json_response(_version_out(_pick(_versions(request, client_id), number), detail=True))

    @router.get(
        "/clients/{client_id}/versions/{a}/diff/{b}",
        auth=read_auth,
        response=answers({200: DiffOut}, 400, _READ),
        summary="What changed between two versions (a secret rotation shows as 'rotated')",
        operation_id=f"{op}_client_version_diff",
    )
    def version_diff(request: HttpRequest, client_id: str, a: int, b: int) -> HttpResponse:
        found = _versions(request, client_id)
        _pick(found, a), _pick(found, b)
        changes = history.diff_between(found, a, b)
        return json_response({"a": a, "b": b, "changes": [c.as_dict() for c in changes]})

    @router.post(
        "/clients/{client_id}/versions/{number}/restore",
        auth=write_auth,
        response=answers({200: RestoredOut}, _WRITE),
        summary="Restore a version (applied as a new version)",
        description="If-Match (required, 428 without it): the ETag from GET …/clients/{id}; 412 when the client "
        "changed meanwhile. Secrets the audit log keeps redacted keep the current client's values; 400 when the "
        "client has none.",
        operation_id=f"{op}_client_version_restore",
        openapi_extra={"parameters": [_IF_MATCH]},
    )
    @audited(Action.CLIENT_UPDATE)
    def restore(request: HttpRequest, client_id: str, number: int) -> HttpResponse:
        tenant = tenant_of(request)
        target = _pick(_versions(request, client_id), number)
        try:
            if_match, label = request.headers.get("If-Match"), f"Version {number}"
            client = history.restore(request, tenant, client_id, target.state, if_match=if_match, label=label)
        except clients.PreconditionRequired as exc:
            return _version_required(request, exc)
        newest = history.versions_for(tenant, client_id)[-1].number
        return _with_etag(json_response({"client": clients.public_view(client), "version": newest}), client)

    @router.get(
        "/clients/{client_id}/drift",
        auth=read_auth,
        response=answers({200: DriftOut}, _READ),
        summary="Hydra's client vs Truss's last known version",
        operation_id=f"{op}_client_drift",
    )
    def client_drift(request: HttpRequest, client_id: str) -> HttpResponse:
        found = drift.check(tenant_of(request), client_id)
        body = {
            "drifted": found.drifted,
            "known_version": found.known.number if found.known else None,
            "changes": [c.as_dict() for c in found.changes],
            "etag": clients.etag(found.client),
        }
        return _with_etag(json_response(body), found.client)

    @router.post(
        "/clients/{client_id}/drift/adopt",
        auth=write_auth,
        response=answers({200: AdoptedOut}, _WRITE),
        summary="Adopt Hydra's client as a new version",
        description="If-Match (required, 428 without it): the ETag from GET …/drift; 412 when Hydra's client "
        "changed again. "
        "400 when there is nothing to adopt.",
        operation_id=f"{op}_client_drift_adopt",
        openapi_extra={"parameters": [_IF_MATCH]},
    )
    @audited(history.ADOPT)
    def adopt(request: HttpRequest, client_id: str) -> HttpResponse:
        try:
            adopted = drift.adopt(
                request, tenant_of(request), client_id, if_match=request.headers.get("If-Match")
            )
        except clients.PreconditionRequired as exc:
            return _version_required(request, exc)
        except drift.NothingToAdopt as exc:
            raise clients.ClientInputError({"__all__": [str(exc)]}, str(exc)) from exc
        return json_response({"version": adopted.number})

    return router


session_router = build_router(read_auth=session_auth, write_auth=member_session, op="hydra", tags=["hygiene"])
key_router = build_router(read_auth=service_key, write_auth=service_key, op="v1", tags=["hygiene (API key)"])
