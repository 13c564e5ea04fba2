"""URIs Hydra requests itself (jwks_uri, sector_identifier_uri, backchannel_logout_uri) never name an internal
host; redirect URIs are web or reverse-domain native; scopes and audiences never start like a spreadsheet
formula. Refused by the API and the console with field messages, before Hydra sees anything, against the real
Hydra and a listener on 127.0.0.1 that records whatever reaches it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from django.urls import reverse

from tests.clients.test_api import SIMPLE
from tests.clients.test_views import FORM
from tests.fixtures.ory import in_hydra
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

WEB = {
    "client_name": "Fetch app",
    "grant_types": ["authorization_code"],
    "redirect_uris": ["https://a.example/cb"],
}


class Listener:
    """An HTTP server on 127.0.0.1 that counts every connection (a TLS hello from an https fetch included)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.connections = 0
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                listener.paths.append(self.path)
                body = json.dumps(["https://a.example/cb"]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def verify_request(self, request: Any, client_address: Any) -> bool:
                listener.connections += 1
                return True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture
def api(ory: Any, client: Any, tenant: Any, make_api_key: Any) -> Any:
    key = {"apikey": make_api_key(tenant)}

    class Api:
        def call(
            self, method: str, path: str = "", body: Any = None, headers: dict[str, str] | None = None
        ) -> Any:
            return client.generic(
                method,
                f"/v1/oauth2/clients{path}",
                json.dumps(body) if body is not None else "",
                content_type="application/json",
                headers={**key, **(headers or {})},
            )

    return Api()


def hydra_names(ory: Any, tenant: Any) -> list[str]:
    url = f"{ory.hydra_admin_url}/admin/clients"
    return [
        c["client_name"] for c in requests.get(url, params={"owner": tenant.hydra_owner}, timeout=10).json()
    ]


class TestApi:
    def test_it_refuses_a_sector_identifier_on_loopback_before_hydra_fetches_it(
        self, ory, api, tenant, listener
    ):
        uri = f"https://127.0.0.1:{listener.port}/sector.json"  # Hydra fetches https sector identifiers
        response = api.call("POST", body={**WEB, "subject_type": "pairwise", "sector_identifier_uri": uri})
        assert response.status_code == 400, response.content
        message = " ".join(response.json()["fields"]["sector_identifier_uri"])
        assert "loopback address (127.0.0.1)" in message and "Hydra requests this URI itself" in message
        assert listener.connections == 0  # Hydra was never asked to fetch it
        assert hydra_names(ory, tenant) == []
        event = AuditEvent.objects.get(action="oauth2.client.create")
        assert event.outcome == "failure"

    @pytest.mark.parametrize(
        "host", ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "[::ffff:127.0.0.1]", "localhost", "[::1]"]
    )
    def test_it_refuses_a_jwks_uri_on_hydras_own_admin_port_in_any_notation(self, ory, api, tenant, host):
        uri = f"http://{host}:{ory.hydra_admin_url.rsplit(':', 1)[1]}/admin/keys/hydra.openid.id-token"
        body = {**SIMPLE, "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": uri}
        response = api.call("POST", body=body)
        assert response.status_code == 400, response.content
        assert "jwks_uri" in response.json()["fields"]
        assert hydra_names(ory, tenant) == []

    def test_it_refuses_an_internal_host_set_by_update_and_token_settings(self, ory, api, listener):
        cid = api.call("POST", body={**SIMPLE, "token_endpoint_auth_method": "client_secret_basic"}).json()[
            "client_id"
        ]
        before = in_hydra(ory, cid)
        update = api.call(
            "PUT", f"/{cid}", {"backchannel_logout_uri": "http://169.254.169.254/latest/meta-data/"}
        )
        assert (
            update.status_code == 400 and "link-local" in update.json()["fields"]["backchannel_logout_uri"][0]
        )
        config = api.call(
            "PATCH",
            f"/{cid}/token-config",
            {"backchannel_logout_uri": f"http://127.0.0.1:{listener.port}/bc"},
        )
        assert (
            config.status_code == 400 and "loopback" in config.json()["fields"]["backchannel_logout_uri"][0]
        )
        patch = api.call(
            "PATCH",
            f"/{cid}",
            [{"op": "add", "path": "/sector_identifier_uri", "value": "http://[fd00::1]/s"}],
        )
        assert patch.status_code == 400 and "private" in patch.json()["fields"]["sector_identifier_uri"][0]
        assert in_hydra(ory, cid) == before
        assert listener.connections == 0
        refused = AuditEvent.objects.filter(target=cid, outcome="failure").values_list("action", flat=True)
        assert sorted(refused) == [
            "oauth2.client.patch",
            "oauth2.client.token_config",
            "oauth2.client.update",
        ]

    def test_it_refuses_ftp_and_dotless_custom_schemes_as_redirect_uris(self, ory, api, tenant):
        for uri, needle in (("ftp://x", "ftp: scheme"), ("myapp://cb", "reverse-domain form")):
            response = api.call("POST", body={**WEB, "redirect_uris": [uri]})
            assert response.status_code == 400 and needle in response.json()["fields"]["redirect_uris"][0]
        assert api.call("POST", body={**WEB, "redirect_uris": ["com.example.app:/cb"]}).status_code == 201

    @pytest.mark.parametrize("value", ["=1+2", "+SUM(1)", "@A1", "=HYPERLINK(1)", "-1"])
    def test_it_refuses_formula_scopes_and_audiences(self, ory, api, tenant, value):
        scope = api.call("POST", body={**SIMPLE, "scope": f"read {value}"})
        assert scope.status_code == 400 and "formula" in scope.json()["fields"]["scope"][0]
        audience = api.call("POST", body={**SIMPLE, "audience": [value]})
        assert audience.status_code == 400 and "formula" in audience.json()["fields"]["audience"][0]
        assert hydra_names(ory, tenant) == []


class TestConsole:
    def test_it_puts_the_internal_host_message_on_the_jwks_uri_field(self, ory, console, tenant):
        form = {
            **FORM,
            "token_endpoint_auth_method": "private_key_jwt",
            "grant_types": ["client_credentials"],
            "redirect_uris": [""],
            "jwks_uri": "http://127.0.0.1:4445/admin/keys/hydra.openid.id-token",
        }
        response = console("member").post(reverse("console:clients:create"), form)
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert "loopback" in " ".join(errors["jwks_uri"]), errors
        assert hydra_names(ory, tenant) == []

    def test_it_puts_scheme_and_formula_messages_on_their_fields(self, ory, console, tenant):
        form = {**FORM, "redirect_uris": ["ftp://x"], "scope": "openid =1+2", "audience": ["@A1"]}
        response = console("member").post(reverse("console:clients:create"), form)
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert "ftp: scheme" in " ".join(errors["redirect_uris"]), errors
        assert hydra_names(ory, tenant) == []
        scope_only = console("member").post(
            reverse("console:clients:create"), {**FORM, "scope": "openid =1+2"}
        )
        assert "formula" in " ".join(scope_only.context["form"].errors["scope"])
        audience_only = console("member").post(
            reverse("console:clients:create"), {**FORM, "audience": ["@A1"]}
        )
        assert "formula" in " ".join(audience_only.context["form"].errors["audience"])
