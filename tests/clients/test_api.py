"""Client management through Truss's JSON API, always checked against Hydra's own admin API."""

from __future__ import annotations

import json

import pytest
import requests

from tests.fixtures.ory import client_credentials as token
from tests.fixtures.ory import in_hydra
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

FULL = {
    "client_name": "Everything app",
    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
    "redirect_uris": ["https://app.example.com/cb", "com.example.app:/oauth2redirect"],
    "post_logout_redirect_uris": ["https://app.example.com/bye"],
    "scope": "openid offline_access profile email",
    "audience": ["https://api.example.com"],
    "token_endpoint_auth_method": "client_secret_post",
    "skip_consent": True,
    "skip_logout_consent": True,
    "subject_type": "pairwise",
    "frontchannel_logout_uri": "https://app.example.com/fc",
    "backchannel_logout_uri": "https://app.example.com/bc",
    "access_token_strategy": "opaque",
    "logo_uri": "https://app.example.com/logo.png",
    "client_uri": "https://app.example.com",
    "policy_uri": "https://app.example.com/privacy",
    "tos_uri": "https://app.example.com/terms",
    "contacts": ["ops@example.com"],
    "allowed_cors_origins": ["https://app.example.com"],
    "metadata": {"team": "payments", "tier": 2},
}
SIMPLE = {"client_name": "Simple", "grant_types": ["client_credentials"], "scope": "read"}


@pytest.fixture
def api(ory, client, tenant, make_api_key):
    """A tiny client for /v1/oauth2/clients with the tenant's service_role key."""
    key = {"apikey": make_api_key(tenant)}

    class Api:
        def call(self, method, path="", body=None, raw=None, headers=None, content_type="application/json"):
            data = raw if raw is not None else (json.dumps(body) if body is not None else None)
            return client.generic(
                method,
                f"/v1/oauth2/clients{path}",
                data or "",
                content_type=content_type,
                headers={**key, **(headers or {})},
            )

        def create(self, body):
            response = self.call("POST", body=body)
            assert response.status_code == 201, response.content
            return response.json()

    return Api()


class TestCreate:
    def test_it_round_trips_every_setting(self, ory, api, tenant):
        created = api.create(FULL)
        stored = in_hydra(ory, created["client_id"])
        for field, value in FULL.items():
            assert stored[field] == value, field
        assert stored["owner"] == tenant.hydra_owner
        assert stored["response_types"] == ["code"]  # derived from the grants
        assert created["client_secret"] and "warnings" in created

    def test_it_keeps_caches_from_storing_the_one_time_secret(self, ory, api):
        response = api.call("POST", body=SIMPLE)
        assert response.status_code == 201 and response.json()["client_secret"]
        assert response["Cache-Control"] == "no-store"
        assert "no-store" not in api.call("GET", f"/{response.json()['client_id']}").get("Cache-Control", "")

    def test_it_creates_a_private_key_jwt_client_with_public_keys(self, ory, api):
        jwks = {
            "keys": [
                {
                    "kty": "EC",
                    "crv": "P-256",
                    "kid": "k1",
                    "use": "sig",
                    "alg": "ES256",
                    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                }
            ]
        }
        created = api.create({**SIMPLE, "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks})
        assert in_hydra(ory, created["client_id"])["jwks"]["keys"][0]["kid"] == "k1"

    def test_it_refuses_private_keys_in_jwks(self, ory, api):
        jwks = {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "sym"}]}
        response = api.call(
            "POST", body={**SIMPLE, "token_endpoint_auth_method": "private_key_jwt", "jwks": jwks}
        )
        assert response.status_code == 400
        assert "private key material" in response.json()["fields"]["jwks"][0]

    def test_it_warns_about_plain_http_outside_loopback(self, api):
        created = api.create(
            {
                **SIMPLE,
                "grant_types": ["authorization_code"],
                "redirect_uris": ["http://app.example.com/cb", "http://127.0.0.1:9000/cb"],
            }
        )
        assert any("app.example.com" in w and "http" in w for w in created["warnings"])
        assert not any("127.0.0.1" in w for w in created["warnings"])

    def test_it_explains_that_pairwise_needs_opaque_tokens(self, ory, api):
        response = api.call("POST", body={**FULL, "access_token_strategy": "jwt"})
        assert response.status_code == 400
        assert "opaque" in response.json()["fields"]["subject_type"][0]

    @pytest.mark.no_device_flow
    def test_it_refuses_the_device_grant_on_this_hydra(self, ory, api):
        response = api.call(
            "POST", body={**SIMPLE, "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"]}
        )
        assert response.status_code == 400
        assert "v25.4" in response.json()["fields"]["grant_types"][0]

    @pytest.mark.device_flow
    def test_it_creates_a_device_grant_client_on_a_hydra_that_has_the_device_flow(self, ory, api):
        device = "urn:ietf:params:oauth:grant-type:device_code"
        response = api.call("POST", body={**SIMPLE, "grant_types": [device, "refresh_token"]})
        assert response.status_code == 201, response.json()
        assert in_hydra(ory, response.json()["client_id"])["grant_types"] == [device, "refresh_token"]


