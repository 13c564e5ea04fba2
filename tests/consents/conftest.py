from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.bridge.oauth import CALLBACK, Browser
from truss.models import Tenant


@pytest.fixture
def live_bridge(ory, live_server, settings):
    settings.TRUSS_PUBLIC_URL = live_server.url
    return ory


@pytest.fixture
def browser_for(live_bridge):
    return lambda: Browser(live_bridge)


@pytest.fixture
def make_app(make_hydra_client) -> Callable[..., dict[str, Any]]:
    """A public PKCE client owned by a tenant, with refresh tokens."""

    def make(tenant: Tenant, **fields: Any) -> dict[str, Any]:
        return dict(
            make_hydra_client(
                client_name=fields.pop("client_name", f"App {uuid.uuid4().hex[:4]}"),
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                redirect_uris=[CALLBACK],
                scope="openid email profile offline_access",
                token_endpoint_auth_method="none",
                owner=tenant.hydra_owner,
                **fields,
            )
        )

    return make


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def grant(ory) -> Callable[..., dict[str, Any]]:
    """A real consent in Hydra, fast: the authorization request is answered through Hydra's admin API (no
    bridge, no Kratos login), then the code is exchanged. Returns the tokens."""

    def run(app: dict[str, Any], subject: str, scope: str = "openid offline_access") -> dict[str, Any]:
        jar = requests.Session()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params = {"client_id": app["client_id"], "response_type": "code", "redirect_uri": CALLBACK, "scope": scope,
                  "state": secrets.token_urlsafe(12), "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
        hop = jar.get(f"{ory.hydra_public_url}/oauth2/auth", params=params, allow_redirects=False, timeout=10)
        login = _query(hop.headers["Location"])["login_challenge"]
        accepted = requests.put(f"{ory.hydra_admin_url}/admin/oauth2/auth/requests/login/accept",
                                params={"login_challenge": login}, json={"subject": subject}, timeout=10).json()  # fmt: skip
        hop = jar.get(accepted["redirect_to"], allow_redirects=False, timeout=10)
        consent = _query(hop.headers["Location"])["consent_challenge"]
        accepted = requests.put(f"{ory.hydra_admin_url}/admin/oauth2/auth/requests/consent/accept",
                                params={"consent_challenge": consent},
                                json={"grant_scope": scope.split(), "remember": True, "remember_for": 0}, timeout=10).json()  # fmt: skip
        hop = jar.get(accepted["redirect_to"], allow_redirects=False, timeout=10)
        code = _query(hop.headers["Location"])["code"]
        tokens = requests.post(f"{ory.hydra_public_url}/oauth2/token", timeout=10, data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "client_id": app["client_id"], "code_verifier": verifier})  # fmt: skip
        assert tokens.status_code == 200, tokens.text
        return dict(tokens.json())

    return run


@pytest.fixture
def in_hydra(ory) -> Callable[[str], list[str]]:
    """Client ids the subject has a consent with, asked of Hydra directly."""

    def run(subject: str) -> list[str]:
        sessions = requests.get(f"{ory.hydra_admin_url}/admin/oauth2/auth/sessions/consent",
                                params={"subject": subject, "page_size": 500}, timeout=10).json()  # fmt: skip
        return sorted(s["consent_request"]["client"]["client_id"] for s in sessions)

    return run


@pytest.fixture
def active(ory) -> Callable[[str], bool]:
    def run(token: str) -> bool:
        answer = requests.post(
            f"{ory.hydra_admin_url}/admin/oauth2/introspect", data={"token": token}, timeout=10
        )
        return bool(answer.json()["active"])

    return run
