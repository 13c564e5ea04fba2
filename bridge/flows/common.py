"""What the flows share: their results, the original request's parameters, markers, auditing, Kratos logout
(the login hop's pass for the consent hop is in ``login_pass``).

Hydra v2.3 challenges are encrypted flow state: a second GET of a handled challenge still answers 200, and
accepting it again yields a fresh redirect whose verifier Hydra then refuses ("already used"), sending the
user back to the client with an error. A 410 (used) carries ``redirect_to``; views follow it. A challenge
older than Hydra's ``ttl.login_consent_request`` answers 401 ``request_unauthorized``: ``heals`` restarts the
authorization request it came from, once (see "Healing an expired challenge" below).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest

from bridge.links import is_kratos_url
from truss import audit, caching
from truss.models import AuditEvent, Tenant
from truss.ory import hydra, kratos

T = TypeVar("T")
P = ParamSpec("P")

ACCESS_DENIED = "The resource owner denied the request"
# How long a "sent to Kratos" marker stays valid (Kratos's login flows live 10 minutes here).
_SENT_MAX_AGE = 3600
_SENT_SALT = "truss.bridge.login-sent"


@dataclass(frozen=True)
class Redirect:
    """Send the browser to ``url`` (Hydra's or Kratos's own ``redirect_to``); ``brand``: a tenant slug whose
    look the pages at the end of the redirects keep (they have no challenge to learn it from); ``login_pass``:
    the login hop's Kratos answer for the consent hop of the same flow (bridge/flows/login_pass.py)."""

    url: str
    brand: str = ""
    login_pass: str = ""


@dataclass(frozen=True)
class Stop:
    """The flow cannot go on by itself; the page for ``reason`` says what the user can do."""

    reason: str
    status: int = 400
    context: dict[str, Any] = field(default_factory=dict)


# --- Independent upstream calls, at the same time ----------------------------------------------------------

# A hop's independent Hydra/Kratos calls (the browser's Kratos session and Hydra's request; the replay check
# and the accept) overlap, so a hop costs about its slowest call instead of their sum. HTTP only: nothing on
# these threads touches the database. Each pool thread has its own pooled session (truss.ory.http).
_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="truss-bridge")
# Every upstream call has its own (shorter) timeout; this only bounds the wait for the future itself.
FUTURE_TIMEOUT = 30.0


def in_background(call: Callable[[], T]) -> Future[T]:
    """Start ``call`` on the bridge's small pool (with this request's context: Server-Timing counts it)."""
    context = contextvars.copy_context()
    return _pool.submit(context.run, call)


# --- The original authorization request -------------------------------------------------------------------


def tenant_for_client(client: hydra.OAuth2Client | None) -> Tenant | None:
    """The tenant that owns the client (Truss writes ``truss:<slug>`` into Hydra's ``owner``), if any."""
    return Tenant.for_owner(client.owner if client is not None else None)


def tenant_for_client_id(client_id: str) -> Tenant | None:
    """The tenant of the client Hydra's error page names, for its branding: a nicety, so any trouble (no such
    client, Hydra unavailable, an id no client can have) means none."""
    if not client_id or len(client_id) > 255:
        return None
    try:
        return tenant_for_client(hydra.get_client(client_id))
    except hydra.HydraError:
        return None


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def query_value(url: str, name: str) -> str | None:
    values = _query(url).get(name, [])
    return values[0] if values else None


def prompt_values(request_url: str) -> set[str]:
    """OIDC ``prompt`` of the original authorization request (space-separated)."""
    return {value for item in _query(request_url).get("prompt", []) for value in item.split()}


def max_age(request_url: str) -> int | None:
    value = query_value(request_url, "max_age")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def redirect_uri_of(request_url: str) -> str | None:
    """The client's redirect_uri from the original authorization request (Hydra has checked it)."""
    return query_value(request_url, "redirect_uri")


def remember_consent_days() -> int:
    return max(1, round(int(settings.BRIDGE_REMEMBER_CONSENT_FOR) / 86400))


def cookies(request: HttpRequest) -> str | None:
    return request.headers.get("Cookie")


# --- "Sent to Kratos" markers ------------------------------------------------------------------------------


def short_digest(challenge: str) -> str:
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


def sent_marker(challenge: str, session: kratos.Session | None) -> str:
    previous = session.authenticated_at.timestamp() if session and session.authenticated_at else None
    return signing.dumps([short_digest(challenge), previous], salt=_SENT_SALT, compress=False)


