"""An operator finds Jane by email in Chromium, sees her consent, revokes it and sees it gone."""

from __future__ import annotations

import uuid

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_finds_jane_sees_her_consent_revokes_it_and_sees_it_gone(
    page, signed_in_as, ory, make_operator, tenant, make_app, grant, make_identity, in_hydra, active
):
    jane = make_identity(email=f"jane-{uuid.uuid4().hex[:6]}@example.test", name="Jane Doe")
    app = make_app(tenant, client_name="Jane's Photo App")
    tokens = grant(app, jane["id"], scope="openid email offline_access")
    signed_in_as(make_operator(tenant, "member", username="mo"))

    page.click("nav >> text=Consent")
    page.wait_for_selector("h1:has-text('Consent')")
    page.fill("#id_q", jane["email"])
    page.click("button:has-text('Find')")
    page.wait_for_selector(f"h1:has-text('{jane['email']}')")
    row = page.locator(f"tr[data-client='{app['client_id']}']")
    assert "Jane's Photo App" in row.inner_text() and "offline_access" in row.inner_text()
    assert "Jane Doe" in page.inner_text("main")

    row.locator("text=Revoke…").click()
    page.wait_for_selector("text=revokes every access and refresh token")
    page.click("button:has-text('Revoke consent')")
    page.wait_for_selector("text=Revoked consent for Jane's Photo App")
    page.wait_for_selector("text=no consent with your clients any more")
    assert in_hydra(jane["id"]) == [] and not active(tokens["refresh_token"])
    page.fill("#id_q", jane["email"])
    page.expected_statuses.add(404)
    page.click("button:has-text('Find')")
    page.wait_for_selector("#no-person")
