"""The login hop's Kratos answer, handed to the consent hop of the same flow (the "login pass").

The consent hop must know that the browser answering is the challenge's subject, and needs the identity for
the claims: it would ask Kratos (whoami) a few milliseconds after the login hop of the same flow asked it
exactly that. The login hop hands its answer on instead: the session goes into the shared cache for a
minute, and the browser gets a signed cookie naming it, bound to the flow and the identity. The consent hop
uses it once, only if the signature, age, flow and subject all match and the cache still has it; otherwise
(another browser, another flow, a second look, a minute gone) it asks Kratos as before. The user's own answer
(the consent form's POST) always asks Kratos: a sign-out in another tab in between must count.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.http import HttpRequest

from bridge.flows.common import short_digest
from truss import caching
from truss.ory import kratos

LOGIN_PASS_COOKIE = "truss_bridge_pass"
LOGIN_PASS_MAX_AGE = 60
_PASS_SALT = "truss.bridge.login-pass"


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
    cache.set(caching.login_pass_key(key), session, LOGIN_PASS_MAX_AGE)
    return signing.dumps([key, short_digest(flow), session.identity.id], salt=_PASS_SALT, compress=False)


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
    if flow_digest != short_digest(flow) or identity_id != subject:
        return None
    session = cache.get(caching.login_pass_key(key))
    if not isinstance(session, kratos.Session) or session.identity.id != subject:
        return None
    cache.delete(
        caching.login_pass_key(key)
    )  # once: a later look at this flow (a reload, a replay) asks Kratos
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
