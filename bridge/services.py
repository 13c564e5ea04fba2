"""The login / consent / logout bridge between Hydra and Kratos.

Views stay thin: they validate input, call one function here and turn its result into a response. Every
accept and reject is audited here, once. The browser is only ever sent to a ``redirect_to`` that Hydra or
Kratos returned, or to a Kratos URL built from settings (never to a URL taken from the request).

Hydra v2.3 challenges are encrypted flow state: a second GET of a handled challenge still answers 200, and
accepting it again yields a fresh redirect whose verifier Hydra then refuses ("already used"), sending the
user back to the client with an error. A 410 (expired) carries ``redirect_to``; views follow it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from bridge import i18n
from truss import audit, claims
from truss.models import AuditEvent, ClaimsConfig, Tenant
from truss.ory import hydra, kratos

log = logging.getLogger(__name__)

# Hydra v2.2+ challenges are base64url (with padding) and about 1–2 KB; logout challenges are UUIDs.
CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_\-.=]{8,6000}$")
# How long a "sent to Kratos" marker stays valid (Kratos's login flows live 10 minutes here).
_SENT_MAX_AGE = 3600
_SENT_SALT = "truss.bridge.login-sent"

ACCESS_DENIED = "The resource owner denied the request"


class InvalidChallenge(ValueError):
    """A missing or malformed challenge parameter: never forwarded to Hydra."""


@dataclass(frozen=True)
class Redirect:
    """Send the browser to ``url`` (Hydra's or Kratos's own ``redirect_to``)."""

    url: str


@dataclass(frozen=True)
class Stop:
    """The flow cannot go on by itself; the page for ``reason`` says what the user can do."""

    reason: str
    status: int = 400
    context: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConsentScreen:
    consent: hydra.OAuth2ConsentRequest
    tenant: Tenant | None
    identity: kratos.Identity


@dataclass(frozen=True)
class LogoutScreen:
    logout: hydra.OAuth2LogoutRequest
    tenant: Tenant | None


# --- Small helpers ------------------------------------------------------------------------------------------


def clean_challenge(value: str | None) -> str:
    if not value or not CHALLENGE_RE.match(value):
        raise InvalidChallenge("missing or malformed challenge")
    return value


def tenant_for_client(client: hydra.OAuth2Client | None) -> Tenant | None:
    """The tenant that owns the client (Truss writes ``truss:<slug>`` into Hydra's ``owner``), if any."""
    return Tenant.for_owner(client.owner if client is not None else None)


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def prompt_values(request_url: str) -> set[str]:
    """OIDC ``prompt`` of the original authorization request (space-separated)."""
    return {value for item in _query(request_url).get("prompt", []) for value in item.split()}


def max_age(request_url: str) -> int | None:
    values = _query(request_url).get("max_age", [])
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None


def remember_consent_days() -> int:
    return max(1, round(int(settings.BRIDGE_REMEMBER_CONSENT_FOR) / 86400))


def redirect_uri_of(request_url: str) -> str | None:
    """The client's redirect_uri from the original authorization request (Hydra has checked it)."""
    values = _query(request_url).get("redirect_uri", [])
    return values[0] if values else None


def public_url(name: str, **query: str) -> str:
    url = settings.TRUSS_PUBLIC_URL.rstrip("/") + reverse(name)
    return f"{url}?{urlencode(query)}" if query else url


def is_kratos_url(url: str | None) -> bool:
    base = settings.KRATOS_PUBLIC_URL.rstrip("/")
    return bool(url) and bool(base) and (url == base or str(url).startswith(base + "/"))


def is_return_url(url: str | None) -> bool:
    """Whether ``url`` may be passed to Kratos as ``return_to``: Truss itself or Hydra's public URL."""
    if not url:
        return False
    bases = [settings.TRUSS_PUBLIC_URL, settings.HYDRA_PUBLIC_URL]
    return any(base and (url == base or url.startswith(base.rstrip("/") + "/")) for base in bases)


def _cookies(request: HttpRequest) -> str | None:
    return request.headers.get("Cookie")


def _digest(challenge: str) -> str:
    return hashlib.sha256(challenge.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SentMarker:
    """We sent the browser to Kratos for this challenge, when its session (if any) dated from ``authenticated_at``.

    Comparing Kratos's own timestamps (before and after) needs no clock agreement between Truss and Kratos.
    """

    authenticated_at: float | None

    def is_fresh(self, session: kratos.Session) -> bool:
        if session.authenticated_at is None:
            return False
        return self.authenticated_at is None or session.authenticated_at.timestamp() > self.authenticated_at


def _sent_marker(challenge: str, session: kratos.Session | None) -> str:
    previous = session.authenticated_at.timestamp() if session and session.authenticated_at else None
    return signing.dumps([_digest(challenge), previous], salt=_SENT_SALT, compress=False)


def _read_sent_marker(value: str | None, challenge: str) -> SentMarker | None:
    if not value or len(value) > 500:
        return None
    try:
        digest, previous = signing.loads(value, salt=_SENT_SALT, max_age=_SENT_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if digest != _digest(challenge) or not (previous is None or isinstance(previous, int | float)):
        return None
    return SentMarker(authenticated_at=previous)


def _actor(subject: str | None) -> str:
    return f"identity:{subject}" if subject else "anonymous"


def _record(
    request: HttpRequest,
    action: str,
    *,
    tenant: Tenant | None,
    client: hydra.OAuth2Client | None,
    subject: str | None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    after: Any = None,
    detail: str = "",
) -> None:
    audit.record(
        request,
        action,
        tenant=tenant,
        target=client.client_id if client is not None else "",
        outcome=outcome,
        after=after,
        detail=detail,
        actor=_actor(subject),
    )


# --- Login ------------------------------------------------------------------------------------------------


def _remember_for(session: kratos.Session) -> int:
    """Hydra's remembered login must not outlive the Kratos session it stands for."""
    seconds = int(settings.BRIDGE_REMEMBER_LOGIN_FOR)
    if session.expires_at is not None:
        seconds = min(seconds, int((session.expires_at - timezone.now()).total_seconds()))
    return max(seconds, 0)


def login(request: HttpRequest, challenge: str, sent: str | None = None) -> Redirect | Stop:
    """Accept Hydra's login from the browser's Kratos session, or send the browser to Kratos's login."""
    login_request = hydra.get_login_request(challenge)
    i18n.use(request, login_request.oidc_context.ui_locales if login_request.oidc_context else None)
    tenant = tenant_for_client(login_request.client)
    if login_request.skip:
        # Hydra remembers this subject: accept with exactly it (Hydra refuses any other), no UI.
        accepted = hydra.accept_login_request(challenge, subject=login_request.subject)
        _record(
            request,
            "bridge.login.accept",
            tenant=tenant,
            client=login_request.client,
            subject=login_request.subject,
            detail="remembered by Hydra",
        )
        return Redirect(accepted.redirect_to)

    try:
        session = kratos.whoami(_cookies(request))
    except kratos.KratosForbidden as exc:
        # session_aal2_required: Kratos names the step-up URL.
        if is_kratos_url(exc.redirect_to):
            return Redirect(str(exc.redirect_to))
        raise
    prompt = prompt_values(login_request.request_url)
    marker = _read_sent_marker(sent, challenge)
    if session is not None:
        fresh = marker is not None and marker.is_fresh(session)
        limit = max_age(login_request.request_url)
        too_old = (
            limit is not None
            and session.authenticated_at is not None
            and (timezone.now() - session.authenticated_at).total_seconds() > limit
        )
        if fresh or not ("login" in prompt or too_old):
            return _accept_login(request, challenge, login_request, tenant, session)
    if "none" in prompt:
        # prompt=none forbids any UI: tell the client instead (OIDC Core §3.1.2.6).
        rejected = hydra.reject_login_request(
            challenge, error="login_required", error_description="The user is not signed in."
        )
        _record(
            request,
            "bridge.login.reject",
            tenant=tenant,
            client=login_request.client,
            subject=None,
            detail="login_required (prompt=none)",
        )
        return Redirect(rejected.redirect_to)
    if marker is not None:
        # Kratos already had its turn for this challenge and the browser came back without a (fresh)
        # session: cookies blocked, or re-authentication skipped. Explain instead of looping.
        return Stop("login_not_completed", status=400)
    return_to = public_url("bridge:login", login_challenge=challenge, sent=_sent_marker(challenge, session))
    return Redirect(kratos.browser_flow_url("login", return_to=return_to, refresh=session is not None))


def _accept_login(
    request: HttpRequest,
    challenge: str,
    login_request: hydra.OAuth2LoginRequest,
    tenant: Tenant | None,
    session: kratos.Session,
) -> Redirect:
    remember_for = _remember_for(session)
    accepted = hydra.accept_login_request(
        challenge,
        subject=session.identity.id,
        remember=remember_for > 0,
        remember_for=remember_for,
        acr=session.authenticator_assurance_level or "0",
        amr=session.amr,
        identity_provider_session_id=session.id,
    )
    _record(
        request,
        "bridge.login.accept",
        tenant=tenant,
        client=login_request.client,
        subject=session.identity.id,
        after={
            "amr": session.amr,
            "acr": session.authenticator_assurance_level,
            "remember_for": remember_for,
        },
    )
    return Redirect(accepted.redirect_to)


def login_request_for_flow(flow: kratos.SelfServiceFlow) -> hydra.OAuth2LoginRequest | None:
    """The Hydra login request a Kratos login flow serves (its return_to is our bridge URL), if any.

    Gives the Kratos login page the client's name, the tenant's branding, ``ui_locales`` and ``login_hint``.
    """
    return_to = flow.return_to or ""
    if not return_to.startswith(public_url("bridge:login") + "?"):
        return None
    values = _query(return_to).get("login_challenge", [])
    try:
        challenge = clean_challenge(values[0] if values else None)
        return hydra.get_login_request(challenge)
    except (InvalidChallenge, hydra.HydraError):
        return None  # branding is a nicety: the login form works without it


# --- Consent ----------------------------------------------------------------------------------------------


def token_claims(
    tenant: Tenant | None, subject: str, scopes: list[str], identity: kratos.Identity | None = None
) -> claims.Claims:
    """Standard and the tenant's custom claims for ``subject``, from its Kratos identity."""
    config = ClaimsConfig.objects.filter(tenant=tenant).first() if tenant is not None else None
    id_config = config.id_token_claims if config is not None else {}
    access_config = config.access_token_claims if config is not None else {}
    if not (id_config or access_config or {"email", "profile"} & set(scopes)):
        return claims.Claims()
    if identity is None or identity.id != subject:
        try:
            identity = kratos.get_identity(subject)
        except kratos.KratosNotFound:
            return claims.Claims()  # a subject that is not (or no longer) a Kratos identity
    return claims.build(identity, scopes, id_config, access_config)


def consent(request: HttpRequest, challenge: str) -> Redirect | ConsentScreen | Stop:
    """Skip (accept at once) when Hydra or the client allows it; otherwise what the consent screen needs."""
    consent_request = hydra.get_consent_request(challenge)
    i18n.use(request, consent_request.oidc_context.ui_locales if consent_request.oidc_context else None)
    tenant = tenant_for_client(consent_request.client)
    forced = "consent" in prompt_values(consent_request.request_url)
    if consent_request.skip or (consent_request.client.skip_consent and not forced):
        # Hydra keeps no claims from the earlier consent: they are supplied again on every accept.
        return _accept_consent(
            request,
            challenge,
            consent_request,
            tenant,
            grant=consent_request.requested_scope,
            remember=False,
            detail="skipped: remembered" if consent_request.skip else "skipped: client.skip_consent",
        )
    checked = _session_for_subject(request, consent_request, tenant, "bridge.consent.view")
    if isinstance(checked, Stop):
        return checked
    return ConsentScreen(consent_request, tenant, checked.identity)


def _session_for_subject(
    request: HttpRequest, consent_request: hydra.OAuth2ConsentRequest, tenant: Tenant | None, action: str
) -> kratos.Session | Stop:
    """Only the person the challenge was issued to may see or answer it."""
    session = kratos.whoami(_cookies(request))
    if session is not None and session.identity.id == consent_request.subject:
        return session
    _record(
        request,
        action,
        tenant=tenant,
        client=consent_request.client,
        subject=session.identity.id if session is not None else None,
        outcome=AuditEvent.Outcome.DENIED,
        detail="the browser's Kratos session does not belong to the consent subject",
    )
    return Stop("wrong_user", status=403)


def consent_details(request: HttpRequest, challenge: str) -> ConsentScreen | Stop:
    """The consent request for a custom UI (read-only: no skip handling), for its subject only."""
    consent_request = hydra.get_consent_request(challenge)
    tenant = tenant_for_client(consent_request.client)
    checked = _session_for_subject(request, consent_request, tenant, "bridge.consent.view")
    if isinstance(checked, Stop):
        return checked
    return ConsentScreen(consent_request, tenant, checked.identity)


def decide_consent(
    request: HttpRequest,
    challenge: str,
    *,
    accept: bool,
    scopes: list[str],
    remember: bool,
    error: str = "access_denied",
    error_description: str = ACCESS_DENIED,
) -> Redirect | Stop:
    """The user's answer. The request is fetched again: nothing posted is trusted beyond the choice itself."""
    consent_request = hydra.get_consent_request(challenge)
    i18n.use(request, consent_request.oidc_context.ui_locales if consent_request.oidc_context else None)
    tenant = tenant_for_client(consent_request.client)
    action = "bridge.consent.accept" if accept else "bridge.consent.reject"
    checked = _session_for_subject(request, consent_request, tenant, action)
    if isinstance(checked, Stop):
        return checked
    if not accept:
        rejected = hydra.reject_consent_request(challenge, error=error, error_description=error_description)
        _record(
            request,
            action,
            tenant=tenant,
            client=consent_request.client,
            subject=consent_request.subject,
            after={"requested_scope": consent_request.requested_scope},
        )
        return Redirect(rejected.redirect_to)
    requested = consent_request.requested_scope
    # Only requested scopes can be granted; openid cannot be unticked when it was asked for.
    grant = [s for s in requested if s in scopes or s == "openid"]
    return _accept_consent(
        request, challenge, consent_request, tenant, grant=grant, remember=remember, identity=checked.identity
    )


def _accept_consent(
    request: HttpRequest,
    challenge: str,
    consent_request: hydra.OAuth2ConsentRequest,
    tenant: Tenant | None,
    *,
    grant: list[str],
    remember: bool,
    identity: kratos.Identity | None = None,
    detail: str = "",
) -> Redirect:
    remember_for = int(settings.BRIDGE_REMEMBER_CONSENT_FOR) if remember else 0
    token = token_claims(tenant, consent_request.subject, grant, identity)
    try:
        accepted = hydra.accept_consent_request(
            challenge,
            grant_scope=grant,
            grant_access_token_audience=consent_request.requested_access_token_audience,
            remember=remember,
            remember_for=remember_for,
            id_token_claims=token.id_token,
            access_token_claims=token.access_token,
        )
    except hydra.HydraError:
        _record(
            request,
            "bridge.consent.accept",
            tenant=tenant,
            client=consent_request.client,
            subject=consent_request.subject,
            outcome=AuditEvent.Outcome.FAILURE,
        )
        raise
    _record(
        request,
        "bridge.consent.accept",
        tenant=tenant,
        client=consent_request.client,
        subject=consent_request.subject,
        after={
            "grant_scope": grant,
            "audience": consent_request.requested_access_token_audience,
            "remember_for": remember_for if remember else None,
            # Names only: claim values are personal data and belong in the token, not the audit log.
            "claims": sorted(token.id_token) + sorted(f"at:{name}" for name in token.access_token),
        },
        detail=detail,
    )
    return Redirect(accepted.redirect_to)


def switch_account(request: HttpRequest, challenge: str) -> Redirect:
    """ "Not you?": end this browser's Hydra login session and its Kratos session, then restart the same
    authorization request at Hydra, which now asks for a login again."""
    consent_request = hydra.get_consent_request(challenge)
    if consent_request.login_session_id:
        hydra.revoke_login_sessions(sid=consent_request.login_session_id)
    _record(
        request,
        "bridge.consent.switch_account",
        tenant=tenant_for_client(consent_request.client),
        client=consent_request.client,
        subject=consent_request.subject,
    )
    restart = consent_request.request_url
    if not restart.startswith(settings.HYDRA_PUBLIC_URL.rstrip("/") + "/"):
        return Redirect(public_url("bridge:logged_out"))  # not a Hydra URL: never send the browser there
    return Redirect(end_kratos_session(request, then=restart))


# --- Logout -----------------------------------------------------------------------------------------------


def logout(request: HttpRequest, challenge: str) -> Redirect | LogoutScreen:
    logout_request = hydra.get_logout_request(challenge)
    tenant = tenant_for_client(logout_request.client)
    if logout_request.client is not None and logout_request.client.skip_logout_consent:
        return _accept_logout(request, challenge, logout_request, tenant, detail="client.skip_logout_consent")
    return LogoutScreen(logout_request, tenant)


def decide_logout(request: HttpRequest, challenge: str, *, accept: bool) -> Redirect | Stop:
    logout_request = hydra.get_logout_request(challenge)
    tenant = tenant_for_client(logout_request.client)
    if accept:
        return _accept_logout(request, challenge, logout_request, tenant)
    hydra.reject_logout_request(challenge)
    _record(
        request,
        "bridge.logout.reject",
        tenant=tenant,
        client=logout_request.client,
        subject=logout_request.subject,
    )
    # Hydra answers 204 without a destination: the user stays signed in, on our page.
    return Stop("logout_cancelled", status=200, context={"tenant": tenant, "client": logout_request.client})


def _accept_logout(
    request: HttpRequest,
    challenge: str,
    logout_request: hydra.OAuth2LogoutRequest,
    tenant: Tenant | None,
    detail: str = "",
) -> Redirect:
    accepted = hydra.accept_logout_request(challenge)
    destination = end_kratos_session(request, then=accepted.redirect_to)
    _record(
        request,
        "bridge.logout.accept",
        tenant=tenant,
        client=logout_request.client,
        subject=logout_request.subject,
        detail=detail,
    )
    return Redirect(destination)


def end_kratos_session(request: HttpRequest, *, then: str) -> str:
    """Where to send the browser so that its Kratos session ends too, and it then goes on to ``then``.

    The browser itself must visit Kratos's logout URL: that is where its session cookie gets cleared.
    """
    cookies = _cookies(request)
    try:
        flow = kratos.create_logout_flow(cookies, return_to=then)
    except kratos.KratosBadRequest:
        # ``then`` is not in Kratos's allowed_return_urls: revoke server-side, then go on as Hydra says.
        flow = kratos.create_logout_flow(cookies)
        if flow is not None:
            kratos.perform_logout(flow.logout_token, cookies)
        return then
    if flow is None or not is_kratos_url(flow.logout_url):
        return then  # no Kratos session: nothing to end
    return flow.logout_url
