"""Introspection and revocation through Truss's JSON API, always checked against Hydra's own introspection."""

from __future__ import annotations

import json
import time

import pytest
import requests

from tests.tokens.conftest import cc_token, introspect_at_hydra, refresh_at_hydra
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

INACTIVE = b'{"active": false}'


@pytest.fixture
def key(make_api_key, tenant):
    return make_api_key(tenant)


class TestIntrospect:
    def test_it_introspects_an_own_token_with_its_fields_under_both_prefixes(
        self, ory, call, console, key, cc_client
    ):
        app = cc_client()
        token = cc_token(ory, app)
        for response in (
            call("/v1/oauth2/introspect", {"token": token}, apikey=key),
            call("/api/hydra/introspect", {"token": token}, as_client=console("viewer")),
        ):
            assert response.status_code == 200, response.content
            body = response.json()
            assert body["active"] is True
            assert body["client_id"] == app["client_id"] == body["sub"]
            assert body["token_use"] == "access_token" and body["token_type"] == "Bearer"
            assert body["exp"] > body["iat"]
            assert response["Cache-Control"] == "no-store"

    def test_it_answers_exactly_inactive_for_another_tenants_token(
        self, ory, call, console, key, cc_client, other_tenant
    ):
        foreign = cc_token(ory, cc_client(owner=other_tenant.hydra_owner))
        outside = cc_token(ory, cc_client(owner=""))  # a client Truss does not manage
        assert introspect_at_hydra(ory, foreign)["active"] is True
        for token in (foreign, outside, "ory_at_never-issued.bogus"):
            api = call("/v1/oauth2/introspect", {"token": token}, apikey=key)
            session = call("/api/hydra/introspect", {"token": token}, as_client=console("admin"))
            assert (api.status_code, api.content) == (200, INACTIVE)
            assert (session.status_code, session.content) == (200, INACTIVE)

    def test_it_answers_inactive_for_an_own_token_after_it_expired(self, ory, call, key, cc_client):
        app = cc_client()
        requests.put(
            f"{ory.hydra_admin_url}/admin/clients/{app['client_id']}/lifespans",
            json={"client_credentials_grant_access_token_lifespan": "1s"},
            timeout=10,
        ).raise_for_status()
        token = cc_token(ory, app)
        time.sleep(1.5)
        assert call("/v1/oauth2/introspect", {"token": token}, apikey=key).content == INACTIVE

    @pytest.mark.parametrize(
        ("raw", "field"),
        [
            ("{}", "token"),
            ('{"token": ""}', "token"),
            ('{"token": "a b"}', "token"),
            ("[1]", "__all__"),
            ("{nope", "__all__"),
            ('{"token": "x", "extra": 1}', "extra"),
        ],
    )
    def test_it_explains_bad_input_with_field_messages(self, ory, call, key, raw, field):
        response = call("/v1/oauth2/introspect", raw=raw, apikey=key)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request" and response.json()["fields"][field]

    def test_it_answers_503_when_hydra_is_down(self, hydra_down, call, key):
        response = call("/v1/oauth2/introspect", {"token": "ory_at_x.y"}, apikey=key)
        assert response.status_code == 503 and response["Retry-After"]
        assert response.json()["error"] == "hydra_unavailable"


