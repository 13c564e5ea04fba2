"""An operator introspects a real token on the Tokens page in Debian's Chromium (strict CSP, no console errors)."""

from __future__ import annotations

import pytest

from tests.tokens.conftest import cc_token, introspect_at_hydra

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_introspects_and_revokes_a_token_on_the_tokens_page(
    page, live_server, signed_in_as, ory, make_operator, tenant, cc_client
):
    app = cc_client(access_token_strategy="jwt", client_name="Billing worker")
    token = cc_token(ory, app)
    signed_in_as(make_operator(tenant, "member", username="tia"))

    page.get_by_role("navigation").get_by_role("link", name="Tokens", exact=True).click()
    page.wait_for_selector("h1:has-text('Tokens')")
    page.fill("#id_token", token)
    page.click("button:has-text('Introspect')")
    page.wait_for_selector("#token-state:has-text('active')")
    assert page.url == f"{live_server.url}/console/tokens/"  # the token went in the body, not the URL
    assert "Billing worker" in page.inner_text("#token-client")
    assert "client credentials" in page.inner_text("#token-subject")
    assert "UTC" in page.inner_text("#token-expires") and "in " in page.inner_text("#token-expires")
    assert "signature valid" in page.inner_text("#jwt-signature")
    assert app["client_id"] in page.inner_text("#jwt-payload")

    page.click("button:has-text('Revoke token…')")
    page.fill("#id_confirm", "Billing worker")  # the confirmation page: every access token of the client
    page.click("button:has-text('Delete all access tokens')")
    page.wait_for_selector("#revoked:has-text('Token revoked')")
    assert page.inner_text("#token-state") == "inactive"
    assert introspect_at_hydra(ory, token) == {"active": False}
