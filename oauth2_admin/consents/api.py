"""Consent API: `GET/DELETE /api/hydra/consent/{subject}` (operator session + CSRF) and the same under
`/v1/oauth2/consent/{subject}` (service_role key), plus `POST /api/hydra/logout` (operator session)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import AuthorizationError, HttpError
from ninja.params.functions import Path, Query

from oauth2_admin.consents import service
from truss.apikit import (
    AUTH_ERRORS,
    UPSTREAM_ERRORS,
    QueryBool,
    StrictBool,
    answers,
    audited,
    member_session,
    require_role,
    service_key,
    tenant_of,
)
from truss.audit import Action
from truss.models import Role

router = Router(tags=["consents"])
key_router = Router(tags=["consents (API key)"])


class LogoutIn(Schema):
    subject: str = Field(..., min_length=1, max_length=200)
    # Ending Hydra's login sessions affects every tenant's clients: platform admins only.
    end_login_sessions: StrictBool = False


class RevokeOut(Schema):
    subject: str
    revoked_clients: list[str]
    login_sessions_ended: bool


class ConsentOut(Schema):
    client_id: str
    client_name: str
    grant_scope: list[str]
    grant_access_token_audience: list[str]
    remember: bool
    remember_for: int
    handled_at: dt.datetime | None
    remember_until: dt.datetime | None
    login_session_id: str | None


class RevokeQuery(Schema):
    client: str | None = Field(None, min_length=1, max_length=255, description="Only this client's consent")
    end_login_sessions: QueryBool = Field(
        False, description="Also end Hydra login sessions (platform admins)"
    )


RevokeParams: Any = Query(...)
SubjectPath: Any = Path(
    ..., min_length=1, max_length=service.MAX_SUBJECT, description="The identity id (subject)"
)


def _consent_out(row: service.ConsentRow) -> dict[str, Any]:
    return {
        "client_id": row.client_id,
        "client_name": row.client_name,
        "grant_scope": row.scopes,
        "grant_access_token_audience": row.audience,
        "remember": row.remembered,
        "remember_for": row.remember_for,
        "handled_at": row.granted_at,
        "remember_until": row.until,
        "login_session_id": row.login_session_id,
    }


def list_consents(request: HttpRequest, subject: str = SubjectPath) -> list[dict[str, Any]]:
    """The subject's consent sessions with the tenant's clients (an empty list for anyone else)."""
    return [_consent_out(r) for r in service.consents(tenant_of(request), subject)]


def revoke_consents(
    request: HttpRequest, subject: str = SubjectPath, params: RevokeQuery = RevokeParams
) -> service.RevokeResult:
    """Revoke the subject's consent with one of the tenant's clients (`?client=`) or with all of them; Hydra
    also revokes the access and refresh tokens issued under it. 404 when there is nothing of this tenant's."""
    require_role(request, Role.MEMBER)
    if params.end_login_sessions and not getattr(request.user, "is_superuser", False):
        raise AuthorizationError(message="Ending login sessions affects every tenant: platform admins only.")
    try:
        return service.revoke(
            request, tenant_of(request), subject, client_id=params.client, end_login=params.end_login_sessions
        )
    except service.NotVisible as exc:
        raise HttpError(404, str(exc)) from exc


@router.post(
    "/logout",
    auth=member_session,  # a viewer is refused (and audited) before the body is read
    response=answers({200: RevokeOut}, 400, AUTH_ERRORS, UPSTREAM_ERRORS),
    summary="RP-initiated logout: revoke a subject's consent",
)
@audited(Action.LOGOUT_SUBJECT)
def logout_subject(request: HttpRequest, payload: LogoutIn) -> Any:
    if payload.end_login_sessions and not request.user.is_superuser:
        raise AuthorizationError(message="Ending login sessions affects every tenant: platform admins only.")
    return service.revoke_subject(
        request, tenant_of(request), payload.subject, end_login=payload.end_login_sessions
    )


for _router, _prefix, _auth, _op in (
    (router, "/consent/{subject}", None, "hydra"),
    (key_router, "/consent/{subject}", service_key, "v1"),
):
    _extra: dict[str, Any] = {} if _auth is None else {"auth": _auth}
    _router.add_api_operation(
        _prefix,
        ["GET"],
        list_consents,
        response=answers({200: list[ConsentOut]}, 400, AUTH_ERRORS, UPSTREAM_ERRORS),
        summary="List a subject's consents with the tenant's clients",
        operation_id=f"{_op}_list_consents",
        **_extra,
    )
    _router.add_api_operation(
        _prefix,
        ["DELETE"],
        audited(Action.CONSENT_REVOKE)(revoke_consents),
        response=answers({200: RevokeOut}, 400, 404, AUTH_ERRORS, UPSTREAM_ERRORS),
        summary="Revoke a subject's consent (one client or all of the tenant's)",
        operation_id=f"{_op}_revoke_consents",
        **_extra,
    )
