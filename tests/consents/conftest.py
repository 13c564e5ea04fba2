from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.bridge.oauth import CALLBACK, query
from tests.fixtures.ory import introspect_at_hydra


@pytest.fixture
def grant(ory) -> Callable[..., dict[str, Any]]:
    """A real consent in Hydra, fast: the authorization request is answered through Hydra's admin API (no
    bridge, no Kratos login), then the code is exchanged. Returns the tokens."""

    def run(app: dict[str, Any], subject: str, scope: str = "openid offline_access") -> dict[str, Any]:
        jar = requests.Session()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        params = {
            "client_id": app["client_id"],
            "response_type": "code",
            "redirect_uri": CALLBACK,
            "scope": scope,
            "state": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        hop = jar.get(f"{ory.hydra_public_url}/oauth2/auth", params=params, allow_redirects=False, timeout=10)
        login = query(hop.headers["Location"])["login_challenge"]
        accepted = requests.put(
            f"{ory.hydra_admin_url}/admin/oauth2/auth/requests/login/accept",
            params={"login_challenge": login},
            json={"subject": subject},
            timeout=10,
        ).json()
        hop = jar.get(accepted["redirect_to"], allow_redirects=False, timeout=10)
        consent = query(hop.headers["Location"])["consent_challenge"]
        accepted = requests.put(
            f"{ory.hydra_admin_url}/admin/oauth2/auth/requests/consent/accept",
            params={"consent_challenge": consent},
            json={"grant_scope": scope.split(), "remember": True, "remember_for": 0},
            timeout=10,
        ).json()
        hop = jar.get(accepted["redirect_to"], allow_redirects=False, timeout=10)
        code = query(hop.headers["Location"])["code"]
        tokens = requests.post(
            f"{ory.hydra_public_url}/oauth2/token",
            timeout=10,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": CALLBACK,
                "client_id": app["client_id"],
                "code_verifier": verifier,
            },
        )
        assert tokens.status_code == 200, tokens.text
        return dict(tokens.json())

    return run


@pytest.fixture
def in_hydra(ory) -> Callable[[str], list[str]]:
    """Client ids the subject has a consent with, asked of Hydra directly."""

    def run(subject: str) -> list[str]:
        sessions = requests.get(
            f"{ory.hydra_admin_url}/admin/oauth2/auth/sessions/consent",
            params={"subject": subject, "page_size": 500},
            timeout=10,
        ).json()
        return sorted(s["consent_request"]["client"]["client_id"] for s in sessions)

    return run


@pytest.fixture
def active(ory) -> Callable[[str], bool]:
    return lambda token: bool(introspect_at_hydra(ory, token)["active"])
