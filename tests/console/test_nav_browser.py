"""The console menu in Debian's Chromium at 1280 px: every page one click away in a sidebar, no link wrapped
onto a second line, the current page marked after boosted navigation, a client's history under Clients.
With TRUSS_SHOTS=<dir> it also saves screenshots of the pages it visits."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from oauth2_admin.clients import service as clients
from tests.hygiene.conftest import CLEAN, CLEAN_TOKENS
from truss.context_processors import NAV_SECTIONS

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def signed_in(signed_in_as, ory, make_operator, tenant):
    return signed_in_as(make_operator(tenant, "admin", username="ada"), start="/console/")


def shot(page: Any, name: str) -> None:
    where = os.environ.get("TRUSS_SHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(where) / f"{name}.png"), full_page=True)


def test_it_shows_every_page_in_the_menu_on_one_line_each(signed_in, live_server, tenant):
    page = signed_in
    labels = [label for _, pages in NAV_SECTIONS for _, label, _ in pages]
    links = page.locator("nav[aria-label=Console] a")
    assert links.all_inner_texts() == labels
    heights = {
        round(box["height"]) for box in (links.nth(i).bounding_box() for i in range(links.count())) if box
    }
    assert len(heights) == 1  # no label wraps
    for i in range(links.count()):
        assert links.nth(i).is_visible()
    h1 = page.locator("h1").bounding_box()
    nav = page.locator("nav[aria-label=Console]").bounding_box()
    assert h1 and nav and h1["x"] >= nav["x"] + nav["width"]  # the menu never covers the page
    shot(page, "nav_overview")
    page.set_viewport_size({"width": 700, "height": 900})  # narrow: the groups sit in the top bar
    nav, h1 = page.locator("nav[aria-label=Console]").bounding_box(), page.locator("h1").bounding_box()
    assert nav and h1 and h1["y"] >= nav["y"] + nav["height"] and nav["width"] <= 700
    shot(page, "nav_narrow")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click("nav >> text=Signing keys")
    page.wait_for_selector("h1:has-text('Signing keys')")
    assert page.get_attribute("nav >> text=Signing keys", "aria-current") == "page"
    assert page.locator("nav a[aria-current=page]").count() == 1


def test_it_keeps_clients_current_on_a_clients_history(signed_in, live_server, tenant):
    page = signed_in
    client, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    clients.set_token_config(None, tenant, client.client_id, CLEAN_TOKENS)
    clients.set_token_config(None, tenant, client.client_id, {"access_token_ttl": 900})
    page.goto(f"{live_server.url}/console/hygiene/clients/{client.client_id}/history")
    page.wait_for_selector("h1:has-text('History of Demo web app')")
    assert page.locator("nav[aria-label=Console] a[aria-current=page]").all_inner_texts() == ["Clients"]
    assert page.locator("nav.breadcrumbs li").all_inner_texts()[-1].endswith("History")
    assert "15m0s" not in page.inner_text("main")
    shot(page, "client_history")
    page.goto(f"{live_server.url}/console/hygiene/")
    page.wait_for_selector("h1:has-text('Hygiene')")
    assert page.locator("nav[aria-label=Console] a[aria-current=page]").all_inner_texts() == ["Hygiene"]
    shot(page, "hygiene_fleet")
    page.goto(f"{live_server.url}/console/trust/new")
    page.wait_for_selector("h1:has-text('Trust an issuer')")
    assert "Expires at (UTC)" in page.inner_text("main")
    shot(page, "trust_create")
