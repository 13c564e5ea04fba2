"""Boosted navigation behaves like a page load, in Debian's Chromium: new pages start at the top, a failed submit
focuses the error summary, a secret shown once stays in view until it is acknowledged; the JWT debugger forgets
the previous token when the input stops decoding."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.fixtures.browser import eventually

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

IN_VIEWPORT = """(selector) => {
  const r = document.querySelector(selector).getBoundingClientRect();
  return r.top > -1 && r.top < window.innerHeight && r.bottom > 0;  // sub-pixel rounding
}"""


@pytest.fixture
def signed_in(signed_in_as, ory, make_operator, tenant):
    return signed_in_as(make_operator(tenant, "admin", username="ada"), start="/console/")


def _boosted(page: Any, selector: str, start: str) -> None:
    page.wait_for_selector(selector)
    page.evaluate("window.__marker = 'same-document'")
    page.click(selector)
    page.wait_for_selector(start)
    assert page.evaluate("window.__marker") == "same-document"  # a boosted swap, not a page load


def test_it_starts_a_page_reached_from_the_bottom_of_a_long_page_at_the_top(signed_in, live_server):
    page = signed_in
    # A long page with a boosted link at its very bottom (the body keeps its height across the swap, so a
    # kept scroll position would stay far down on the next page).
    page.evaluate("""() => {
      document.body.style.minHeight = '6000px';
      const spacer = document.createElement('div');
      spacer.style.height = '4000px';
      const link = document.createElement('a');
      link.id = 'bottom-link';
      link.href = '/console/discovery/';
      link.textContent = 'Discovery (bottom)';
      const main = document.getElementById('content');
      main.append(spacer, link);
      htmx.process(link);
    }""")
    page.locator("#bottom-link").scroll_into_view_if_needed()
    assert page.evaluate("window.scrollY") > 3000
    _boosted(page, "#bottom-link", "h1:has-text('Discovery')")
    assert eventually(page, "window.scrollY === 0"), page.evaluate("window.scrollY")
    assert page.evaluate("document.activeElement.id") == "content"  # the keyboard starts at the new page


def test_it_focuses_the_error_summary_after_a_failed_submit(signed_in, live_server):
    page = signed_in
    page.expected_statuses.add(400)
    page.goto(f"{live_server.url}/console/api-keys/")
    page.wait_for_selector("h1:has-text('API keys')")
    page.evaluate("document.querySelector('#id_role').innerHTML = '<option value=\\'superuser\\'>x</option>'")
    page.click("button:has-text('Create key')")
    page.wait_for_selector("[data-error-summary]")
    assert eventually(page, "document.activeElement.matches('[data-error-summary]')")
    summary = page.locator("[data-error-summary]")
    assert summary.get_attribute("role") == "alert"
    link = summary.locator("a[href='#id_role']")
    assert "Role" in link.inner_text() and "valid choice" in summary.inner_text()
    assert page.evaluate(IN_VIEWPORT, "[data-error-summary]")
    link.click()
    assert page.evaluate("document.activeElement.id") == "id_role"  # the summary leads to the field


def _create_confidential_client(page: Any, base: str) -> None:
    page.goto(f"{base}/console/clients/")
    page.click("text=Create your first client")
    page.wait_for_selector("h1:has-text('New OAuth2 client')")
    page.fill("#id_client_name", "Secret keeper")
    page.locator("#id_redirect_uris input").nth(0).fill("https://app.example.com/cb")
    page.check("input[name=token_endpoint_auth_method][value=client_secret_basic]")
    page.click("button:has-text('Create client')")
    page.wait_for_selector("text=Copy the client secret now")


def test_it_keeps_a_new_client_secret_in_view_until_it_is_acknowledged(signed_in, ory, live_server):
    page = signed_in
    _create_confidential_client(page, live_server.url)
    url = page.url
    page.wait_for_load_state("networkidle")  # the lazy fragments below it too
    assert page.evaluate(IN_VIEWPORT, ".banner:has(#client-secret)")  # in view right after create
    assert page.evaluate("document.activeElement.matches('[data-secret-once]')")
    secret = page.input_value("#client-secret")

    page.click("a:has-text('Edit')")  # leaving is held
    page.wait_for_selector("#client-secret-warning:visible")
    assert page.url == url and page.locator("h1:has-text('Edit')").count() == 0
    assert page.evaluate("document.activeElement.id") == "client-secret-ack"
    assert page.evaluate(IN_VIEWPORT, "[data-secret-once]")

    page.check("#client-secret-ack")
    assert not page.is_visible("#client-secret-warning")
    page.click("a:has-text('Edit')")
    page.wait_for_selector("h1:has-text('Edit')")
    assert page.evaluate("window.scrollY") == 0
    cached = page.evaluate("localStorage.getItem('htmx-history-cache') || ''")
    assert secret and secret not in cached  # the page it left was not put into htmx's history cache


def test_it_asks_before_a_full_page_load_leaves_an_unacknowledged_api_key(signed_in, live_server):
    page = signed_in
    page.goto(f"{live_server.url}/console/api-keys/")
    page.fill("#id_name", "deploy bot")
    page.click("button:has-text('Create key')")
    page.wait_for_selector("#new-key")
    assert page.evaluate(IN_VIEWPORT, ".banner:has(#new-key)")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.evaluate("document.querySelector('[data-secret-ack]').focus()")  # a user gesture for beforeunload
    page.mouse.click(5, 5)
    page.evaluate("window.location.href = '/console/discovery/'")
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"] and page.locator("#new-key").count() == 1


def _jwt(header: dict[str, Any], payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(payload)}.c2ln"


def test_it_forgets_the_previous_token_when_the_input_stops_decoding(signed_in, live_server):
    page = signed_in
    page.goto(f"{live_server.url}/console/devtools/jwt/")
    token = _jwt(
        {"alg": "RS256", "kid": "nope"}, {"sub": "someone-123", "iss": "https://x", "exp": 2000000000}
    )
    page.fill("#jwt-input", token)
    page.wait_for_selector("#jwt-payload:has-text('someone-123')")
    assert page.locator("#jwt-times tr").count() == 1 and page.locator("#jwt-claims dt").count() >= 2

    page.fill("#jwt-input", token.split(".")[0] + ".%%%garbage%%%.c2ln")
    page.wait_for_selector("#jwt-verdict:has-text('base64url')")
    assert page.inner_text("#jwt-payload") == "" and page.inner_text("#jwt-header") == ""
    assert page.locator("#jwt-times tr").count() == 0 and page.locator("#jwt-claims dt").count() == 0
    assert not page.is_visible("#jwt-payload")
    assert "someone-123" not in page.inner_text("#jwt-result")
