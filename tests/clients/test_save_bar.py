"""The client form is long: its save button stays in view while the fields scroll, and a refused form says once
that nothing was saved."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_keeps_the_save_button_in_view_at_the_top_of_the_long_form(
    signed_in_as, make_operator, tenant, ory
):
    page = signed_in_as(make_operator(tenant, "member"), start="/console/clients/new", landing="h1")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.evaluate("window.scrollTo(0, 0)")
    box = page.locator("button:has-text('Create client')").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 800
    assert page.evaluate("document.documentElement.scrollHeight") > 1600  # the form is longer than the window


def test_it_says_once_that_nothing_was_saved(console, tenant, ory):
    html = console("member").post("/console/clients/new", {"client_name": ""}).content.decode()
    assert html.count("Nothing was saved") == 1
    assert "error-summary" in html
