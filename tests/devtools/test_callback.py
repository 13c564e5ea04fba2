"""The demo client's callback page (public), `manage.py seed_demo`'s client, and a demo sign-in in Chromium."""

from __future__ import annotations

import io
import secrets
from urllib.parse import urlencode

import pytest
import requests
from django.core.management import call_command
from django.test import Client

from tests.bridge.test_browser import assert_accessible, sign_in
from truss.management.commands import seed_demo
from truss.ory import hydra


def test_it_shows_the_code_masked_with_its_state(client: Client):
    code = "ory_ac_" + "x" * 80
    response = client.get("/console/devtools/callback", {"code": code, "state": "st4te", "scope": "openid"})
    body = response.content.decode()
    assert response.status_code == 200 and "the application got a code" in body
    assert code not in body and "ory_ac…" in body and "st4te" in body
    assert response["Cache-Control"] == "no-store" and response["Referrer-Policy"] == "no-referrer"
    assert (
        response["X-Frame-Options"] == "DENY"
        and "frame-ancestors 'none'" in response["Content-Security-Policy"]
    )


def test_it_explains_an_oauth_error_in_plain_words_without_an_operator_login(client: Client):
    response = client.get(
        "/console/devtools/callback",
        {
            "error": "access_denied",
            "error_description": "The resource owner denied the request",
            "state": "s",
        },
    )
    body = response.content.decode()
    assert response.status_code == 200 and "refused: the application got no access" in body
    assert "access_denied" in body and "/login/" not in response.get("Location", "")
    odd = client.get("/console/devtools/callback", {"error": "<script>x</script>"}).content.decode()
    assert "<script>x" not in odd and "unknown_error" in odd


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_points_the_demo_client_at_the_callback_and_fixes_an_old_one_on_reseed(ory, settings):
    settings.TRUSS_PUBLIC_URL = "http://127.0.0.1:8000"
    for old in hydra.list_clients(
        owner="truss:demo", client_name=seed_demo.DEMO_CLIENT_NAME, page_size=50
    ).items:
        hydra.delete_client(old.client_id)
    stale = hydra.create_client(
        {
            "client_name": seed_demo.DEMO_CLIENT_NAME,
            "owner": "truss:demo",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": ["http://127.0.0.1:8000/callback", "myapp://cb"],
            "scope": "openid",
            "token_endpoint_auth_method": "client_secret_basic",
        }
    )
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    fixed = hydra.get_client(stale.client_id)
    assert fixed.redirect_uris == ["http://127.0.0.1:8000/console/devtools/callback", "myapp://cb"]
    assert "http://127.0.0.1:8000/console/devtools/callback" in out.getvalue()
    call_command("seed_demo", stdout=io.StringIO())  # idempotent: nothing to fix the second time
    assert hydra.get_client(stale.client_id).redirect_uris == fixed.redirect_uris
    hydra.delete_client(stale.client_id)  # the stack is shared: leave no odd demo client behind


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_demo_sign_in_ends_on_a_truss_page_showing_the_code(page, ory, live_server, settings):
    settings.TRUSS_PUBLIC_URL = live_server.url
    call_command("seed_demo", stdout=io.StringIO())  # what `make run` seeds
    client = hydra.list_clients(
        owner="truss:demo", client_name=seed_demo.DEMO_CLIENT_NAME, page_size=1
    ).items[0]
    callback = seed_demo.demo_callback_url()
    assert callback in client.redirect_uris
    state = secrets.token_urlsafe(12)
    params = {
        "client_id": client.client_id,
        "response_type": "code",
        "redirect_uri": callback,
        "scope": "openid profile email",
        "state": state,
    }
    page.goto(f"{ory.hydra_public_url}/oauth2/auth?{urlencode(params)}")
    sign_in(page, {"email": seed_demo.DEMO_USER_EMAIL, "password": seed_demo.DEMO_USER_PASSWORD})
    page.wait_for_selector("button[value=accept]")
    assert seed_demo.DEMO_CLIENT_NAME in page.inner_text("h1")
    page.click("button[value=accept]")
    page.wait_for_url(f"{callback}?**")
    assert page.inner_text("h1") == "Signed in: the application got a code"
    assert state in page.inner_text("main") and page.locator("[data-testid=code]").inner_text().endswith(
        "characters)"
    )
    assert_accessible(page)
    # The page is Truss's own, not a debug 404, and answers without an operator login.
    assert requests.get(page.url, timeout=10).status_code == 200


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_demo_sign_in_started_from_the_flow_tester_ends_on_the_callback_with_verified_tokens(
    page, ory, live_server, signed_in_as, settings
):
    settings.TRUSS_PUBLIC_URL = live_server.url
    call_command("seed_demo", stdout=io.StringIO())
    client = hydra.list_clients(
        owner="truss:demo", client_name=seed_demo.DEMO_CLIENT_NAME, page_size=1
    ).items[0]
    secret = "demo-secret-" + secrets.token_urlsafe(16)  # the printed one is shown once: set a known one
    hydra.patch_client(client.client_id, [{"op": "replace", "path": "/client_secret", "value": secret}])
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    signed_in_as("demo", "demo-operator-pw")  # the operator seed_demo makes
    page.click("nav >> text=Flow tester")
    page.wait_for_selector("h1:has-text('Flow tester')")
    assert_accessible(page)
    page.select_option("#id_client", client.client_id)
    page.click("text=Build the authorization URL")
    page.wait_for_selector("h2:has-text('1. Authorization request')")
    assert_accessible(page)
    page.click("[data-testid=open-authorization]")
    sign_in(page, {"email": seed_demo.DEMO_USER_EMAIL, "password": seed_demo.DEMO_USER_PASSWORD})
    page.wait_for_selector("button[value=accept]")
    page.click("button[value=accept]")
    page.wait_for_url(f"{seed_demo.demo_callback_url()}?**")
    page.wait_for_selector("text=state matches")
    page.fill("#id_secret", secret)
    page.click("text=Exchange the code for tokens")
    page.wait_for_selector("[data-testid=id-token-verdict]")
    assert page.url.startswith(seed_demo.demo_callback_url() + "?state=")
    assert page.inner_text("[data-testid=id-token-verdict]").startswith("verified")
    assert seed_demo.DEMO_USER_EMAIL in page.inner_text("[data-testid=userinfo]")
    assert secret not in page.content()
    assert_accessible(page)
    assert violations == []
