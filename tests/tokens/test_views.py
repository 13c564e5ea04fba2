"""The Tokens page: introspection made readable, revocation, CSRF, no-store, isolation."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.tokens.conftest import cc_token, introspect_at_hydra
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_shows_a_users_token_with_email_client_scopes_and_times(user_tokens, console):
    tokens = user_tokens()
    page = console("viewer").post("/console/tokens/", {"token": tokens["access_token"]})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    text = page.content.decode()
    assert tokens["person"]["email"] in text and tokens["person"]["id"] in text
    assert (
        f"/console/clients/{tokens['client']['client_id']}/" in text
        and tokens["client"]["client_name"] in text
    )
    for scope in ("openid", "email", "offline_access"):
        assert f'<span class="badge">{scope}</span>' in text
    assert "(in 59 minutes" in text or "(in 1 hour" in text  # relative expiry next to the absolute time
    assert 'datetime="' in text and " UTC</time>" in text
    assert 'id="token-use">access_token' in text and "opaque" in text


def test_it_decodes_a_jwt_access_token_and_checks_its_signature(ory, console, cc_client):
    token = cc_token(ory, cc_client(access_token_strategy="jwt"))
    text = console("viewer").post("/console/tokens/", {"token": token}).content.decode()
    assert "signature valid" in text and "Decoded JWT" in text
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    text = console("viewer").post("/console/tokens/", {"token": tampered}).content.decode()
    assert 'id="token-state">inactive' in text and "Decoded JWT" not in text


def test_it_shows_another_tenants_token_as_inactive_without_any_of_its_fields(
    ory, console, cc_client, other_tenant
):
    app = cc_client(owner=other_tenant.hydra_owner, access_token_strategy="jwt")
    token = cc_token(ory, app)
    text = console("admin").post("/console/tokens/", {"token": token}).content.decode()
    assert 'id="token-state">inactive' in text
    assert app["client_id"] not in text and "Decoded JWT" not in text and "Revoke token" not in text


def test_it_revokes_from_the_page_and_then_shows_the_token_inactive(
    user_tokens, console, live_bridge, tenant
):
    tokens = user_tokens()
    member = console("member")
    page = member.post("/console/tokens/", {"token": tokens["access_token"]})
    assert "Revoke token" in page.content.decode()
    done = member.post("/console/tokens/revoke", {"token": tokens["access_token"], "confirmed": "True"})
    assert done.status_code == 200
    text = done.content.decode()
    assert "Token revoked" in text and "consent" in text and 'id="token-state">inactive' in text
    assert introspect_at_hydra(live_bridge, tokens["refresh_token"]) == {"active": False}
    event = AuditEvent.objects.get(action="oauth2.token.revoke", tenant=tenant)
    assert tokens["access_token"] not in json.dumps([event.target, event.after, event.detail])


def test_it_needs_a_csrf_token_for_every_form(ory, make_operator, tenant, cc_client):
    token = cc_token(ory, cc_client())
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_operator(tenant, "admin"))
    for path in ("/console/tokens/", "/console/tokens/revoke", "/console/tokens/cleanup"):
        assert browser.post(path, {"token": token}).status_code == 403
    assert (
        browser.post(
            "/api/hydra/revoke", json.dumps({"token": token}), content_type="application/json"
        ).status_code
        == 403
    )
    assert introspect_at_hydra(ory, token)["active"] is True
    get = browser.get("/console/tokens/")
    assert 'method="post"' in get.content.decode() and "csrfmiddlewaretoken" in get.content.decode()


def test_it_explains_a_bad_token_field(ory, console):
    page = console("viewer").post("/console/tokens/", {"token": "two words"})
    assert page.status_code == 400 and "no spaces" in page.content.decode()


def test_it_shows_unavailable_instead_of_failing_when_hydra_is_down(hydra_down, console):
    page = console("viewer").post("/console/tokens/", {"token": "ory_at_x.y"})
    assert page.status_code == 503


def test_the_token_never_appears_in_a_url(ory, console, cc_client):
    token = cc_token(ory, cc_client())
    text = console("member").get("/console/tokens/").content.decode()
    assert 'action="/console/tokens/"' in text and 'method="get"' not in text
    requests_seen = console("member").post("/console/tokens/", {"token": token}, follow=True)
    assert all(token not in url for url, _ in requests_seen.redirect_chain)
