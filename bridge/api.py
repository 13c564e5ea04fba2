"""The bridge's JSON endpoints (the guide's table): status and the consent API for custom UIs.

``consent/*`` are ``auth=None`` as in the guide, yet they act only for the person whose Kratos session (the
browser's cookies) matches the challenge's subject. Because that makes them cookie-authenticated, they take
Django's CSRF token too: ``consent/info`` (a GET) returns ``csrf_token`` and sets the CSRF cookie, and
``consent/accept`` and ``consent/reject`` need it back in ``X-CSRFToken``. A cross-site page can neither read
the token nor send the header without a CORS preflight, which Truss never grants.

Anyone may call them, so only refusals that concern a real consent request are audited; the others are counted
(see ``_counted``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation
from ninja import Field, Router, Schema
from ninja.decorators import decorate_view
from ninja.errors import AuthorizationError, HttpError
from ninja.utils import check_csrf

from bridge import i18n
from bridge.flows import common
from bridge.flows import consent as consent_flow
from bridge.links import CHALLENGE_RE, InvalidChallenge, clean_challenge
from truss import audit, bridge_check
from truss.apikit import UPSTREAM_ERRORS, StrictBool, answers, error
from truss.audit import Action

router = Router(tags=["bridge"])
F = TypeVar("F", bound=Callable[..., Any])

_CHALLENGE = Field(..., min_length=8, max_length=6000, pattern=CHALLENGE_RE.pattern)


class ConsentAcceptIn(Schema):
    challenge: str = _CHALLENGE
    grant_scope: list[str] = Field(default_factory=list, max_length=50)
    remember: StrictBool = False


class ConsentRejectIn(Schema):
    challenge: str = _CHALLENGE
    # The guide lets the caller choose; only the OAuth error codes a user's refusal can mean are allowed.
    error: str = Field("access_denied", pattern=r"^(access_denied|consent_required|interaction_required)$")
    error_description: str = Field(common.ACCESS_DENIED, max_length=500)


class RedirectOut(Schema):
    redirect_to: str


class ClientInfo(Schema):
    client_id: str
    client_name: str | None = None
    logo_uri: str | None = None
    policy_uri: str | None = None
    tos_uri: str | None = None
    client_uri: str | None = None


class ScopeInfo(Schema):
    name: str
    title: str
    description: str
    required: bool
    rememberable: bool = True  # False: a consent including it is asked again every time


class ConsentInfoOut(Schema):
    challenge: str
    subject: str
    skip: bool
    client: ClientInfo
    requested_scope: list[str]
    requested_access_token_audience: list[str]
    scopes: list[ScopeInfo]
    remember_for: int
    csrf_token: str


# 403: not the challenge's subject (or no CSRF token); 409: already answered; 404/410: Hydra does not know the
# challenge or it expired; 400: malformed input.
_CONSENT_ERRORS = (400, 403, 404, 409, 410, *UPSTREAM_ERRORS)


def _csrf_or_403(request: HttpRequest, challenge: str, action: str) -> None:
    if check_csrf(request) is not None:
        consent_flow.refuse_without_csrf(request, challenge, action)
        raise AuthorizationError(
            message="CSRF token missing or incorrect: send X-CSRFToken from consent/info."
        )


def _counted(action: str) -> Callable[[F], F]:
    """Marks a consent answer, which anyone may send (``auth=None``). Its flow audits every refusal that
    concerns a real challenge or person (another account's challenge, a replay, no CSRF token for a challenge
    Hydra knows). Any other refusal names nothing real (a body that is not an answer, a challenge Hydra does
    not know): a log line and a count (audit.not_chained), never a chained event, or anyone could fill the log."""

    def count(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(run)
        def counted(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = run(request, *args, **kwargs)
            if 400 <= response.status_code < 500 and not common.recorded(request):
                audit.not_chained(action, str(response.status_code))
            return response

        return counted

    # decorate_view wraps the whole operation (body validation included), not just the view.
    return decorate_view(count)


def _stopped(request: HttpRequest, stop: common.Stop) -> HttpResponse:
    messages = {
        "wrong_user": "This consent request belongs to another account, or you are not signed in.",
        "already_answered": "This consent request was already answered.",
    }
    return error(
        request,
        stop.status,
        "forbidden" if stop.status == 403 else stop.reason,
        messages.get(stop.reason, "The request cannot continue."),
    )


@router.get(
    "/bridge/status", auth=None, response={200: dict[str, Any]}, summary="Bridge configuration status"
)
def bridge_status(request: HttpRequest) -> dict[str, Any]:
    """Configuration facts only (URLs, readiness, whether the bridge URLs answer): nothing is written to
    Hydra. The walk through a real flow is for operators (console overview)."""
    return bridge_check.public_status()


@router.get(
    "/bridge/consent/info",
    auth=None,
    response=answers({200: ConsentInfoOut}, _CONSENT_ERRORS),
    summary="Consent challenge details (signed-in subject only)",
)
def consent_info(request: HttpRequest, consent_challenge: str) -> Any:
    try:
        challenge = clean_challenge(consent_challenge)
    except InvalidChallenge as exc:
        raise HttpError(400, "consent_challenge is missing or malformed.") from exc
    result = consent_flow.consent_details(request, challenge)
    if isinstance(result, common.Stop):
        return _stopped(request, result)
    client = result.consent.client
    # The scopes' text in the person's language, as the consent screen would show it (this request only).
    context = result.consent.oidc_context
    with translation.override(i18n.choose(request, context.ui_locales if context else None)):
        texts = result.scope_texts
    return {
        "challenge": challenge,
        "subject": result.consent.subject,
        "skip": (result.consent.skip and result.rememberable) or bool(client.skip_consent),
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
            {
                "name": s.name,
                "title": s.title,
                "description": s.description,
                "required": s.required,
                "rememberable": s.rememberable,
            }
            for s in texts
        ],
        # 0: a requested scope is "ask every time", so accepting with remember does not remember.
        "remember_for": common.remember_consent_days() * 86400 if result.rememberable else 0,
        "csrf_token": get_token(request),
    }


@router.post(
    "/bridge/consent/accept",
    auth=None,
    response=answers({200: RedirectOut}, _CONSENT_ERRORS),
    summary="Accept consent (CSRF + session)",
)
@_counted(Action.CONSENT_ACCEPT)
def consent_accept(request: HttpRequest, payload: ConsentAcceptIn) -> Any:
    _csrf_or_403(request, payload.challenge, Action.CONSENT_ACCEPT)
    result = consent_flow.decide_consent(
        request, payload.challenge, accept=True, scopes=payload.grant_scope, remember=payload.remember
    )
    if isinstance(result, common.Stop):
        return _stopped(request, result)
    return {"redirect_to": result.url}


@router.post(
    "/bridge/consent/reject",
    auth=None,
    response=answers({200: RedirectOut}, _CONSENT_ERRORS),
    summary="Reject consent (CSRF + session)",
)
@_counted(Action.CONSENT_REJECT)
def consent_reject(request: HttpRequest, payload: ConsentRejectIn) -> Any:
    _csrf_or_403(request, payload.challenge, Action.CONSENT_REJECT)
    result = consent_flow.decide_consent(
        request,
        payload.challenge,
        accept=False,
        scopes=[],
        remember=False,
        error=payload.error,
        error_description=payload.error_description,
    )
    if isinstance(result, common.Stop):
        return _stopped(request, result)
    return {"redirect_to": result.url}
