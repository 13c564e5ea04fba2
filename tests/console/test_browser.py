"""The console in a real browser: sign-in, boosted navigation, API keys, confirmations."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.browser import eventually
from truss.models import ApiKey

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def signed_in(signed_in_as, ory, make_operator, tenant):
    return signed_in_as(make_operator(tenant, "admin", username="ada"), start="/console/")


def test_it_navigates_the_console_without_full_reloads(signed_in, live_server):
    page = signed_in
    page.evaluate("window.__marker = 'same-document'")
    page.click("nav >> text=Discovery")
    page.wait_for_selector("h1:has-text('Discovery')")
    assert page.url.endswith("/console/discovery/")
    assert page.get_attribute("nav >> text=Discovery", "aria-current") == "page"
    assert page.evaluate("window.__marker") == "same-document"  # htmx boost swapped, no reload
    page.click("nav >> text=Signing keys")
    page.wait_for_selector("h1:has-text('Signing keys')")
    assert page.locator("tbody tr").count() >= 1
    page.click("nav >> text=Audit log")
    page.wait_for_selector("h1:has-text('Audit log')")
    page.go_back()
    page.wait_for_selector("h1:has-text('Signing keys')")


def test_it_creates_shows_once_and_revokes_an_api_key(signed_in, tenant, settings):
    settings.DEBUG = True  # as under `make run`
    page = signed_in
    page.click("nav >> text=API keys")
    page.fill("#id_name", "deploy bot")
    page.select_option("#id_role", "service_role")
    page.click("button:has-text('Create key')")
    page.wait_for_selector("text=This is the only time the key is shown.")
    raw = page.input_value("#new-key")
    assert re.fullmatch(r"truss_sk_[A-Za-z0-9]{48}", raw)
    assert page.url.endswith("/console/api-keys/")

    page.check("#new-key-ack")  # the page is left only once the key is acknowledged
    page.on("dialog", lambda dialog: pytest.fail(f"window.{dialog.type} used: {dialog.message}"))
    page.click("a:has-text('Revoke…')")  # the confirmation page, as for deleting a client
    page.wait_for_selector("h1:has-text('Revoke the API key')")
    page.click("a:has-text('Cancel')")  # changing one's mind keeps the key
    page.wait_for_selector("h1:has-text('API keys')")
    assert ApiKey.objects.get(tenant=tenant).revoked_at is None

    page.click("a:has-text('Revoke…')")
    page.wait_for_selector("h1:has-text('Revoke the API key')")
    # The boosted page settles, then puts the keyboard at its start (static/js/truss.js): wait for that first.
    assert eventually(page, "document.activeElement && document.activeElement.id === 'content'")
    page.keyboard.press("Tab")
    page.focus("button:has-text('Revoke key')")
    page.keyboard.press("Enter")  # keyboard-friendly
    page.wait_for_selector("text=revoked. Requests using it now get 401.")
    assert ApiKey.objects.get(tenant=tenant).revoked_at is not None
    page.reload()
    assert raw not in page.content()


def test_it_renders_the_api_docs_under_the_strict_csp(page, live_server):
    page.goto(f"{live_server.url}/api/docs")
    page.get_by_text("/v1/oauth2/discovery", exact=True).wait_for()
    assert page.locator(".opblock").count() >= 8


def test_it_shows_a_failed_form_submit_without_csp_violations(signed_in, settings):
    settings.DEBUG = (
        True  # under DEBUG django-htmx.js used to eval() after every 4xx: an unsafe-eval violation
    )
    page = signed_in
    page.expected_statuses.add(400)
    page.click("nav >> text=API keys")
    page.wait_for_selector("h1:has-text('API keys')")
    page.evaluate("document.querySelector('#id_role').innerHTML = '<option value=\\'superuser\\'>x</option>'")
    page.click("button:has-text('Create key')")
    page.wait_for_selector(".field.invalid")
    assert page.url.endswith("/console/api-keys/")
    assert page.is_visible(
        "h1:has-text('API keys')"
    )  # the 400 page was swapped in, not replaced by a debug page
