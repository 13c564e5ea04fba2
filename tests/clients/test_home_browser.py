"""The client's home in Chromium: every section reachable from its tabs, and "Test sign-in" running the
authorization-code flow for the demo client through Hydra, the bridge and Kratos to the flow tester's result."""

from __future__ import annotations

import io
import os
import secrets

import pytest
from django.core.management import call_command
from django.urls import reverse

from tests.bridge.test_browser import assert_accessible, sign_in
from truss.management.commands import seed_demo
from truss.ory import hydra

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TABS = ["Settings", "Credentials & tokens", "Security findings", "History & drift", "People", "Quickstart"]


def test_it_signs_in_as_the_demo_user_from_the_test_sign_in_button(
    page, ory, live_server, signed_in_as, settings
):
    settings.TRUSS_PUBLIC_URL = live_server.url
    call_command("seed_demo", stdout=io.StringIO())
    client = hydra.list_clients(
        owner="truss:demo", client_name=seed_demo.DEMO_CLIENT_NAME, page_size=1
    ).items[0]
    secret = "demo-secret-" + secrets.token_urlsafe(16)  # the printed one is shown once: set a known one
    hydra.patch_client(client.client_id, [{"op": "replace", "path": "/client_secret", "value": secret}])
    shots = os.environ.get("TRUSS_SHOTS_DIR", "")

    signed_in_as("demo", "demo-operator-pw")
    page.goto(live_server.url + reverse("console:clients:detail", args=[client.client_id]))
    for label in TABS:
        page.click(f"[data-testid=client-tabs] >> text='{label}'")
        page.wait_for_selector(f"[data-testid=client-tabs] a[aria-current=page]:has-text('{label}')")
        assert page.locator("nav[aria-label=Console] a[aria-current=page]").inner_text() == "Clients"
        if label == "Quickstart":
            page.wait_for_selector("#client-snippets pre")
        assert_accessible(page)
        if shots:
            page.screenshot(
                path=f"{shots}/{TABS.index(label) + 1}_{label.split()[0].lower()}.png", full_page=True
            )

    page.click("[data-testid=test-sign-in]")
    sign_in(page, {"email": seed_demo.DEMO_USER_EMAIL, "password": seed_demo.DEMO_USER_PASSWORD})
    page.wait_for_selector("button[value=accept]")
    page.click("button[value=accept]")
    page.wait_for_url(f"{seed_demo.demo_callback_url()}?**")
    page.wait_for_selector("text=state matches")
    page.fill("#id_secret", secret)
    page.click("text=Exchange the code for tokens")
    page.wait_for_selector("[data-testid=id-token-verdict]")
    assert page.inner_text("[data-testid=id-token-verdict]").startswith("verified")
    assert '"access_token"' in page.inner_text("[data-testid=token-response]")
    assert seed_demo.DEMO_USER_EMAIL in page.inner_text("[data-testid=userinfo]")
    assert secret not in page.content()
    if shots:
        page.screenshot(path=f"{shots}/7_test_sign_in_result.png", full_page=True)
