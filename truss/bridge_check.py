"""Is Hydra really sending browsers to Truss's bridge, and does the bridge answer?

Two answers, because only one of them may touch Hydra:

* ``public_status()`` — for ``GET /api/hydra/bridge/status`` (no auth): the configured bridge URLs, Hydra's and
  Kratos's readiness, and whether each bridge URL answers as Truss's bridge (header ``X-Truss-Bridge``). It only
  reads; nothing is created in Hydra or Kratos. Cached for 30 s in Django's cache.
* ``deep_check(tenant)`` — for operators (the console overview): Hydra has no API that shows its ``urls.*``
  configuration, so this walks a throwaway flow the way a browser would, with one of the tenant's own
  authorization-code clients, a probe subject and a cookie jar of its own:

  1. ``/oauth2/auth`` with an unknown client must land on ``urls.error``;
  2. ``/oauth2/auth`` with a real client must land on ``urls.login``; a login accept for the probe subject must
     then land on ``urls.consent``, and that consent is rejected (nothing is ever issued);
  3. ``/oauth2/sessions/logout`` with the probe's Hydra session must land on ``urls.logout``, and the accepted
     logout on ``urls.post_logout_redirect``.

  Afterwards the probe's login and consent sessions are revoked and the cleanup is verified (Hydra lists no
  consent session for the probe, and a new authorization request with the probe's cookies is not remembered).
  At most one walk per 30 s runs (``cache.add`` as the lock, so it holds across workers with a shared cache);
  a request inside that window gets the last result.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from truss import caching
from truss.models import Tenant
from truss.ory import hydra, kratos

PROBE_SUBJECT = "truss:bridge-status-probe"
RATE_LIMIT_SECONDS = 30
_TIMEOUT = (2.0, 3.0)


@dataclass
class Check:
    ok: bool | None  # None: could not be checked
    detail: str


def _public_url(name: str) -> str:
    return str(settings.TRUSS_PUBLIC_URL).rstrip("/") + reverse(name)


def expected_urls() -> dict[str, str]:
    """Where Hydra's ``urls.*`` must point (Truss's bridge routes at ``TRUSS_PUBLIC_URL``)."""
    return {
        "login": _public_url("bridge:login"),
        "consent": _public_url("bridge:consent"),
        "logout": _public_url("bridge:logout"),
        "error": _public_url("bridge:error"),
        "post_logout_redirect": _public_url("bridge:logged_out"),
    }


def _config_key() -> str:
    parts = [settings.HYDRA_ADMIN_URL, settings.HYDRA_PUBLIC_URL, settings.TRUSS_PUBLIC_URL]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# --- The public answer: facts only ------------------------------------------------------------------------


def _answers(url: str) -> bool:
    try:
        response = requests.get(url, allow_redirects=False, timeout=_TIMEOUT)
    except requests.RequestException:
        return False
    return response.headers.get("X-Truss-Bridge") == "1"


def compute_public() -> dict[str, Any]:
    urls = expected_urls()
    hydra_configured = bool(settings.HYDRA_ADMIN_URL and settings.HYDRA_PUBLIC_URL)
    kratos_configured = bool(settings.KRATOS_ADMIN_URL and settings.KRATOS_PUBLIC_URL)
    hydra_ready = hydra_configured and hydra.is_ready()
    kratos_ready = kratos_configured and kratos.is_ready()
    answers = {name: _answers(url) for name, url in urls.items()}
    return {
        "hydra_configured": hydra_configured,
        "kratos_configured": kratos_configured,
        "hydra_ready": hydra_ready,
        "kratos_ready": kratos_ready,
        "bridge_ready": hydra_ready and kratos_ready and all(answers.values()),
        "login_url": urls["login"],
        "consent_url": urls["consent"],
        "logout_url": urls["logout"],
        "error_url": urls["error"],
        "post_logout_redirect_url": urls["post_logout_redirect"],
        "bridge_answers": answers,
    }


def public_status() -> dict[str, Any]:
    """compute_public(), at most once per 30 s per configuration (the endpoint is public)."""
    answer: dict[str, Any] | None = cache.get_or_set(
        caching.BRIDGE_CHECK_PUBLIC + _config_key(), compute_public, RATE_LIMIT_SECONDS
    )
    return answer if answer is not None else compute_public()


# --- The operators' deep walk ----------------------------------------------------------------------------


def _lands_on(response: requests.Response, expected: str) -> Check:
    location = response.headers.get("Location", "")
    if response.status_code not in (302, 303) or not location:
        return Check(False, f"Hydra answered {response.status_code} instead of redirecting.")
    if location == expected or location.startswith(expected + "?"):
        return Check(True, "Hydra redirects here.")
    # Show where Hydra does send browsers (scheme, host and path only: the query holds a challenge).
    parts = urlsplit(location)
    return Check(False, f"Hydra redirects to {parts.scheme}://{parts.netloc}{parts.path} instead.")


def _param(response: requests.Response, name: str) -> str | None:
    values = parse_qs(urlsplit(response.headers.get("Location", "")).query).get(name)
    return values[0] if values else None


def _probe_clients(tenant: Tenant, limit: int = 3) -> list[hydra.OAuth2Client]:
    """A few of the tenant's clients that can start an authorization-code flow."""
    page = hydra.list_clients(owner=tenant.hydra_owner, page_size=100)
    return [
        c
        for c in page.items
        if "authorization_code" in c.grant_types
        and c.redirect_uris
        and "code" in (c.response_types or ["code"])
        and c.subject_type != "pairwise"
    ][:limit]