class TestBadInput:
    """Each answer is a 400 that says what is wrong, and Hydra holds no client afterwards."""

    @pytest.mark.parametrize(
        ("body", "field", "needle"),
        [
            ({**SIMPLE, "grant_types": ["password"]}, "grant_types", "unknown grant type 'password'"),
            (
                {
                    **SIMPLE,
                    "grant_types": ["authorization_code"],
                    "redirect_uris": ["https://a.example/cb#x"],
                },
                "redirect_uris",
                "fragment",
            ),
            (
                {**SIMPLE, "grant_types": ["authorization_code"], "redirect_uris": ["/relative"]},
                "redirect_uris",
                "not an absolute URI",
            ),
            (
                {
                    **SIMPLE,
                    "grant_types": ["authorization_code"],
                    "redirect_uris": ["https://a.example/cb"] * 2,
                },
                "redirect_uris",
                "duplicate",
            ),
            ({**SIMPLE, "client_name": 42}, "client_name", "string"),
            ({**SIMPLE, "skip_consent": "maybe"}, "skip_consent", "boolean"),
            ({**SIMPLE, "grant_types": "client_credentials"}, "grant_types", "list"),
            ({**SIMPLE, "client_name": ""}, "client_name", "at least 1"),
            ({**SIMPLE, "token_endpoint_auth_method": "none"}, "grant_types", "public client"),
            ({**SIMPLE, "frobnicate": True}, "frobnicate", "unknown field"),
        ],
    )
    def test_it_explains_invalid_fields(self, ory, api, body, field, needle):
        response = api.call("POST", body=body)
        assert response.status_code == 400, response.content
        assert response.json()["error"] == "invalid_request"
        assert needle in " ".join(response.json()["fields"][field])
        assert api.call("GET").json()["items"] == []

    @pytest.mark.parametrize("raw", ['{"client_name": "x",', "[1, 2]", "null", "\xff\xfe"])
    def test_it_rejects_malformed_or_non_object_json(self, ory, api, raw):
        response = api.call("POST", raw=raw)
        assert response.status_code == 400
        assert response.json()["message"]
        assert api.call("GET").json()["items"] == []
        assert AuditEvent.objects.get(action="oauth2.client.create").outcome == "failure"

    def test_it_rejects_a_one_megabyte_body(self, ory, api):
        response = api.call("POST", raw=json.dumps({**SIMPLE, "metadata": {"blob": "x" * 1_000_000}}))
        assert response.status_code == 413
        assert "larger than 512 KB" in response.json()["message"]
        assert api.call("GET").json()["items"] == []


