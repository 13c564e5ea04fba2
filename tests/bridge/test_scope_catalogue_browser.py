"""The consent screen in Debian's Chromium shows the tenant's own scopes with their catalogue text: English, German
for a German browser, English where no German text was given; a scope marked "ask every time" takes the
"remember" choice away. axe-core scans each screen."""

from __future__ import annotations

import uuid

import pytest

from oauth2_admin.scopes.models import Scope
from tests.bridge.oauth import query
from tests.bridge.test_browser import assert_accessible, authorize_url, relying_party, sign_in
from tests.fixtures.browser import eventually

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

__all__ = ["relying_party"]  # a fixture, used by name below

SCOPES = "openid email photos.read albums.share"


# Ask for it before `page` (and it asks for `page` after `relying_party`): the page closes before the
# application's callback server stops.
@pytest.fixture
def catalogue_app(relying_party, page, live_server, ory, settings, tenant, make_hydra_client):
    settings.TRUSS_PUBLIC_URL = live_server.url
    callback, arrivals = relying_party
    Scope.objects.create(
        tenant=tenant,
        name="photos.read",
        title_en="See your photos",
        description_en="Look at the photos in your albums.",
        title_de="Ihre Fotos ansehen",
        description_de="Die Fotos in Ihren Alben ansehen.",
    )
    Scope.objects.create(
        tenant=tenant,
        name="albums.share",
        title_en="Share albums",
        description_en="Share your albums with friends.",
        rememberable=False,
    )
    client = make_hydra_client(
        client_name=f"Gallery {uuid.uuid4().hex[:4]}",
        grant_types=["authorization_code"],
        response_types=["code"],
        redirect_uris=[callback],
        scope=SCOPES,
        token_endpoint_auth_method="none",
        owner=tenant.hydra_owner,
    )
    return {"client": client, "arrivals": arrivals, "ory": ory, "callback": callback}


def _scope_text(page, name: str) -> tuple[str, str]:
    row = page.locator(f".scope:has(input[value='{name}'])")
    return row.locator(".scope-title").inner_text().strip(), row.locator(".scope-desc").inner_text().strip()


def _to_consent(page, app, person, scope: str = SCOPES) -> None:
    url, _, _ = authorize_url(app["ory"], app["client"]["client_id"], app["callback"], scope=scope)
    page.goto(url)
    sign_in(page, person)
    page.wait_for_selector("button[value=accept]")


def test_it_shows_the_catalogue_text_in_english(catalogue_app, page, make_identity):
    _to_consent(page, catalogue_app, make_identity())
    assert page.locator("html").get_attribute("lang") == "en"
    assert _scope_text(page, "photos.read") == ("See your photos", "Look at the photos in your albums.")
    assert _scope_text(page, "albums.share") == ("Share albums", "Share your albums with friends.")
    assert _scope_text(page, "email")[0] == "Your email address"
    # "albums.share" is asked every time: no "remember" choice, and the screen says so.
    assert page.locator("input[name=remember]").count() == 0
    assert "you will be asked again next time" in page.inner_text(".not-remembered")
    assert_accessible(page)
    page.click("button[value=accept]")
    page.wait_for_url(catalogue_app["callback"] + "?**")
    assert "code" in query(catalogue_app["arrivals"][-1])


def test_it_shows_the_catalogue_text_in_german_with_the_english_fallback(catalogue_app, page, make_identity):
    page.set_extra_http_headers({"Accept-Language": "de-DE,de;q=0.9"})
    _to_consent(page, catalogue_app, make_identity())
    assert eventually(page, "document.documentElement.lang") == "de"
    assert _scope_text(page, "photos.read") == ("Ihre Fotos ansehen", "Die Fotos in Ihren Alben ansehen.")
    # No German text in the catalogue: the English one, not the "as defined by the application" fallback.
    assert _scope_text(page, "albums.share") == ("Share albums", "Share your albums with friends.")
    assert _scope_text(page, "email")[0] == "Ihre E-Mail-Adresse"
    assert "beim nächsten Mal erneut gefragt" in page.inner_text(".not-remembered")
    assert_accessible(page)


def test_it_offers_remember_when_every_scope_may_be_remembered(catalogue_app, page, make_identity):
    # The OAuth request's ui_locales (the bridge's language choice) switches to German too.
    url, _, _ = authorize_url(
        catalogue_app["ory"],
        catalogue_app["client"]["client_id"],
        catalogue_app["callback"],
        scope="openid photos.read",
        ui_locales="de",
    )
    page.goto(url)
    sign_in(page, make_identity())
    page.wait_for_selector("button[value=accept]")
    assert _scope_text(page, "photos.read")[0] == "Ihre Fotos ansehen"
    assert page.locator("input[name=remember]").count() == 1
    assert page.locator(".not-remembered").count() == 0
