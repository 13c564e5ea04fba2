"""The bridge's JSON endpoints (the guide's table): status and the consent API for custom UIs.

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

from bridge import scopes, services, status
from truss.apikit import error

router = Router(tags=["bridge"])

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


def _csrf_or_403(request: HttpRequest) -> None:
    if check_csrf(request) is not None:
        raise AuthorizationError(
            message="CSRF token missing or incorrect: send X-CSRFToken from consent/info."
        )


def _stopped(request: HttpRequest, stop: services.Stop) -> HttpResponse:
    messages = {"wrong_user": "This consent request belongs to another account, or you are not signed in."}
    return error(request, stop.status, "forbidden" if stop.status == 403 else stop.reason,
                 messages.get(stop.reason, "The request cannot continue."))  # fmt: skip


@router.get("/bridge/status", auth=None, summary="Bridge configuration status")
def bridge_status(request: HttpRequest) -> dict[str, Any]:
    return status.status()


@router.get("/bridge/consent/info", auth=None, summary="Consent challenge details (signed-in subject only)")
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


@router.post(
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


@router.post(
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