class TestUpdate:
    def test_it_merges_a_partial_put_and_keeps_everything_else(self, ory, api):
        created = api.create(FULL)
        cid = created["client_id"]
        api.call("PATCH", f"/{cid}/token-config", body={"access_token_ttl": 600})
        before = in_hydra(ory, cid)
        response = api.call("PUT", f"/{cid}", body={"client_name": "Renamed", "contacts": []})
        assert response.status_code == 200, response.content
        after = in_hydra(ory, cid)
        assert after["client_name"] == "Renamed" and after["contacts"] in ([], None)
        untouched = set(FULL) - {"client_name", "contacts"}
        assert {f: after[f] for f in untouched} == {f: before[f] for f in untouched}
        assert after["client_credentials_grant_access_token_lifespan"] == "10m0s"  # lifespans survive a PUT
        assert token(ory, cid, created["client_secret"]).status_code == 401  # client_secret_post, not basic
        post = requests.post(
            f"{ory.hydra_public_url}/oauth2/token",
            timeout=10,
            data={
                "grant_type": "client_credentials",
                "client_id": cid,
                "client_secret": created["client_secret"],
            },
        )
        assert post.status_code == 200  # the secret survives a PUT too

    @pytest.mark.parametrize(
        ("field", "value"), [("owner", "truss:evil"), ("client_id", "new-id"), ("client_secret", "x")]
    )
    def test_it_refuses_to_change_owner_id_or_secret_by_put(self, ory, api, field, value):
        cid = api.create(SIMPLE)["client_id"]
        before = in_hydra(ory, cid)
        response = api.call("PUT", f"/{cid}", body={field: value})
        assert response.status_code == 400
        assert response.json()["fields"][field] == ["cannot be set"]
        assert in_hydra(ory, cid) == before

    def test_it_audits_a_put_that_sets_no_known_field_once(self, ory, api):
        cid = api.create(SIMPLE)["client_id"]
        response = api.call("PUT", f"/{cid}", body={"frobnicate": 1, "client_name": ""})
        assert response.status_code == 400
        assert response.json()["fields"] == {
            "frobnicate": ["unknown field"],
            "client_name": ["String should have at least 1 character"],
        }
        events = AuditEvent.objects.filter(action="oauth2.client.update")
        assert [(e.outcome, e.target) for e in events] == [("failure", cid)]

    def test_it_applies_a_json_patch(self, ory, api):
        cid = api.create({**SIMPLE, "audience": ["a"]})["client_id"]
        ops = [
            {"op": "add", "path": "/audience/-", "value": "b"},
            {"op": "replace", "path": "/scope", "value": "read write"},
            {"op": "add", "path": "/metadata/env", "value": "prod"},
        ]
        response = api.call("PATCH", f"/{cid}", body=ops, content_type="application/json-patch+json")
        assert response.status_code == 200, response.content
        stored = in_hydra(ory, cid)
        assert (stored["audience"], stored["scope"], stored["metadata"]) == (
            ["a", "b"],
            "read write",
            {"env": "prod"},
        )

    @pytest.mark.parametrize("path", ["/owner", "/client_id", "/client_secret"])
    def test_it_refuses_patches_of_guarded_fields(self, ory, api, path):
        cid = api.create(SIMPLE)["client_id"]
        before = in_hydra(ory, cid)
        response = api.call("PATCH", f"/{cid}", body=[{"op": "replace", "path": path, "value": "x"}])
        assert response.status_code == 400
        assert "cannot be changed" in json.dumps(response.json()["fields"])
        assert in_hydra(ory, cid) == before

    def test_it_refuses_a_patch_that_leaves_the_client_invalid(self, ory, api):
        cid = api.create(SIMPLE)["client_id"]
        response = api.call(
            "PATCH", f"/{cid}", body=[{"op": "add", "path": "/grant_types/-", "value": "implicit"}]
        )
        assert response.status_code == 400  # implicit needs a redirect URI
        assert "redirect URI" in response.json()["fields"]["redirect_uris"][0]
        assert in_hydra(ory, cid)["grant_types"] == ["client_credentials"]

    def test_it_refuses_a_patch_that_does_not_apply(self, ory, api):
        cid = api.create(SIMPLE)["client_id"]
        response = api.call("PATCH", f"/{cid}", body=[{"op": "remove", "path": "/nonexistent"}])
        assert response.status_code == 400 and "does not apply" in response.json()["fields"]["__all__"][0]

    def test_it_detects_a_concurrent_edit(self, ory, api):
        cid = api.create(SIMPLE)["client_id"]
        stale = api.call("GET", f"/{cid}")["ETag"]
        assert (
            api.call("PUT", f"/{cid}", body={"scope": "one"}, headers={"If-Match": stale}).status_code == 200
        )
        response = api.call("PUT", f"/{cid}", body={"scope": "two"}, headers={"If-Match": stale})
        assert response.status_code == 412 and response.json()["error"] == "precondition_failed"
        assert in_hydra(ory, cid)["scope"] == "one"


