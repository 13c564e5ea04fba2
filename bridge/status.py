"""Bridge status: is Hydra really sending browsers to this bridge, and does the bridge answer?

Hydra has no API that shows its ``urls.*`` configuration, so the check walks a throwaway flow the way a browser
would (a probe subject, an existing authorization-code client, and a cookie jar of its own):

1. ``/oauth2/auth`` with an unknown client must land on ``urls.error``;
2. ``/oauth2/auth`` with a real client must land on ``urls.login``; a login accept for the probe subject must
   then land on ``urls.consent``, and that consent is rejected (nothing is ever issued);
3. ``/oauth2/sessions/logout`` with the probe's Hydra session must land on ``urls.logout``, and the accepted
   logout on ``urls.post_logout_redirect`` (which also ends the probe's session).

Each bridge URL is then fetched once to see that it answers as Truss's bridge (header ``X-Truss-Bridge``).
Results are cached briefly: the endpoint is public, and must not become a way to make Truss do work.
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

from bridge.services import public_url
from truss.ory import hydra, kratos
from truss.ttlcache import TtlCache

PROBE_SUBJECT = "truss:bridge-status-probe"
_TIMEOUT = (2.0, 3.0)
# The check walks a real (throwaway) flow and the endpoint is public: at most once per 30 s.
_cache: TtlCache[dict[str, Any]] = TtlCache(30.0)


@dataclass
class Check:
    ok: bool | None  # None: could not be checked
    detail: str


def expected_urls() -> dict[str, str]:
    return {
        "login": public_url("bridge:login"),
        "consent": public_url("bridge:consent"),
        "logout": public_url("bridge:logout"),
        "error": public_url("bridge:error"),
        "post_logout_redirect": public_url("bridge:logged_out"),
    }


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


def _probe_clients(limit: int = 3) -> list[hydra.OAuth2Client]:
    """A few clients that can start an authorization-code flow (a client's own error is no bridge error)."""
    page = hydra.list_clients(page_size=100)
    return [
        c
        for c in page.items
        if "authorization_code" in c.grant_types
        and c.redirect_uris
        and "code" in (c.response_types or ["code"])
        and c.subject_type != "pairwise"
    ][:limit]


def _walk(urls: dict[str, str], checks: dict[str, Check]) -> None:
    public = settings.HYDRA_PUBLIC_URL.rstrip("/")
    browser = requests.Session()
    browser.headers["User-Agent"] = "truss-bridge-status"
    state = secrets.token_urlsafe(12)
    unknown = browser.get(
        f"{public}/oauth2/auth",
        params={"client_id": f"truss-probe-{secrets.token_hex(6)}", "response_type": "code", "state": state},
        allow_redirects=False,
        timeout=_TIMEOUT,
    )
    checks["error"] = _lands_on(unknown, urls["error"])

    for name in ("login", "consent", "logout", "post_logout_redirect"):
        checks[name] = Check(None, "No client with the authorization-code grant to probe with.")
    verifier = secrets.token_urlsafe(48)
    pkce = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    for client in _probe_clients():
        auth = browser.get(
            f"{public}/oauth2/auth",
            params={
                "client_id": client.client_id,
                "response_type": "code",
                "redirect_uri": client.redirect_uris[0],
                "state": state,
                "code_challenge": pkce,
                "code_challenge_method": "S256",
            },
            allow_redirects=False,
            timeout=_TIMEOUT,
        )
        if not auth.headers.get("Location", "").startswith(client.redirect_uris[0]):
            break  # Hydra went on to the login step (or failed on its own): that is what is checked
        # Hydra refused this client's request and sent the error back to the client: try another one.
    else:
        return
    checks["login"] = _lands_on(auth, urls["login"])
    login_challenge = _param(auth, "login_challenge")
    if not checks["login"].ok or login_challenge is None:
        return
    try:
        accepted = hydra.accept_login_request(
            login_challenge, subject=PROBE_SUBJECT, remember=True, remember_for=60
        )
        after_login = browser.get(accepted.redirect_to, allow_redirects=False, timeout=_TIMEOUT)
        checks["consent"] = _lands_on(after_login, urls["consent"])
        consent_challenge = _param(after_login, "consent_challenge")
        if consent_challenge:
            hydra.reject_consent_request(
                consent_challenge, error="access_denied", error_description="Truss bridge status probe"
            )
        logout = browser.get(f"{public}/oauth2/sessions/logout", allow_redirects=False, timeout=_TIMEOUT)
        checks["logout"] = _lands_on(logout, urls["logout"])
        logout_challenge = _param(logout, "logout_challenge")
        if logout_challenge:
            done = hydra.accept_logout_request(logout_challenge)
            finished = browser.get(done.redirect_to, allow_redirects=False, timeout=_TIMEOUT)
            checks["post_logout_redirect"] = _lands_on(finished, urls["post_logout_redirect"])
    finally:
        hydra.revoke_login_sessions(subject=PROBE_SUBJECT)


def _answers(url: str) -> bool:
    try:
        response = requests.get(url, allow_redirects=False, timeout=_TIMEOUT)
    except requests.RequestException:
        return False
    return response.headers.get("X-Truss-Bridge") == "1"


def compute() -> dict[str, Any]:
    urls = expected_urls()
    hydra_configured = bool(settings.HYDRA_ADMIN_URL and settings.HYDRA_PUBLIC_URL)
    kratos_configured = bool(settings.KRATOS_ADMIN_URL and settings.KRATOS_PUBLIC_URL)
    hydra_ready = hydra_configured and hydra.is_ready()
    kratos_ready = kratos_configured and kratos.is_ready()
    checks: dict[str, Check] = {name: Check(None, "Not checked: Hydra is not ready.") for name in urls}
    if hydra_ready:
        try:
            _walk(urls, checks)
        except (requests.RequestException, hydra.HydraError) as exc:
            checks["probe"] = Check(False, f"The probe flow failed: {type(exc).__name__}.")
    answers = {name: _answers(url) for name, url in urls.items()}
    ready = (
        hydra_ready
        and kratos_ready
        and all(c.ok is not False for c in checks.values())
        and all(answers.values())
    )
    return {
        "hydra_configured": hydra_configured,
        "kratos_configured": kratos_configured,
        "hydra_ready": hydra_ready,
        "kratos_ready": kratos_ready,
        "bridge_ready": ready,
        "login_url": urls["login"],
        "consent_url": urls["consent"],
        "logout_url": urls["logout"],
        "error_url": urls["error"],
        "post_logout_redirect_url": urls["post_logout_redirect"],
        "hydra_urls": {name: asdict(check) for name, check in checks.items()},
        "bridge_answers": answers,
    }


def status() -> dict[str, Any]:
    """compute(), at most once per 30 s per configuration."""
    key = "|".join([settings.HYDRA_ADMIN_URL, settings.HYDRA_PUBLIC_URL, settings.TRUSS_PUBLIC_URL])
    return _cache.get(key, compute)


def clear_cache() -> None:
    _cache.clear()
