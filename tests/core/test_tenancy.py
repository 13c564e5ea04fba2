"""Tenant isolation, API-key auth and auditing of client mutations, against the real Hydra."""

from __future__ import annotations

import pytest
import requests

from tests.fixtures.ory import in_hydra
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NEW_CLIENT = {
    "client_name": "Isolated app",
    "grant_types": ["client_credentials"],
}


@pytest.fixture
def keys(make_api_key, tenant, other_tenant):
    return {
        "acme": {"apikey": make_api_key(tenant, "service_role")},
        "globex": {"apikey": make_api_key(other_tenant, "service_role")},
        "acme_anon": {"apikey": make_api_key(tenant, "anon")},
    }


@pytest.fixture
def acme_client(ory, client, keys):
    response = client.post(
        "/v1/oauth2/clients", NEW_CLIENT, content_type="application/json", headers=keys["acme"]
    )
    assert response.status_code == 201, response.content
    return response.json()


class TestOwnership:
    def test_it_sets_the_owner_server_side(self, ory, acme_client, tenant):
        assert acme_client["owner"] == tenant.hydra_owner
        assert acme_client["client_secret"]  # shown once, at creation
        assert in_hydra(ory, acme_client["client_id"])["owner"] == f"truss:{tenant.slug}"

    @pytest.mark.parametrize("field", [{"owner": "truss:globex"}, {"client_id": "chosen-id"}])
    def test_it_refuses_a_caller_supplied_owner_or_id(self, ory, client, keys, field):
        body = {**NEW_CLIENT, "client_name": f"sneaky {list(field)[0]}", **field}
        response = client.post(
            "/v1/oauth2/clients", body, content_type="application/json", headers=keys["acme"]
        )
        assert response.status_code == 400
        assert list(field)[0] in response.json()["fields"]
        listed = requests.get(
            f"{ory.hydra_admin_url}/admin/clients", params={"client_name": body["client_name"]}, timeout=10
        )
        assert listed.json() == []

    def test_it_lists_only_the_tenants_clients(
        self, ory, client, keys, acme_client, make_hydra_client, other_tenant
    ):
        make_hydra_client(owner=other_tenant.hydra_owner)
        make_hydra_client()  # created outside Truss, no owner
        acme = client.get("/v1/oauth2/clients", headers=keys["acme"]).json()["items"]
        globex = client.get("/v1/oauth2/clients", headers=keys["globex"]).json()["items"]
        assert [c["client_id"] for c in acme] == [acme_client["client_id"]]
        assert "client_secret" not in acme[0]
        assert [c["owner"] for c in globex] == [other_tenant.hydra_owner]


class TestCrossTenant:
    def test_it_answers_404_for_another_tenants_client_and_leaves_it_alone(
        self, ory, client, keys, acme_client, other_tenant
    ):
        url = f"/v1/oauth2/clients/{acme_client['client_id']}"
        assert client.get(url, headers=keys["globex"]).status_code == 404
        response = client.delete(url, headers=keys["globex"])
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "message": "No such client."}
        assert in_hydra(ory, acme_client["client_id"])  # still there
        failed = AuditEvent.objects.get(action="oauth2.client.delete")
        assert (failed.outcome, failed.tenant, failed.actor) == (
            "failure",
            other_tenant,
            f"apikey:{keys['globex']['apikey'][:17]}",
        )

    def test_it_gives_the_same_404_for_a_missing_client(self, ory, client, keys):
        response = client.get("/v1/oauth2/clients/does-not-exist", headers=keys["acme"])
        assert response.status_code == 404 and response.json()["error"] == "not_found"

    def test_it_isolates_console_sessions_too(self, ory, console, other_tenant, acme_client):
        globex_operator = console("admin", for_tenant=other_tenant)
        url = f"/api/hydra/clients/{acme_client['client_id']}"
        assert globex_operator.get(url).status_code == 404
        assert globex_operator.delete(url).status_code == 404
        assert in_hydra(ory, acme_client["client_id"])  # still there
        assert console("admin").get(url).json()["client_id"] == acme_client["client_id"]


class TestApiKeyAuth:
    def test_it_rejects_requests_without_a_key(self, ory, client):
        response = client.get("/v1/oauth2/clients")
        assert response.status_code == 401 and response.json()["error"] == "unauthorized"

    def test_it_rejects_a_revoked_key(self, ory, client, tenant, make_api_key):
        from truss import apikeys
        from truss.models import ApiKey

        raw = make_api_key(tenant)
        apikeys.revoke(ApiKey.objects.get(prefix=raw[:17]))
        assert client.get("/v1/oauth2/clients", headers={"apikey": raw}).status_code == 401

    def test_it_lets_an_anon_key_read_discovery_only(self, ory, client, keys):
        discovery = client.get("/v1/oauth2/discovery", headers=keys["acme_anon"])
        assert discovery.status_code == 200
        assert discovery.json()["issuer"] == f"{ory.hydra_public_url}/"
        created = client.post(
            "/v1/oauth2/clients", NEW_CLIENT, content_type="application/json", headers=keys["acme_anon"]
        )
        assert created.status_code == 403 and "service_role" in created.json()["message"]
        assert client.get("/v1/oauth2/clients", headers=keys["acme_anon"]).status_code == 403

    def test_it_stops_an_anon_key_from_deleting(self, ory, client, keys, acme_client):
        url = f"/v1/oauth2/clients/{acme_client['client_id']}"
        assert client.delete(url, headers=keys["acme_anon"]).status_code == 403
        assert in_hydra(ory, acme_client["client_id"])  # still there

    def test_it_keeps_viewers_from_mutating_through_the_session_api(self, ory, console):
        viewer = console("viewer")
        response = viewer.post("/api/hydra/clients", NEW_CLIENT, content_type="application/json")
        assert response.status_code == 403
        assert viewer.get("/api/hydra/clients").status_code == 200


class TestAudit:
    def test_it_audits_create_and_delete_with_redacted_secrets(self, ory, client, keys, acme_client):
        assert (
            client.delete(f"/v1/oauth2/clients/{acme_client['client_id']}", headers=keys["acme"]).status_code
            == 204
        )
        assert in_hydra(ory, acme_client["client_id"], may_be_gone=True) is None
        create, delete = AuditEvent.objects.filter(action__startswith="oauth2.client").order_by("id")
        assert (create.action, create.outcome, create.target) == (
            "oauth2.client.create",
            "success",
            acme_client["client_id"],
        )
        assert "client_secret" not in create.after
        assert acme_client["client_secret"] not in str(create.after)
        assert delete.before["client_id"] == acme_client["client_id"]
        assert create.actor == f"apikey:{keys['acme']['apikey'][:17]}"

    def test_it_audits_a_failed_create(self, ory, client, keys):
        body = {**NEW_CLIENT, "token_endpoint_auth_method": "private_key_jwt"}
        response = client.post(
            "/v1/oauth2/clients", body, content_type="application/json", headers=keys["acme"]
        )
        assert response.status_code == 400
        assert "jwks" in response.json()["fields"]["jwks_uri"][0]
        event = AuditEvent.objects.get(action="oauth2.client.create")
        assert event.outcome == "failure" and event.target == ""