class TestTokenConfig:
    def test_it_maps_ttls_onto_per_grant_lifespans(self, ory, api):
        cid = api.create({**FULL, "subject_type": "public"})["client_id"]
        body = {
            "access_token_ttl": 900,
            "refresh_token_ttl": 86400,
            "id_token_ttl": 300,
            "lifespans": {"client_credentials_grant_access_token_lifespan": 60},
            "access_token_strategy": "jwt",
            "backchannel_logout_uri": "https://app.example.com/bc2",
        }
        response = api.call("PATCH", f"/{cid}/token-config", body=body)
        assert response.status_code == 200, response.content
        stored = in_hydra(ory, cid)
        assert stored["authorization_code_grant_access_token_lifespan"] == "15m0s"
        assert stored["refresh_token_grant_refresh_token_lifespan"] == "24h0m0s"
        assert stored["authorization_code_grant_id_token_lifespan"] == "5m0s"
        assert (
            stored["client_credentials_grant_access_token_lifespan"] == "1m0s"
        )  # the matrix wins over the TTL
        assert stored["access_token_strategy"] == "jwt"
        assert stored["backchannel_logout_uri"] == "https://app.example.com/bc2"
        assert stored["client_name"] == FULL["client_name"]
        assert response.json()["lifespans_seconds"]["client_credentials_grant_access_token_lifespan"] == 60

    def test_it_issues_jwt_access_tokens_with_the_configured_lifespan(self, ory, api):
        created = api.create(SIMPLE)
        cid = created["client_id"]
        api.call(
            "PATCH", f"/{cid}/token-config", body={"access_token_ttl": 120, "access_token_strategy": "jwt"}
        )
        issued = token(ory, cid, created["client_secret"]).json()
        assert issued["access_token"].count(".") == 2  # a JWT, not an opaque ory_at_ token
        assert issued["expires_in"] in (119, 120)

    def test_it_resets_a_lifespan_to_the_global_default(self, ory, api):
        cid = api.create(SIMPLE)["client_id"]
        api.call("PATCH", f"/{cid}/token-config", body={"access_token_ttl": 120})
        api.call(
            "PATCH",
            f"/{cid}/token-config",
            body={"lifespans": {"client_credentials_grant_access_token_lifespan": None}},
        )
        assert in_hydra(ory, cid)["client_credentials_grant_access_token_lifespan"] is None

    def test_it_rejects_unknown_lifespans_and_bad_ttls(self, ory, api):
        cid = api.create(SIMPLE)["client_id"]
        before = in_hydra(ory, cid)
        bad = api.call(
            "PATCH", f"/{cid}/token-config", body={"access_token_ttl": -5, "lifespans": {"nope": 1}}
        )
        assert bad.status_code == 400
        assert set(bad.json()["fields"]) == {"access_token_ttl", "lifespans"}
        assert in_hydra(ory, cid) == before


class TestSecretAndDelete:
    def test_it_rotates_the_secret_and_the_old_one_stops_working(self, ory, api):
        created = api.create(SIMPLE)
        cid, old = created["client_id"], created["client_secret"]
        assert token(ory, cid, old).status_code == 200
        response = api.call("POST", f"/{cid}/secret")
        assert response.status_code == 200 and response["Cache-Control"] == "no-store"
        new = response.json()["client_secret"]
        assert len(new) >= 64 and new != old
        assert token(ory, cid, new).status_code == 200
        assert token(ory, cid, old).status_code == 401
        event = AuditEvent.objects.get(action="oauth2.client.rotate_secret")
        assert new not in json.dumps(event.after) and event.after["client_secret"] == "[redacted]"
        assert "client_secret" not in api.call("GET", f"/{cid}").json()

    def test_it_refuses_to_rotate_a_public_clients_secret(self, ory, api):
        body = {
            **SIMPLE,
            "grant_types": ["authorization_code"],
            "redirect_uris": ["https://a.example/cb"],
            "token_endpoint_auth_method": "none",
        }
        cid = api.create(body)["client_id"]
        assert api.call("POST", f"/{cid}/secret").status_code == 400

    def test_it_deletes_a_client_and_its_tokens(self, ory, api):
        created = api.create(SIMPLE)
        access = token(ory, created["client_id"], created["client_secret"]).json()["access_token"]
        response = api.call("DELETE", f"/{created['client_id']}?delete_tokens=true")
        assert response.status_code == 204
        assert in_hydra(ory, created["client_id"], may_be_gone=True) is None
        active = requests.post(
            f"{ory.hydra_admin_url}/admin/oauth2/introspect", data={"token": access}, timeout=10
        )
        assert active.json()["active"] is False
        event = AuditEvent.objects.get(action="oauth2.client.delete")
        assert event.after == {"deleted": True, "tokens_deleted": True}


