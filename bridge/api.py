"""The bridge's JSON endpoints (the guide's table): status, the consent API for custom UIs, claims config, and
the RP-initiated logout by subject.

``consent/*`` are ``auth=None`` as in the guide, yet they act only for the person whose Kratos session (the
browser's cookies) matches the challenge's subject. Because that makes them cookie-authenticated, they take
Django's CSRF token too: ``consent/info`` (a GET) returns ``csrf_token`` and sets the CSRF cookie, and
``consent/accept`` and ``consent/reject`` need it back in ``X-CSRFToken``. A cross-site page can neither read
the token nor send the header without a CORS preflight, which Truss never grants.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from ninja import Field, Router, Schema
from ninja.errors import AuthorizationError, HttpError
from ninja.utils import check_csrf

from bridge import claims, scopes, services, status
from truss.api import api, error, require_role, session_auth
from truss.models import Role, Tenant

bridge_router = Router(tags=["bridge"])

_CHALLENGE = Field(..., min_length=8, max_length=6000, pattern=services.CHALLENGE_RE.pattern)


class ConsentAcceptIn(Schema):
    challenge: str = _CHALLENGE
    grant_scope: list[str] = Field(default_factory=list, max_length=50)
    remember: bool = False


class ConsentRejectIn(Schema):
    challenge: str = _CHALLENGE
    # The guide lets the caller choose; only the OAuth error codes a user's refusal can mean are allowed.
    error: str = Field("access_denied", pattern=r"^(access_denied|consent_required|interaction_required)$")
    error_description: str = Field(services.ACCESS_DENIED, max_length=500)


class RedirectOut(Schema):
    redirect_to: str


class ClaimsConfigIO(Schema):
    id_token_claims: dict[str, Any] = Field(default_factory=dict)
    access_token_claims: dict[str, Any] = Field(default_factory=dict)


class PreviewIn(ClaimsConfigIO):
    identity: str = Field(..., min_length=1, max_length=320)
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"], max_length=50)


class LogoutIn(Schema):
    subject: str = Field(..., min_length=1, max_length=200)
    # Ending Hydra's login sessions affects every tenant's clients: platform admins only.
    end_login_sessions: bool = False


def _csrf_or_403(request: HttpRequest) -> None:
    if check_csrf(request) is not None:
        raise AuthorizationError(
            message="CSRF token missing or incorrect: send X-CSRFToken from consent/info."
        )


def _tenant(request: HttpRequest) -> Tenant:
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]  # set by session_auth
    return tenant


def _stopped(request: HttpRequest, stop: services.Stop) -> HttpResponse:
    messages = {"wrong_user": "This consent request belongs to another account, or you are not signed in."}
    return error(request, stop.status, "forbidden" if stop.status == 403 else stop.reason,
                 messages.get(stop.reason, "The request cannot continue."))  # fmt: skip


@bridge_router.get("/bridge/status", auth=None, summary="Bridge configuration status")
def bridge_status(request: HttpRequest) -> dict[str, Any]:
    return status.status()


@bridge_router.get(
    "/bridge/consent/info", auth=None, summary="Consent challenge details (signed-in subject only)"
)
def consent_info(request: HttpRequest, consent_challenge: str) -> Any:
    try:
        challenge = services.clean_challenge(consent_challenge)
    except services.InvalidChallenge as exc:
        raise HttpError(400, "consent_challenge is missing or malformed.") from exc
    result = services.consent_details(request, challenge)
    if isinstance(result, services.Stop):
        return _stopped(request, result)
    client = result.consent.client
    return {
        "challenge": challenge,
        "subject": result.consent.subject,
        "skip": result.consent.skip or bool(client.skip_consent),
        "client": {
            "client_id": client.client_id,
            "client_name": client.client_name,
            "logo_uri": client.logo_uri,
            "policy_uri": client.policy_uri,
            "tos_uri": client.tos_uri,
            "client_uri": client.client_uri,
        },
        "requested_scope": result.consent.requested_scope,
        "requested_access_token_audience": result.consent.requested_access_token_audience,
        "scopes": [
            {"name": s.name, "title": s.title, "description": s.description, "required": s.required}
            for s in map(scopes.describe, result.consent.requested_scope)
        ],
        "remember_for": services.remember_consent_days() * 86400,
        "csrf_token": get_token(request),
    }


@bridge_router.post(
    "/bridge/consent/accept",
    auth=None,
    response={200: RedirectOut},
    summary="Accept consent (CSRF + session)",
)
def consent_accept(request: HttpRequest, payload: ConsentAcceptIn) -> Any:
    _csrf_or_403(request)
    result = services.decide_consent(
        request, payload.challenge, accept=True, scopes=payload.grant_scope, remember=payload.remember
    )
    if isinstance(result, services.Stop):
        return _stopped(request, result)
    return {"redirect_to": result.url}


@bridge_router.post(
    "/bridge/consent/reject",
    auth=None,
    response={200: RedirectOut},
    summary="Reject consent (CSRF + session)",
)
def consent_reject(request: HttpRequest, payload: ConsentRejectIn) -> Any:
    _csrf_or_403(request)
    result = services.decide_consent(
        request,
        payload.challenge,
        accept=False,
        scopes=[],
        remember=False,
        error=payload.error,
        error_description=payload.error_description,
    )
    if isinstance(result, services.Stop):
        return _stopped(request, result)
    return {"redirect_to": result.url}


@bridge_router.get(
    "/claims-config", auth=session_auth, response=ClaimsConfigIO, summary="Custom claims config"
)
def get_claims_config(request: HttpRequest) -> Any:
    config = services.claims_config_for(_tenant(request))
    return {"id_token_claims": config.id_token_claims, "access_token_claims": config.access_token_claims}


def _validate_claims(payload: ClaimsConfigIO) -> None:
    errors = {
        **claims.validate("id_token_claims", payload.id_token_claims),
        **claims.validate("access_token_claims", payload.access_token_claims),
    }
    if errors:
        raise _ClaimsInvalid(errors)


class _ClaimsInvalid(Exception):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("invalid claims")
        self.fields = fields


@bridge_router.put(
    "/claims-config", auth=session_auth, response=ClaimsConfigIO, summary="Update custom claims"
)
def put_claims_config(request: HttpRequest, payload: ClaimsConfigIO) -> Any:
    require_role(request, Role.MEMBER)
    try:
        _validate_claims(payload)
    except _ClaimsInvalid as exc:
        return error(request, 400, "invalid_request", "The claims templates are invalid.", fields=exc.fields)
    config = services.save_claims_config(
        request,
        _tenant(request),
        id_token_claims=payload.id_token_claims,
        access_token_claims=payload.access_token_claims,
    )
    return {"id_token_claims": config.id_token_claims, "access_token_claims": config.access_token_claims}


@bridge_router.post("/claims-config/preview", auth=session_auth, summary="Preview claims for one identity")
def preview_claims_config(request: HttpRequest, payload: PreviewIn) -> Any:
    try:
        _validate_claims(payload)
    except _ClaimsInvalid as exc:
        return error(request, 400, "invalid_request", "The claims templates are invalid.", fields=exc.fields)
    try:
        identity, result = services.preview_claims(
            request,
            _tenant(request),
            payload.identity,
            payload.scopes,
            payload.id_token_claims,
            payload.access_token_claims,
        )
    except services.PreviewRefused:
        return error(request, 404, "not_found", "No identity that has used this tenant's clients matches.")
    return {"identity_id": identity.id, "id_token": result.id_token, "access_token": result.access_token}


@bridge_router.post("/logout", auth=session_auth, summary="RP-initiated logout: revoke a subject's consent")
def logout_subject(request: HttpRequest, payload: LogoutIn) -> Any:
    require_role(request, Role.MEMBER)
    if payload.end_login_sessions and not request.user.is_superuser:
        raise AuthorizationError(message="Ending login sessions affects every tenant: platform admins only.")
    result = services.revoke_subject(
        request, _tenant(request), payload.subject, end_login=payload.end_login_sessions
    )
    return {
        "subject": result.subject,
        "revoked_clients": result.revoked_clients,
        "login_sessions_ended": result.login_sessions_ended,
    }


api.add_router("/api/hydra", bridge_router)