def read_sent_marker(value: str | None, challenge: str) -> SentMarker | None:
    if not value or len(value) > 500:
        return None
    try:
        digest, previous = signing.loads(value, salt=_SENT_SALT, max_age=_SENT_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if digest != short_digest(challenge) or not (previous is None or isinstance(previous, int | float)):
        return None
    return SentMarker(authenticated_at=previous)


# --- Auditing ----------------------------------------------------------------------------------------------


def actor(identity_id: str | None) -> str:
    return f"identity:{identity_id}" if identity_id else "anonymous"


def record(
    request: HttpRequest,
    action: str,
    *,
    tenant: Tenant | None,
    client: hydra.OAuth2Client | None,
    subject: str | None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    after: Any = None,
    detail: str = "",
    soon: bool = False,
) -> None:
    """One audit event; ``subject`` is the identity that acted (None: nobody signed in).

    ``soon``: the success of an accept on the redirect's critical path is written ahead (audit.record's soon:
    committed before the redirect leaves, chained right after it); everything else is chained at once."""
    request.bridge_recorded = True  # type: ignore[attr-defined]
    audit.record(
        request,
        action,
        tenant=tenant,
        target=client.client_id if client is not None else "",
        outcome=outcome,
        after=after,
        detail=detail,
        actor=actor(subject),
        soon=soon,
    )


def recorded(request: HttpRequest) -> bool:
    """Whether this request wrote an audit event: its refusal, if any, concerned a real challenge or person."""
    return bool(getattr(request, "bridge_recorded", False))


# --- Ending the Kratos session -----------------------------------------------------------------------------


def end_kratos_session(request: HttpRequest, *, then: str) -> str:
    """Where to send the browser so that its Kratos session ends too, and it then goes on to ``then``.

    The browser itself must visit Kratos's logout URL: that is where its session cookie gets cleared.
    """
    jar = cookies(request)
    try:
        flow = kratos.create_logout_flow(jar, return_to=then)
    except kratos.KratosBadRequest:
        # ``then`` is not in Kratos's allowed_return_urls: revoke server-side, then go on as Hydra says.
        flow = kratos.create_logout_flow(jar)
        if flow is not None:
            kratos.perform_logout(flow.logout_token, jar)
        return then
    if flow is None or not is_kratos_url(flow.logout_url):
        return then  # no Kratos session: nothing to end
    return flow.logout_url


# --- Healing an expired challenge --------------------------------------------------------------------------

# How long a challenge's authorization request stays recorded, and a restart is remembered: long enough for a
# person who registers, verifies an email or recovers a password on the way, far beyond Hydra's default
# lifetime of a login/consent request (30 minutes).
RESTART_WINDOW = 86400  # seconds
_AUTHORIZATION_PATH = "/oauth2/auth"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def is_authorization_url(url: str | None) -> bool:
    """Whether ``url`` is an authorization request at Hydra's own public /oauth2/auth (origin and path equal to
    HYDRA_PUBLIC_URL's, a query and nothing else): the only place a restart may send the browser."""
    base = settings.HYDRA_PUBLIC_URL.rstrip("/")
    if not url or not base or len(url) > 8000:
        return False
    try:
        parts, own = urlsplit(url), urlsplit(base + _AUTHORIZATION_PATH)
    except ValueError:
        return False
    return (
        (parts.scheme, parts.netloc, parts.path) == (own.scheme, own.netloc, own.path)
        and bool(parts.query)
        and not parts.fragment
        and not parts.username
        and not any(c in url for c in "\r\n\\")
    )


def remember_request_url(challenge: str, request_url: str) -> None:
    """Record the authorization request a challenge serves, so that it can be restarted once it expired."""
    if is_authorization_url(request_url):
        cache.set(caching.bridge_request_url_key(_digest(challenge)), request_url, RESTART_WINDOW)


def challenge_expired(exc: hydra.HydraError) -> bool:
    """Hydra's answer to a login/consent challenge older than its ``ttl.login_consent_request`` (401
    ``request_unauthorized``; any other 401, say a proxy in front of the admin API, stays an upstream error)."""
    return isinstance(exc, hydra.HydraUnauthorized) and exc.error == "request_unauthorized"


def _app(request_url: str) -> tuple[hydra.OAuth2Client | None, Tenant | None]:
    """The client the authorization request names, and its tenant: for the audit event and the page."""
    client_id = query_value(request_url, "client_id") or ""
    if not client_id or len(client_id) > 255:
        return None, None
    try:
        client = hydra.get_client(client_id)
    except hydra.HydraError:
        return None, None
    return client, tenant_for_client(client)


def _who(request: HttpRequest) -> str | None:
    try:
        session = kratos.whoami(cookies(request))
    except kratos.KratosError:
        return None
    return session.identity.id if session is not None else None


def restart_expired(request: HttpRequest, challenge: str, action: str) -> Redirect | Stop:
    """Hydra says ``challenge`` has expired: start its authorization request again at Hydra, exactly as recorded
    (the app's state, nonce and PKCE challenge are in it), once per request; else the "start again" page."""
    request_url = cache.get(caching.bridge_request_url_key(_digest(challenge)))
    if not isinstance(request_url, str) or not is_authorization_url(request_url):
        # Nothing recorded (another instance's cache, or lost): nothing real is named, nothing is audited.
        return Stop("start_again", status=410)
    client, tenant = _app(request_url)
    app_name = (client.client_name or client.client_id)[:100] if client is not None else ""
    first = cache.add(caching.bridge_restarted_key(_digest(request_url)), 1, RESTART_WINDOW)
    record(
        request,
        action,
        tenant=tenant,
        client=client,
        subject=_who(request),
        outcome=AuditEvent.Outcome.SUCCESS if first else AuditEvent.Outcome.FAILURE,
        detail=(
            "the challenge expired: restarted at Hydra's authorization endpoint"
            if first
            else "the challenge expired again after a restart: asked to start again"
        ),
    )
    if not first:
        return Stop("start_again", status=410, context={"tenant": tenant, "app_name": app_name})
    return Redirect(request_url)


def heals(
    action: str,
) -> Callable[
    [Callable[Concatenate[HttpRequest, str, P], T]],
    Callable[Concatenate[HttpRequest, str, P], T | Redirect | Stop],
]:
    """A flow step on ``(request, challenge, …)`` whose challenge may expire: restart it (restart_expired)."""

    def decorate(
        step: Callable[Concatenate[HttpRequest, str, P], T],
    ) -> Callable[Concatenate[HttpRequest, str, P], T | Redirect | Stop]:
        def healed(
            request: HttpRequest, challenge: str, /, *args: P.args, **kwargs: P.kwargs
        ) -> T | Redirect | Stop:
            try:
                return step(request, challenge, *args, **kwargs)
            except hydra.HydraError as exc:
                if not challenge_expired(exc):
                    raise
                return restart_expired(request, challenge, action)

        functools.update_wrapper(healed, step)
        return healed

    return decorate