class TestOtherTenants:
    @pytest.mark.parametrize(
        ("method", "suffix", "body"),
        [
            ("GET", "", None),
            ("PUT", "", {"client_name": "x"}),
            ("PATCH", "", []),
            ("DELETE", "", None),
            ("POST", "/secret", None),
            ("PATCH", "/token-config", {"access_token_ttl": 60}),
        ],
    )
    def test_it_answers_404_and_leaves_hydra_alone(
        self, ory, client, api, other_tenant, make_api_key, method, suffix, body
    ):
        cid = api.create(SIMPLE)["client_id"]
        before = in_hydra(ory, cid)
        data = json.dumps(body) if body is not None else ""
        response = client.generic(
            method,
            f"/v1/oauth2/clients/{cid}{suffix}",
            data,
            content_type="application/json",
            headers={"apikey": make_api_key(other_tenant)},
        )
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "message": "No such client."}
        assert in_hydra(ory, cid) == before


class TestLinterAndTokens:
    def test_it_adds_the_security_linters_findings_to_the_create_answer(self, api):
        created = api.create({**SIMPLE, "token_endpoint_auth_method": "client_secret_post"})
        assert any(w.startswith("Secret sent in the request body") for w in created["warnings"]), created
        clean = api.create(SIMPLE)
        assert not any("Secret sent in the request body" in w for w in clean["warnings"])

    def test_it_revokes_a_clients_access_tokens_and_keeps_the_client(self, ory, api, tenant):
        created = api.create(SIMPLE)
        access = token(ory, created["client_id"], created["client_secret"]).json()["access_token"]

        def active():
            found = requests.post(
                f"{ory.hydra_admin_url}/admin/oauth2/introspect", data={"token": access}, timeout=10
            )
            return found.json()["active"]

        assert active()
        response = api.call("POST", f"/{created['client_id']}/tokens/revoke")
        assert response.status_code == 204, response.content
        assert not active()
        assert in_hydra(ory, created["client_id"]) is not None
        event = AuditEvent.objects.filter(action="oauth2.client.revoke_tokens", target=created["client_id"])
        assert [e.outcome for e in event] == [AuditEvent.Outcome.SUCCESS]

    def test_it_answers_404_for_revoking_another_tenants_client_tokens(self, ory, api, make_hydra_client):
        foreign = make_hydra_client(owner="truss:someone-else")
        response = api.call("POST", f"/{foreign['client_id']}/tokens/revoke")
        assert response.status_code == 404


class TestPageTokens:
    def test_it_pages_with_its_own_tokens_and_refuses_others(
        self, ory, api, tenant, make_hydra_client, other_tenant, make_api_key, client
    ):
        for i in range(3):
            make_hydra_client(owner=tenant.hydra_owner, client_name=f"paged-{i}")
        first = api.call("GET", "?page_size=2").json()
        second = api.call("GET", f"?page_size=2&page_token={first['next_page_token']}").json()
        names = {c["client_name"] for c in first["items"] + second["items"]}
        assert {"paged-0", "paged-1", "paged-2"} <= names
        for forged in ("eyJvZmZzZXQiOiIyNSIsInYiOjJ9", "[Filtered]", first["next_page_token"][:-2] + "xx"):
            response = api.call("GET", f"?page_token={forged}")
            assert response.status_code == 400, forged
            assert "page_token" in response.json()["fields"]
        # Another tenant's token (valid signature, other tenant) is not accepted either.
        other_key = {"apikey": make_api_key(other_tenant)}
        foreign = client.get(f"/v1/oauth2/clients?page_token={first['next_page_token']}", headers=other_key)
        assert foreign.status_code == 400
