"""Real tokens from the real Hydra: client credentials, and authorization code + offline_access through the
real bridge (tests/bridge/oauth.py's Browser)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from tests.bridge.oauth import CALLBACK, Browser
from tests.fixtures.ory import client_credentials
from tests.fixtures.ory import introspect_at_hydra as introspect_at_hydra  # re-exported for the tokens tests


@pytest.fixture
def cc_client(make_hydra_client, tenant):
    """A confidential client-credentials client of `tenant`; returns a factory for more (any owner)."""

    def make(owner: str | None = None, **fields: Any) -> dict[str, Any]:
        return dict(make_hydra_client(owner=owner if owner is not None else tenant.hydra_owner, **fields))

    return make


def cc_token(ory: Any, client: dict[str, Any]) -> str:
    response = client_credentials(ory, client["client_id"], client["client_secret"])
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def refresh_at_hydra(ory: Any, tokens: dict[str, Any]) -> requests.Response:
    """The refresh token of `user_tokens()` (a confidential client) exchanged at Hydra's token endpoint."""
    client = tokens["client"]
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    auth = (client["client_id"], client["client_secret"])
    return requests.post(f"{ory.hydra_public_url}/oauth2/token", data=form, auth=auth, timeout=10)


@pytest.fixture
def user_tokens(live_bridge, make_hydra_client, make_identity, tenant):
    """Signs a real Kratos identity in through the bridge and returns its access + refresh tokens.

    public=True: a PKCE client without a secret; otherwise a confidential client_secret_basic client."""

    def get(
        public: bool = False, owner: str | None = None, person: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        app = make_hydra_client(
            client_name=f"Token App {uuid.uuid4().hex[:4]}",
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            redirect_uris=[CALLBACK],
            scope="openid email offline_access",
            token_endpoint_auth_method="none" if public else "client_secret_basic",
            owner=owner if owner is not None else tenant.hydra_owner,
        )
        person = person or make_identity()
        browser = Browser(live_bridge)
        auth, login_page = browser.authorize(app["client_id"], scope="openid email offline_access")
        consent_page = browser.sign_in(login_page, person["email"], person["password"])
        code = browser.callback(browser.answer_consent(consent_page))["code"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": auth.verifier,
        }
        if public:
            response = requests.post(
                f"{live_bridge.hydra_public_url}/oauth2/token",
                data={**form, "client_id": app["client_id"]},
                timeout=10,
            )
        else:
            response = requests.post(
                f"{live_bridge.hydra_public_url}/oauth2/token",
                data=form,
                auth=(app["client_id"], app["client_secret"]),
                timeout=10,
            )
        assert response.status_code == 200, response.text
        tokens = response.json()
        assert tokens.get("refresh_token"), tokens
        return {**tokens, "client": app, "person": person}

    return get


@pytest.fixture
def call(client):
    """POST a JSON body to Truss's API with optional headers; returns the response."""

    def post(
        path: str, body: Any = None, *, raw: str | None = None, as_client: Any = None, **headers: str
    ) -> Any:
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return (as_client or client).post(path, data, content_type="application/json", headers=headers)

    return post
