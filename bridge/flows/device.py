"""The device authorization grant (RFC 8628; Hydra >= v25.4): the user types the code their device shows.

Hydra sends the browser to ``urls.device.verification?device_challenge=…[&user_code=…]``. Hydra has no GET
and no reject for device challenges: the only call is ``accept_user_code``, which answers 400 alike for a
wrong, an expired and an already used code, and otherwise a ``redirect_to`` that runs the normal login and
consent (``request_url`` of both is Hydra's ``/oauth2/device/verify``), ending at ``urls.device.success``.

User codes are short, so wrong codes are counted in Django's cache per device challenge and per client address
within a window; past either limit no code is checked at all. Every accepted, wrong and throttled code is
audited once (the client, and so the tenant, is only known after Hydra accepted the code).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

from bridge.flows.common import Redirect, Stop, cookies, query_value, record, tenant_for_client
from bridge.links import is_hydra_url
from truss import proxies
from truss.audit import Action
from truss.models import AuditEvent
from truss.ory import hydra, kratos

SINCE = "v25.4.0"
# Wrong codes allowed per device challenge and per client address within WINDOW seconds. A new challenge is
# one page load away, so the per-address limit is what stops guessing; the per-challenge one stops it early.
FAILURES_PER_CHALLENGE = 5
FAILURES_PER_IP = 20
WINDOW = 600
# What Hydra generates (8 letters/digits by default, configurable); generous, but no markup or URLs.
USER_CODE_RE = re.compile(r"^[A-Za-z0-9\-]{4,64}$")

# The code the user confirmed, shown again on the consent screen ("check it matches your device").
CODE_COOKIE = "truss_bridge_device"
_CODE_SALT = "truss.bridge.device-code"
_CODE_MAX_AGE = 600


def supported() -> bool:
    return hydra.version_at_least(SINCE)


def clean_user_code(value: str | None) -> str:
    """What the user typed, without the spaces people add; "" when it cannot be a user code."""
    code = "".join((value or "").split())
    return code if USER_CODE_RE.match(code) else ""


def is_device_request(request_url: str | None) -> bool:
    """Whether a login/consent request came from a device flow: Hydra's request_url is then its own
    ``/oauth2/device/verify`` (the authorization code flow's is ``/oauth2/auth``)."""
    if not request_url or not is_hydra_url(request_url):
        return False
    base_path = urlsplit(settings.HYDRA_PUBLIC_URL).path.rstrip("/")
    return urlsplit(request_url).path == f"{base_path}/oauth2/device/verify"


# --- Attempt limits ------------------------------------------------------------------------------------------


def _keys(request: HttpRequest, challenge: str) -> dict[str, str]:
    digest = hashlib.sha256(challenge.encode()).hexdigest()[:32]
    return {
        "challenge": f"truss:device-failures:challenge:{digest}",
        "ip": f"truss:device-failures:ip:{proxies.client_ip(request)}",
    }


def _limits() -> dict[str, int]:
    return {"challenge": FAILURES_PER_CHALLENGE, "ip": FAILURES_PER_IP}


def throttled(request: HttpRequest, challenge: str) -> bool:
    keys = _keys(request, challenge)
    counts = cache.get_many(list(keys.values()))
    return any(int(counts.get(key, 0)) >= _limits()[kind] for kind, key in keys.items())


def _count_failure(request: HttpRequest, challenge: str) -> None:
    for key in _keys(request, challenge).values():
        if cache.add(key, 1, timeout=WINDOW):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WINDOW)


# --- The code ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeRefused:
    """Hydra refused the code (wrong, expired or used): show the form again with the clear message."""

    user_code: str


def _actor(request: HttpRequest) -> str | None:
    """Who typed the code: the browser's Kratos identity if it is signed in already, else nobody."""
    try:
        session = kratos.whoami(cookies(request))
    except kratos.KratosForbidden:
        return None  # signed in, but below the required AAL: the login step will ask for more
    return session.identity.id if session is not None else None


def submit(request: HttpRequest, challenge: str, user_code: str) -> Redirect | CodeRefused | Stop:
    """Check the typed code with Hydra and go on to Hydra's login, or say why not."""
    subject = _actor(request)
    if throttled(request, challenge):
        record(
            request,
            Action.DEVICE_ACCEPT,
            tenant=None,
            client=None,
            subject=subject,
            outcome=AuditEvent.Outcome.DENIED,
            detail=f"too many wrong user codes (limit {FAILURES_PER_CHALLENGE} per device request, "
            f"{FAILURES_PER_IP} per address in {WINDOW // 60} minutes)",
        )
        return Stop("device_throttled", status=429, context={"minutes": WINDOW // 60})
    code = clean_user_code(user_code)
    if not code:
        _count_failure(request, challenge)
        record(
            request,
            Action.DEVICE_ACCEPT,
            tenant=None,
            client=None,
            subject=subject,
            outcome=AuditEvent.Outcome.FAILURE,
            detail="not a user code (refused without asking Hydra)",
        )
        return CodeRefused(user_code[:64])
    try:
        accepted = hydra.accept_user_code(challenge, code)
    except hydra.HydraBadRequest:
        _count_failure(request, challenge)
        record(
            request,
            Action.DEVICE_ACCEPT,
            tenant=None,
            client=None,
            subject=subject,
            outcome=AuditEvent.Outcome.FAILURE,
            detail="Hydra refused the user code: wrong, expired or already used",
        )
        return CodeRefused(code)
    except hydra.HydraError as exc:
        record(
            request,
            Action.DEVICE_ACCEPT,
            tenant=None,
            client=None,
            subject=subject,
            outcome=AuditEvent.Outcome.FAILURE,
            detail=str(exc),
        )
        raise
    client = _client_of(accepted.redirect_to)
    tenant = tenant_for_client(client)
    record(
        request,
        Action.DEVICE_ACCEPT,
        tenant=tenant,
        client=client,
        subject=subject,
        after={"client_id": client.client_id if client else None},
    )
    return Redirect(accepted.redirect_to, brand=tenant.slug if tenant else "")


def _client_of(redirect_to: str) -> hydra.OAuth2Client | None:
    """Hydra's redirect names the device's client; knowing it only adds the tenant to the audit event."""
    client_id = query_value(redirect_to, "client_id") or ""
    if not client_id or len(client_id) > 255:
        return None
    try:
        return hydra.get_client(client_id)
    except hydra.HydraNotFound:
        return None


def remember_code(response: HttpResponse, request: HttpRequest, code: str) -> None:
    response.set_signed_cookie(
        CODE_COOKIE,
        code,
        salt=_CODE_SALT,
        max_age=_CODE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
        path="/api/hydra/bridge/",
    )


def remembered_code(request: HttpRequest) -> str:
    value = request.get_signed_cookie(CODE_COOKIE, default="", salt=_CODE_SALT, max_age=_CODE_MAX_AGE)
    return clean_user_code(value)


# --- The end -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Done:
    client_name: str
    client: hydra.OAuth2Client | None


def done(client_id: str | None) -> Done:
    """Hydra's ``urls.device.success?client_id=…``: the name comes from Hydra, never from the query."""
    client = None
    if client_id and len(client_id) <= 255:
        try:
            client = hydra.get_client(client_id)
        except hydra.HydraNotFound:
            client = None
    name = (client.client_name or client.client_id)[:100] if client else ""
    return Done(name, client)
