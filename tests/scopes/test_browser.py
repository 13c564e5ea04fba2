"""An operator adds a scope to the catalogue in Debian's Chromium, with the keyboard where it matters, and finds it
offered on the client form."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from truss.models import ClaimsConfig

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def operator_page(signed_in_as, ory, make_operator, tenant):
    ClaimsConfig.objects.create(
        tenant=tenant, access_token_claims={"billing_account": "{{metadata_public.billing_account}}"}
    )
    return signed_in_as(make_operator(tenant, "member", username="sam"))


def test_it_adds_a_scope_through_the_form_and_the_client_form_offers_it(operator_page, settings):
    settings.DEBUG = True  # as under `make run` (django-htmx's debug script after a failed submit)
    page = operator_page
    page.click("nav >> text=Scopes")
    page.wait_for_selector("h1:has-text('Scopes')")
    expect(page.locator("#standard-scope-table")).to_contain_text("email_verified")
    page.click("text=Add a scope")
    page.wait_for_selector("h1:has-text('Add a scope')")

    page.expected_statuses.add(400)
    page.fill("#id_name", "email")
    page.fill("#id_title_en", "Read invoices")
    page.fill("#id_description_en", "See your invoices.")
    page.press("#id_description_en", "Tab")
    page.click("button:has-text('Add scope')")
    page.wait_for_selector(".error-summary")
    expect(page.locator(".error-summary")).to_contain_text("standard OpenID Connect scope")

    page.fill("#id_name", "invoices:read")
    page.fill("#id_title_de", "Rechnungen lesen")
    page.check("input[name=claims][value=billing_account]")
    page.locator("#id_rememberable").focus()
    page.keyboard.press("Space")  # unticked: asked every time
    page.locator("#id_name").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Scope invoices:read added to the catalogue.")
    row = page.locator("#tenant-scopes tr", has_text="invoices:read")
    expect(row).to_contain_text("Rechnungen lesen")
    expect(row).to_contain_text("billing_account")
    expect(row).to_contain_text("asked every time")

    page.click("nav >> text=Clients")
    page.wait_for_selector("h1:has-text('Clients')")
    page.goto(page.url.split("/console/")[0] + "/console/clients/new")
    page.wait_for_selector("h1:has-text('New OAuth2 client')")
    offered = page.locator("#id_scope label", has_text="invoices:read")
    expect(offered).to_contain_text("Read invoices")
    assert not offered.locator("input").is_checked()
    assert page.locator("#id_scope input[value=openid]").is_checked()  # the default scope, ticked


def test_its_pages_and_the_client_form_have_no_serious_accessibility_violation(
    operator_page, live_server, tenant, ory
):
    from oauth2_admin.scopes import service
    from tests.console.test_axe import CSP_LISTENER, serious

    scope = service.create(
        None,
        tenant,
        {
            "name": "invoices:read",
            "title_en": "Read your invoices",
            "description_en": "See your invoices.",
            "claims": ["billing_account"],
        },
    )
    page = operator_page
    page.add_init_script(CSP_LISTENER)
    found = {}
    for url in (
        "/console/scopes/",
        "/console/scopes/new",
        f"/console/scopes/{scope.pk}/",
        f"/console/scopes/{scope.pk}/delete",
        "/console/clients/new",
        "/console/claims/",
        "/console/consents/",
    ):
        response = page.goto(f"{live_server.url}{url}")
        assert response is not None and response.status == 200, url
        page.wait_for_load_state("networkidle")
        if bad := serious(page):
            found[url] = bad
        if csp := page.evaluate("window.__csp"):
            found[f"{url} (CSP)"] = csp
    assert found == {}