class _Walk:
    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.public = settings.HYDRA_PUBLIC_URL.rstrip("/")
        self.browser = requests.Session()
        self.browser.headers["User-Agent"] = "truss-bridge-check"
        self.state = secrets.token_urlsafe(12)
        verifier = secrets.token_urlsafe(48)
        self.pkce = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        self.client: hydra.OAuth2Client | None = None

    def authorize(self, client_id: str, **extra: str) -> requests.Response:
        params = {"client_id": client_id, "response_type": "code", "state": self.state, **extra}
        return self.browser.get(
            f"{self.public}/oauth2/auth", params=params, allow_redirects=False, timeout=_TIMEOUT
        )

    def authorize_client(self, client: hydra.OAuth2Client) -> requests.Response:
        return self.authorize(
            client.client_id,
            redirect_uri=client.redirect_uris[0],
            code_challenge=self.pkce,
            code_challenge_method="S256",
        )

    def run(self, urls: dict[str, str], checks: dict[str, Check]) -> None:
        unknown = self.authorize(f"truss-probe-{secrets.token_hex(6)}")
        checks["error"] = _lands_on(unknown, urls["error"])
        for name in ("login", "consent", "logout", "post_logout_redirect"):
            checks[name] = Check(
                None, "No client of this tenant with the authorization-code grant to probe with."
            )
        for client in _probe_clients(self.tenant):
            auth = self.authorize_client(client)
            if not auth.headers.get("Location", "").startswith(client.redirect_uris[0]):
                self.client = client
                break  # Hydra went on to the login step (or failed on its own): that is what is checked
            # Hydra refused this client's request and sent the error back to the client: try another one.
        else:
            return
        checks["login"] = _lands_on(auth, urls["login"])
        login_challenge = _param(auth, "login_challenge")
        if not checks["login"].ok or login_challenge is None:
            return
        accepted = hydra.accept_login_request(
            login_challenge, subject=PROBE_SUBJECT, remember=True, remember_for=60
        )
        after_login = self.browser.get(accepted.redirect_to, allow_redirects=False, timeout=_TIMEOUT)
        checks["consent"] = _lands_on(after_login, urls["consent"])
        consent_challenge = _param(after_login, "consent_challenge")
        if consent_challenge:
            hydra.reject_consent_request(
                consent_challenge, error="access_denied", error_description="Truss bridge check"
            )
        logout = self.browser.get(
            f"{self.public}/oauth2/sessions/logout", allow_redirects=False, timeout=_TIMEOUT
        )
        checks["logout"] = _lands_on(logout, urls["logout"])
        logout_challenge = _param(logout, "logout_challenge")
        if logout_challenge:
            done = hydra.accept_logout_request(logout_challenge)
            finished = self.browser.get(done.redirect_to, allow_redirects=False, timeout=_TIMEOUT)
            checks["post_logout_redirect"] = _lands_on(finished, urls["post_logout_redirect"])

    def clean_up(self) -> Check:
        """Revoke whatever the probe may have left, then verify Hydra remembers nothing of it."""
        hydra.revoke_login_sessions(subject=PROBE_SUBJECT)
        hydra.revoke_consent_sessions(PROBE_SUBJECT, all_clients=True)
        if hydra.list_consent_sessions(PROBE_SUBJECT):
            return Check(False, "Hydra still lists a consent session for the probe.")
        if self.client is None:
            return Check(True, "Nothing was left behind.")
        again = self.authorize_client(self.client)
        challenge = _param(again, "login_challenge")
        if challenge is None:
            return Check(None, "Could not verify that the probe's login was forgotten.")
        remembered = hydra.get_login_request(challenge).skip
        hydra.reject_login_request(challenge, error="access_denied", error_description="Truss bridge check")
        if remembered:
            return Check(False, "Hydra still remembers the probe's login.")
        return Check(True, "The probe's login and consent sessions were revoked; Hydra remembers neither.")


def compute_deep(tenant: Tenant) -> dict[str, Any]:
    urls = expected_urls()
    checks: dict[str, Check] = {name: Check(None, "Not checked: Hydra is not ready.") for name in urls}
    if settings.HYDRA_ADMIN_URL and settings.HYDRA_PUBLIC_URL and hydra.is_ready():
        walk = _Walk(tenant)
        try:
            walk.run(urls, checks)
        except (requests.RequestException, hydra.HydraError) as exc:
            checks["probe"] = Check(False, f"The probe flow failed: {type(exc).__name__}.")
        try:
            checks["cleanup"] = walk.clean_up()
        except (requests.RequestException, hydra.HydraError) as exc:
            checks["cleanup"] = Check(False, f"Cleaning up after the probe failed: {type(exc).__name__}.")
    return {
        "ok": all(c.ok is True for c in checks.values()),
        "expected_urls": urls,
        "hydra_urls": {name: asdict(check) for name, check in checks.items()},
    }


def last_deep(tenant: Tenant) -> dict[str, Any] | None:
    """The tenant's last walk (kept a day), or None."""
    return cache.get(caching.BRIDGE_CHECK_LAST + f"{tenant.pk}:{_config_key()}")  # type: ignore[no-any-return]


def acquire() -> bool:
    """The rate limit: True for at most one caller per 30 s, across workers sharing the cache."""
    return bool(cache.add(caching.BRIDGE_CHECK_LOCK, 1, RATE_LIMIT_SECONDS))


def deep_check(tenant: Tenant) -> dict[str, Any]:
    """Walk the flow now (callers take ``acquire()`` first) and keep the result for the overview."""
    result = compute_deep(tenant)
    cache.set(caching.BRIDGE_CHECK_LAST + f"{tenant.pk}:{_config_key()}", result, 24 * 3600)
    return result


def clear_cache() -> None:
    """Forget cached answers and the rate limit (tests, and after changing the configuration)."""
    cache.delete_many([caching.BRIDGE_CHECK_PUBLIC + _config_key(), caching.BRIDGE_CHECK_LOCK])
