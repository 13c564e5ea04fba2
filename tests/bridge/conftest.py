from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.bridge.oauth import CALLBACK, Browser
from truss import bridge_check


@pytest.fixture
def live_bridge(ory, live_server, settings):
    """Truss's bridge live on the address the test Hydra/Kratos send browsers to."""
    settings.TRUSS_PUBLIC_URL = live_server.url
    bridge_check.clear_cache()
    return ory


@pytest.fixture
def make_app(make_hydra_client, tenant):
    """A public PKCE client of `tenant` (Hydra owner truss:<slug>) for the authorization-code flow."""

    def make(owner: Any = None, **fields: Any) -> dict[str, Any]:
        return dict(
            make_hydra_client(
                client_name=fields.pop("client_name", f"Photo App {uuid.uuid4().hex[:4]}"),
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                redirect_uris=[CALLBACK],
                scope="openid email profile offline_access",
                token_endpoint_auth_method="none",
                owner=owner if owner is not None else tenant.hydra_owner,
                **fields,
            )
        )

    return make


@pytest.fixture
def browser_for(live_bridge):
    def make(accept_language: str = "en") -> Browser:
        return Browser(live_bridge, accept_language)

    return make
