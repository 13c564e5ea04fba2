"""Clients built through Truss's client service (so the audit log knows them), and a tiny JSON API helper."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from oauth2_admin.clients import service as clients
from tests.fixtures.ory import in_hydra
from truss.models import Tenant
from truss.ory import hydra

CLEAN: dict[str, Any] = {
    "grant_types": ["authorization_code", "refresh_token"],
    "redirect_uris": ["https://app.example.com/cb"],
    "post_logout_redirect_uris": ["https://app.example.com/bye"],
    "scope": "openid offline_access",
    "token_endpoint_auth_method": "client_secret_basic",
    "frontchannel_logout_uri": "https://app.example.com/fc",
    "logo_uri": "https://app.example.com/logo.png",
    "policy_uri": "https://app.example.com/privacy",
    "tos_uri": "https://app.example.com/terms",
    "access_token_strategy": "opaque",
}
CLEAN_TOKENS = {"access_token_ttl": 1800, "refresh_token_ttl": 7 * 86400, "id_token_ttl": 3600}


@pytest.fixture
def make_client(ory: Any, tenant: Tenant) -> Callable[..., hydra.OAuth2Client]:
    """A client created through the client service (audited), clean unless `changes` say otherwise."""

    def make(
        changes: dict[str, Any] | None = None,
        tokens: dict[str, Any] | None = None,
        for_tenant: Tenant | None = None,
    ) -> hydra.OAuth2Client:
        owner = for_tenant or tenant
        body = {"client_name": f"hyg-{uuid.uuid4().hex[:8]}", **CLEAN, **(changes or {})}
        client, _ = clients.create_for(None, owner, body)
        config = {**CLEAN_TOKENS, **(tokens or {})}
        return clients.set_token_config(None, owner, client.client_id, config)

    return make


def change_in_hydra(ory: Any, client_id: str, **fields: Any) -> dict[str, Any]:
    """A change behind Truss's back: Hydra's own admin API, full replace."""
    body = {k: v for k, v in in_hydra(ory, client_id).items() if k not in ("created_at", "updated_at")}
    body.update(fields)
    response = requests.put(f"{ory.hydra_admin_url}/admin/clients/{client_id}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture
def api(ory: Any, client: Any, tenant: Tenant, make_api_key: Callable[..., str]) -> Any:
    key = {"apikey": make_api_key(tenant)}

    class Api:
        def call(
            self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
        ) -> Any:
            data = json.dumps(body) if body is not None else ""
            return client.generic(
                method,
                f"/v1/oauth2{path}",
                data,
                content_type="application/json",
                headers={**key, **(headers or {})},
            )

    return Api()
