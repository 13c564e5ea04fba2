"""An operator manages a client in Debian's Chromium: create with two redirect URIs, edit, rotate, delete."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.fixtures.ory import in_hydra

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator_page(signed_in_as, ory, make_operator, tenant):
    return signed_in_as(make_operator(tenant, "member", username="mia"))


def test_it_creates_edits_rotates_and_deletes_a_client(operator_page, ory, tenant, settings):
    settings.DEBUG = (
        True  # as under `make run`: no CSP violation after a failed submit (django-htmx.js evals)
    )
    page = operator_page
    page.click("nav >> text=Clients")
    page.wait_for_selector("text=No clients yet")
    page.click("text=Create your first client")
    page.wait_for_selector("h1:has-text('New OAuth2 client')")
    assert not page.is_visible("#id_jwks_uri")  # private_key_jwt only
    page.check("input[name=token_endpoint_auth_method][value=private_key_jwt]")
    assert page.is_visible("#id_jwks_uri")
    page.check("input[name=token_endpoint_auth_method][value=client_secret_basic]")
    assert not page.is_visible("#id_jwks_uri")

    page.fill("#id_client_name", "Browser app")
    rows = page.locator("#id_redirect_uris input")
    notes = page.locator("#id_redirect_uris .row-note")
    # Checked as you type by the server (console:clients:check_uris), with the submit's own rules.
    rows.nth(0).fill("https://app.example.com/cb#oops")
    expect(page.locator("#id_redirect_uris-note-0")).to_contain_text("fragment")
    expect(rows.nth(0)).to_have_attribute("aria-invalid", "true")
    rows.nth(0).fill("http://app.example.com/cb")
    expect(page.locator("#id_redirect_uris-note-0")).to_contain_text("plain http")
    rows.nth(0).fill("not a url")
    expect(page.locator("#id_redirect_uris-note-0")).to_contain_text("absolute URI")
    rows.nth(0).fill("https://app.example.com/cb")
    expect(page.locator("#id_redirect_uris-note-0")).to_have_text("")
    expect(rows.nth(0)).not_to_have_attribute(
        "aria-invalid", "true"
    )  # waits: the check answers asynchronously
    page.click("#id_redirect_uris .add-row")
    page.locator("#id_redirect_uris input").nth(1).fill("https://app.example.com/cb")
    expect(page.locator("#id_redirect_uris-note-1")).to_contain_text("duplicate")
    page.locator("#id_redirect_uris input").nth(1).fill("https://app.example.com/other")
    expect(page.locator("#id_redirect_uris-note-1")).to_have_text("")
    page.check("input[name=grant_types][value=client_credentials]")
    page.expected_statuses.add(400)
    page.fill("#id_metadata", "[not json")
    page.click("button:has-text('Create client')")
    page.wait_for_selector(
        "text=Nothing was saved: fix the fields marked below."
    )  # a 400 is shown, not dropped
    assert "not valid JSON" in page.inner_text(".field.invalid")
    assert page.locator("#id_redirect_uris input").nth(1).input_value() == "https://app.example.com/other"
    assert not page.is_visible("#id_jwks_uri")  # still hidden for a client_secret client after the error
    assert page.locator("#id_redirect_uris input[aria-invalid=true]").count() == 0  # the empty row is fine
    assert notes.count() == 3
    page.fill("#id_metadata", "")
    page.click("button:has-text('Create client')")

    page.wait_for_selector("text=Copy the client secret now")
    client_id = page.inner_text("#client-id")
    first_secret = page.input_value("#client-secret")
    stored = in_hydra(ory, client_id)
    assert stored["redirect_uris"] == ["https://app.example.com/cb", "https://app.example.com/other"]
    assert stored["owner"] == tenant.hydra_owner
    assert page.url.endswith(f"/console/clients/{client_id}/")
    page.check("#client-secret-ack")  # the page is left only once the secret is acknowledged

    page.click("a:has-text('Edit')")
    page.wait_for_selector("h1:has-text('Edit')")
    page.fill("#id_client_name", "Browser app v2")
    page.locator("#id_redirect_uris .remove-row").nth(1).click()
    page.click("button:has-text('Save changes')")
    page.wait_for_selector("text=Saved “Browser app v2”.")
    stored = in_hydra(ory, client_id)
    assert stored["client_name"] == "Browser app v2"
    assert stored["redirect_uris"] == ["https://app.example.com/cb"]

    page.on("dialog", lambda dialog: pytest.fail(f"window.{dialog.type} used: {dialog.message}"))
    page.click("a:has-text('Rotate secret…')")
    page.wait_for_selector("h1:has-text('Rotate the secret')")
    page.click("a:has-text('Cancel')")
    page.wait_for_selector("h1:has-text('Browser app v2')")
    page.click("a:has-text('Rotate secret…')")
    page.click("button:has-text('Rotate secret')")
    page.wait_for_selector("text=The previous secret no longer works.")
    second_secret = page.input_value("#client-secret")
    assert second_secret != first_secret
    token = requests.post(
        f"{ory.hydra_public_url}/oauth2/token",
        auth=(client_id, second_secret),
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    assert token.status_code == 200
    page.click("button:has-text('Copy')")  # after a rotation: copying works, nothing violates the CSP
    page.check("#client-secret-ack")

    page.click("a:has-text('Delete…')")
    page.wait_for_selector("text=deletes its access and refresh tokens with it")
    page.fill("#id_confirm", "Browser app v2")
    page.click("button:has-text('Delete client')")
    page.wait_for_selector("text=Deleted “Browser app v2”.")
    assert in_hydra(ory, client_id, may_be_gone=True) is None
