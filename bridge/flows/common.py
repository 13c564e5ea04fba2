"""What the flows share: their results, the original request's parameters, markers, auditing, Kratos logout.

Hydra v2.3 challenges are encrypted flow state: a second GET of a handled challenge still answers 200, and
accepting it again yields a fresh redirect whose verifier Hydra then refuses ("already used"), sending the
user back to the client with an error. A 410 (expired) carries ``redirect_to``; views follow it.
"""

from __future__ import annotations

import contextvars
import hashlib
import secrets
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest

from bridge.links import is_kratos_url
from truss import audit
from truss.models import AuditEvent, Tenant
from truss.ory import hydra, kratos

T = TypeVar("T")

ACCESS_DENIED = "The resource owner denied the request"
# How long a "sent to Kratos" marker stays valid (Kratos's login flows live 10 minutes here).
_SENT_MAX_AGE = 3600
_SENT_SALT = "truss.bridge.login-sent"


@dataclass(frozen=True)
class Redirect:
    """Send the browser to ``url`` (Hydra's or Kratos's own ``redirect_to``); ``brand``: a tenant slug whose
    look the pages at the end of the redirects keep (they have no challenge to learn it from); ``login_pass``:
    the login hop's Kratos answer for the consent hop of the same flow (see ``login_pass``)."""

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


def sent_marker(challenge: str, session: kratos.Session | None) -> str:
    previous = session.authenticated_at.timestamp() if session and session.authenticated_at else None
    return signing.dumps([_digest(challenge), previous], salt=_SENT_SALT, compress=False)


def read_sent_marker(value: str | None, challenge: str) -> SentMarker | None:
    if not value or len(value) > 500:
        return None
    try:
        digest, previous = signing.loads(value, salt=_SENT_SALT, max_age=_SENT_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if digest != _digest(challenge) or not (previous is None or isinstance(previous, int | float)):
        return None
    return SentMarker(authenticated_at=previous)


# --- The login hop's Kratos answer, handed to the consent hop ----------------------------------------------

# The consent hop must know that the browser answering is the challenge's subject, and needs the identity for
# the claims: it would ask Kratos (whoami) a few milliseconds after the login hop of the same flow asked it
# exactly that. The login hop hands its answer on instead: the session goes into the shared cache for a
# minute, and the browser gets a signed cookie naming it, bound to the flow and the identity. The consent hop
# uses it once, only if the signature, age, flow and subject all match and the cache still has it; otherwise
# (another browser, another flow, a second look, a minute gone) it asks Kratos as before. The user's own answer
# (the consent form's POST) always asks Kratos: a sign-out in another tab in between must count.
LOGIN_PASS_COOKIE = "truss_bridge_pass"
LOGIN_PASS_MAX_AGE = 60
_PASS_SALT = "truss.bridge.login-pass"
_PASS_KEY = "truss:bridge:login-pass:{}"


def flow_key(request_url: str, login_session_id: str | None) -> str:
    """What the login and the consent request of one flow share (Hydra v2.3's consent request names the flow
    by an id the login request does not show): the original authorization URL and the login session."""
    return f"{login_session_id or ''} {request_url}"


def login_pass(flow: str, session: kratos.Session) -> str:
    """The cookie value for a login accepted for ``session`` (call only once Kratos has confirmed it); none
    without a shared cache, where the consent hop would mostly land on a worker that cannot read it."""
    if not settings.SHARED_CACHE:
        return ""
    key = secrets.token_urlsafe(18)
    cache.set(_PASS_KEY.format(key), session, LOGIN_PASS_MAX_AGE)
    return signing.dumps([key, _digest(flow), session.identity.id], salt=_PASS_SALT, compress=False)


def has_login_pass(request: HttpRequest) -> bool:
    """Cheap pre-check (signature and age only), so a hop without one asks Kratos at once, in parallel."""
    return settings.SHARED_CACHE and _read_pass(request) is not None


def session_from_login_pass(request: HttpRequest, flow: str, subject: str | None) -> kratos.Session | None:
    """The Kratos session the login hop of ``flow`` (a ``flow_key``) confirmed for ``subject``, if this browser
    has the pass."""
    found = _read_pass(request)
    if found is None or not subject:
        return None
    key, flow_digest, identity_id = found
    if flow_digest != _digest(flow) or identity_id != subject:
        return None
    session = cache.get(_PASS_KEY.format(key))
    if not isinstance(session, kratos.Session) or session.identity.id != subject:
        return None
    cache.delete(_PASS_KEY.format(key))  # once: a later look at this flow (a reload, a replay) asks Kratos
    return session


def _read_pass(request: HttpRequest) -> tuple[str, str, str] | None:
    value = request.COOKIES.get(LOGIN_PASS_COOKIE)
    if not value or len(value) > 400:
        return None
    try:
        key, flow, identity_id = signing.loads(value, salt=_PASS_SALT, max_age=LOGIN_PASS_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not all(isinstance(part, str) for part in (key, flow, identity_id)):
        return None
    return key, flow, identity_id


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
