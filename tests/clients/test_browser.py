"""An operator manages a client in Debian's Chromium: create with two redirect URIs, edit, rotate, delete."""

from __future__ import annotations

import pytest
import requests

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def in_hydra(ory, client_id):
    response = requests.get(f"{ory.hydra_admin_url}/admin/clients/{client_id}", timeout=10)
    return response.json() if response.status_code == 200 else None


@pytest.fixture
def operator_page(page, live_server, ory, make_operator, tenant):
    make_operator(tenant, "member", username="mia")
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "mia")
    page.fill("#id_password", "pw-for-tests-123")
    page.press("#id_password", "Enter")
    page.wait_for_selector("text=Start here")
    return page


def test_it_creates_edits_rotates_and_deletes_a_client(operator_page, ory, tenant):
    page = operator_page
    page.click("nav >> text=Clients")
    page.wait_for_selector("text=No clients yet")
    page.click("text=Create your first client")
    page.wait_for_selector("h1:has-text('New OAuth2 client')")

    page.fill("#id_client_name", "Browser app")
    rows = page.locator("#id_redirect_uris input")
    rows.nth(0).fill("https://app.example.com/cb#oops")
    assert "fragment" in page.locator("#id_redirect_uris .row-note").first.inner_text()  # checked as you type
    rows.nth(0).fill("http://app.example.com/cb")
    assert "Plain http" in page.locator("#id_redirect_uris .row-note").first.inner_text()
    rows.nth(0).fill("https://app.example.com/cb")
    page.click("#id_redirect_uris .add-row")
    page.locator("#id_redirect_uris input").nth(1).fill("https://app.example.com/cb")
    assert "Duplicate" in page.locator("#id_redirect_uris .row-note").nth(1).inner_text()
    page.locator("#id_redirect_uris input").nth(1).fill("https://app.example.com/other")
    page.check("input[name=grant_types][value=client_credentials]")
    page.expected_statuses.add(400)
    page.fill("#id_metadata", "[not json")
    page.click("button:has-text('Create client')")
    page.wait_for_selector(
        "text=Nothing was saved: fix the fields marked below."
    )  # a 400 is shown, not dropped
    assert "Not valid JSON" in page.inner_text(".field.invalid")
    assert page.locator("#id_redirect_uris input").nth(1).input_value() == "https://app.example.com/other"
    page.fill("#id_metadata", "")
    page.click("button:has-text('Create client')")

    page.wait_for_selector("text=Copy the client secret now")
    client_id = page.inner_text("#client-id")
    first_secret = page.input_value("#client-secret")
    stored = in_hydra(ory, client_id)
    assert stored["redirect_uris"] == ["https://app.example.com/cb", "https://app.example.com/other"]
    assert stored["owner"] == tenant.hydra_owner
    assert page.url.endswith(f"/console/clients/{client_id}/")

    page.click("a:has-text('Edit')")
    page.wait_for_selector("h1:has-text('Edit')")
    page.fill("#id_client_name", "Browser app v2")
    page.locator("#id_redirect_uris .remove-row").nth(1).click()
    page.click("button:has-text('Save changes')")
    page.wait_for_selector("text=Saved “Browser app v2”.")
    stored = in_hydra(ory, client_id)
    assert stored["client_name"] == "Browser app v2"
    assert stored["redirect_uris"] == ["https://app.example.com/cb"]

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button:has-text('Rotate secret')")
    page.wait_for_selector("text=The previous secret no longer works.")
    second_secret = page.input_value("#client-secret")
    assert second_secret != first_secret
    token = requests.post(f"{ory.hydra_public_url}/oauth2/token", auth=(client_id, second_secret),
                          data={"grant_type": "client_credentials"}, timeout=10)  # fmt: skip
    assert token.status_code == 200

    page.click("a:has-text('Delete…')")
    page.fill("#id_confirm", "Browser app v2")
    page.click("button:has-text('Delete client')")
    page.wait_for_selector("text=Deleted “Browser app v2”.")
    assert in_hydra(ory, client_id) is None