class TestRevoke:
    def test_it_revokes_a_users_access_and_refresh_token_by_revoking_consent(
        self, ory, call, key, user_tokens, tenant
    ):
        tokens = user_tokens()
        assert introspect_at_hydra(ory, tokens["access_token"])["active"] is True
        response = call("/v1/oauth2/revoke", {"token": tokens["access_token"]}, apikey=key)
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["methods"] == ["consent_revocation"] and body["subject"] == tokens["person"]["id"]
        assert "consent" in body["what_was_revoked"][0]
        assert response["Cache-Control"] == "no-store"
        assert introspect_at_hydra(ory, tokens["access_token"]) == {"active": False}
        assert introspect_at_hydra(ory, tokens["refresh_token"]) == {"active": False}
        refreshed = refresh_at_hydra(ory, tokens)
        assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant", refreshed.text

    def test_it_revokes_both_tokens_of_a_user_and_hydra_agrees(
        self, live_bridge, call, key, user_tokens, tenant
    ):
        tokens = user_tokens()
        assert introspect_at_hydra(live_bridge, tokens["refresh_token"])["active"] is True
        response = call("/v1/oauth2/revoke", {"token": tokens["refresh_token"]}, apikey=key)
        assert response.status_code == 200, response.content
        assert introspect_at_hydra(live_bridge, tokens["access_token"]) == {"active": False}
        assert introspect_at_hydra(live_bridge, tokens["refresh_token"]) == {"active": False}
        refreshed = refresh_at_hydra(live_bridge, tokens)
        assert refreshed.status_code in (400, 401)
        event = AuditEvent.objects.get(action="oauth2.token.revoke", tenant=tenant)
        assert event.outcome == "success" and event.target.startswith("sha256:")
        stored = json.dumps([event.target, event.after, event.detail])
        assert tokens["refresh_token"] not in stored and tokens["access_token"] not in stored

    def test_it_revokes_a_public_clients_grant_at_the_revocation_endpoint(
        self, live_bridge, call, console, user_tokens
    ):
        tokens = user_tokens(public=True)
        response = call("/api/hydra/revoke", {"token": tokens["access_token"]}, as_client=console("member"))
        assert response.status_code == 200, response.content
        assert response.json()["methods"] == ["public_client_revocation"]
        assert introspect_at_hydra(live_bridge, tokens["access_token"]) == {"active": False}
        assert introspect_at_hydra(live_bridge, tokens["refresh_token"]) == {"active": False}

    @pytest.mark.parametrize("strategy", ["opaque", "jwt"])
    def test_it_revokes_a_client_credentials_token_by_deleting_the_clients_access_tokens(
        self, ory, call, key, cc_client, strategy
    ):
        app = cc_client(access_token_strategy=strategy)
        first, second = cc_token(ory, app), cc_token(ory, app)
        other_client_token = cc_token(ory, cc_client())
        response = call("/v1/oauth2/revoke", {"token": first}, apikey=key)
        assert response.status_code == 200, response.content
        assert response.json()["methods"] == ["client_access_tokens_deleted"]
        assert introspect_at_hydra(ory, first) == {"active": False}
        assert introspect_at_hydra(ory, second) == {"active": False}  # as documented: all of the client's
        assert introspect_at_hydra(ory, other_client_token)["active"] is True

    def test_it_revokes_nothing_of_another_tenant(
        self, live_bridge, call, key, user_tokens, cc_client, other_tenant, tenant
    ):
        foreign_user = user_tokens(owner=other_tenant.hydra_owner)
        foreign_cc = cc_token(live_bridge, cc_client(owner=other_tenant.hydra_owner))
        for token in (foreign_user["access_token"], foreign_user["refresh_token"], foreign_cc):
            response = call("/v1/oauth2/revoke", {"token": token}, apikey=key)
            assert response.status_code == 404, response.content
            assert response.json()["error"] == "not_found"
            assert introspect_at_hydra(live_bridge, token)["active"] is True
        events = AuditEvent.objects.filter(action="oauth2.token.revoke", tenant=tenant)
        assert [e.outcome for e in events] == ["failure"] * 3

    def test_it_answers_404_for_an_unknown_token_like_for_a_foreign_one(self, ory, call, key):
        response = call("/v1/oauth2/revoke", {"token": "ory_at_unknown.token"}, apikey=key)
        assert response.status_code == 404 and response.json()["error"] == "not_found"

    def test_it_refuses_bad_input_audits_it_and_changes_nothing(self, ory, call, key, cc_client, tenant):
        token = cc_token(ory, cc_client())
        response = call("/v1/oauth2/revoke", {"token": token, "token_type_hint": "x"}, apikey=key)
        assert response.status_code == 400 and "token_type_hint" in response.json()["fields"]
        assert introspect_at_hydra(ory, token)["active"] is True
        event = AuditEvent.objects.get(action="oauth2.token.revoke", tenant=tenant)
        assert event.outcome == "failure" and token not in event.detail

    def test_it_answers_503_when_hydra_is_down_and_audits_the_failure(self, hydra_down, call, key, tenant):
        response = call("/v1/oauth2/revoke", {"token": "ory_at_x.y"}, apikey=key)
        assert response.status_code == 503
        assert AuditEvent.objects.get(action="oauth2.token.revoke", tenant=tenant).outcome == "failure"
