"""The device authorization grant in client management: offered, stored and tuned only on Hydra >= v25.4,
refused cleanly (and never sent to Hydra) on an older one. Checked against Hydra's own admin API."""

from __future__ import annotations

import json

import pytest
import requests
from django.urls import reverse

from tests.fixtures.ory import in_hydra
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DEVICE = hydra.DEVICE_GRANT
TV = {
    "client_name": "Living-room TV",
    "token_endpoint_auth_method": "none",
    "grant_types": [DEVICE, "refresh_token"],
    "scope": "openid offline_access",
}
FORM = {
    **TV,
    "redirect_uris": [""],
    "post_logout_redirect_uris": [""],
    "audience": [""],
    "subject_type": "public",
    "access_token_strategy": "",
    "contacts": [""],
    "metadata": "",
}


@pytest.fixture
def api(ory, client, tenant, make_api_key):
    key = {"apikey": make_api_key(tenant)}

    def call(method, path="", body=None):
        return client.generic(
            method,
            f"/v1/oauth2/clients{path}",
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            headers=key,
        )

    return call


@pytest.fixture
def member(console, ory):
    return console("member")


@pytest.mark.device_flow
class TestOnAHydraWithTheDeviceFlow:
    def test_it_offers_creates_and_edits_a_device_client_in_the_console(self, ory, member):
        page = member.get(reverse("console:clients:create")).content.decode()
        assert f'value="{DEVICE}"' in page
        response = member.post(reverse("console:clients:create"), FORM)
        assert response.status_code == 201, response.content.decode()[:2000]
        client_id = response.context["client"].client_id
        assert in_hydra(ory, client_id)["grant_types"] == [DEVICE, "refresh_token"]

        edit = reverse("console:clients:edit", args=[client_id])
        version = member.get(edit).context["form"].initial["version"]
        response = member.post(edit, {**FORM, "client_name": "Kitchen TV", "version": version})
        assert response.status_code == 302, response.content.decode()[:2000]
        stored = in_hydra(ory, client_id)
        assert (stored["client_name"], stored["grant_types"]) == ("Kitchen TV", [DEVICE, "refresh_token"])

        # The client really can start a device flow.
        started = hydra.device_authorization(client_id, scope="openid")
        assert started.user_code and started.verification_uri.endswith("/oauth2/device/verify")

    def test_it_creates_and_patches_a_device_client_through_the_api(self, ory, api):
        response = api("POST", body=TV)
        assert response.status_code == 201, response.content
        client_id = response.json()["client_id"]
        patched = api("PATCH", f"/{client_id}", [{"op": "replace", "path": "/client_name", "value": "Tuner"}])
        assert patched.status_code == 200, patched.content
        assert in_hydra(ory, client_id)["grant_types"] == [DEVICE, "refresh_token"]

    def test_it_fans_ttls_out_to_the_device_lifespans_and_sets_them_one_by_one(self, ory, api):
        client_id = api("POST", body=TV).json()["client_id"]
        body = {
            "access_token_ttl": 900,
            "refresh_token_ttl": 86400,
            "id_token_ttl": 300,
            "lifespans": {"device_authorization_grant_access_token_lifespan": 60},
        }
        response = api("PATCH", f"/{client_id}/token-config", body)
        assert response.status_code == 200, response.content
        stored = in_hydra(ory, client_id)
        assert stored["device_authorization_grant_access_token_lifespan"] == "1m0s"  # the matrix wins
        assert stored["device_authorization_grant_refresh_token_lifespan"] == "24h0m0s"
        assert stored["device_authorization_grant_id_token_lifespan"] == "5m0s"
        assert stored["authorization_code_grant_access_token_lifespan"] == "15m0s"
        assert response.json()["lifespans_seconds"]["device_authorization_grant_access_token_lifespan"] == 60

        # An ordinary edit (Hydra's PUT replaces the whole client) keeps them.
        api("PATCH", f"/{client_id}", [{"op": "replace", "path": "/client_name", "value": "Renamed"}])
        assert in_hydra(ory, client_id)["device_authorization_grant_refresh_token_lifespan"] == "24h0m0s"

    def test_the_console_matrix_has_the_device_rows(self, ory, member, api):
        client_id = api("POST", body=TV).json()["client_id"]
        url = reverse("console:clients:token_config", args=[client_id])
        page = member.get(url)
        assert 'name="device_authorization_grant_id_token_lifespan"' in page.content.decode()
        version = page.context["form"].initial["version"]
        response = member.post(
            url, {"device_authorization_grant_refresh_token_lifespan": "7200", "version": version}
        )
        assert response.status_code == 302, response.content.decode()[:1500]
        stored = in_hydra(ory, client_id)
        assert stored["device_authorization_grant_refresh_token_lifespan"] == "2h0m0s"
        assert stored["device_authorization_grant_access_token_lifespan"] is None


@pytest.mark.no_device_flow
class TestOnAHydraWithoutIt:
    def test_the_console_neither_offers_the_grant_nor_the_device_lifespans(self, ory, member, api):
        assert f'value="{DEVICE}"' not in member.get(reverse("console:clients:create")).content.decode()
        client_id = api("POST", body={"client_name": "Plain", "grant_types": ["client_credentials"]}).json()[
            "client_id"
        ]
        page = member.get(reverse("console:clients:token_config", args=[client_id])).content.decode()
        assert "device_authorization_grant" not in page

    def test_the_console_refuses_a_posted_device_grant(self, ory, member):
        response = member.post(reverse("console:clients:create"), FORM)
        assert response.status_code == 400
        assert "device_code" not in json.dumps(
            requests.get(f"{ory.hydra_admin_url}/admin/clients", timeout=10).json()
        )

    def test_the_api_refuses_device_lifespans_without_sending_them(self, ory, api):
        client_id = api("POST", body={"client_name": "Plain", "grant_types": ["client_credentials"]}).json()[
            "client_id"
        ]
        before = in_hydra(ory, client_id)
        response = api(
            "PATCH",
            f"/{client_id}/token-config",
            {"access_token_ttl": 60, "lifespans": {"device_authorization_grant_access_token_lifespan": 60}},
        )
        assert response.status_code == 400
        assert "v25.4" in json.dumps(response.json())
        assert in_hydra(ory, client_id)["updated_at"] == before["updated_at"]
