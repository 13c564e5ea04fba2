"""The shipped Hydra configuration: Hydra never fetches a URL a client names on a loopback or private network
(clients.http.disallow_private_ip_ranges), proved with a private_key_jwt client whose jwks_uri is on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from truss.devstack import ORY_DIR, Stack, free_port

pytestmark = [pytest.mark.integration]


class _Keys(http.server.BaseHTTPRequestHandler):
    jwks: dict[str, Any] = {}
    fetched: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).fetched.append(self.path)
        body = json.dumps(self.jwks).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def keys_on_loopback() -> Iterator[tuple[str, ec.EllipticCurvePrivateKey, list[str]]]:
    key = ec.generate_private_key(ec.SECP256R1())
    _Keys.jwks = {
        "keys": [
            {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1", "use": "sig", "alg": "ES256"}
        ]
    }
    _Keys.fetched = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), _Keys)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", key, _Keys.fetched
    server.shutdown()


def test_hydra_refuses_a_clients_jwks_uri_on_loopback_and_never_fetches_it(ory, keys_on_loopback):
    jwks_uri, key, fetched = keys_on_loopback
    created = requests.post(
        f"{ory.hydra_admin_url}/admin/clients",
        json={
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "jwks_uri": jwks_uri,
            "scope": "a",
        },
        timeout=10,
    )
    assert created.status_code == 400, created.text
    assert "127.0.0.0/8" in created.json()["error_description"]
    sector = requests.post(
        f"{ory.hydra_admin_url}/admin/clients",
        json={
            "redirect_uris": ["https://app.example.com/cb"],
            "sector_identifier_uri": jwks_uri,
            "subject_type": "pairwise",
        },
        timeout=10,
    )
    assert sector.status_code == 400, sector.text
    assert fetched == []


def test_every_shipped_config_turns_the_protection_on(tmp_path: Path):
    shipped = yaml.safe_load((ORY_DIR / "hydra.yml").read_text())
    assert shipped["clients"]["http"]["disallow_private_ip_ranges"] is True
    for hook in (False, True):
        rendered = Stack(state_dir=tmp_path, token_hook=hook)._render("hydra.yml")
        assert yaml.safe_load(rendered.read_text())["clients"]["http"]["disallow_private_ip_ranges"] is True


def test_the_token_hook_is_rendered_with_its_one_exception(tmp_path: Path):
    hooked = yaml.safe_load(
        Stack(
            state_dir=tmp_path, truss_url="http://127.0.0.1:8123", token_hook=True, token_hook_secret="s" * 32
        )
        ._render("hydra.yml")
        .read_text()
    )
    hook = hooked["oauth2"]["token_hook"]
    assert hook["url"] == "http://127.0.0.1:8123/hooks/hydra/token"
    assert hooked["clients"]["http"]["private_ip_exception_urls"] == [hook["url"]]
    assert hook["auth"] == {
        "type": "api_key",
        "config": {"in": "header", "name": "X-Truss-Hook-Secret", "value": "s" * 32},
    }
    plain = yaml.safe_load(Stack(state_dir=tmp_path, token_hook=False)._render("hydra.yml").read_text())
    assert "token_hook" not in plain["oauth2"]


def test_compose_wires_the_hook_its_secret_and_its_exception():
    services = yaml.safe_load((ORY_DIR.parent / "compose.yaml").read_text())["services"]
    hydra, truss = services["hydra"]["environment"], services["truss"]["environment"]
    assert hydra["OAUTH2_TOKEN_HOOK_URL"] == hydra["CLIENTS_HTTP_PRIVATE_IP_EXCEPTION_URLS"]
    assert hydra["OAUTH2_TOKEN_HOOK_URL"].startswith("http://truss:8000/")
    assert hydra["OAUTH2_TOKEN_HOOK_AUTH_CONFIG_VALUE"] == truss["TRUST_TOKEN_HOOK_SECRET"]
    assert truss["TRUST_TOKEN_HOOK"] == "on" and "truss" in truss["ALLOWED_HOSTS"].split(",")
    # hydra.yml carries the hook's auth object: the environment above only overrides its url and value.
    assert (
        yaml.safe_load((ORY_DIR / "hydra.yml").read_text())["oauth2"]["token_hook"]["auth"]["type"]
        == "api_key"
    )
