"""The bridge reads the tenant's scope catalogue: its text on the consent screen (English or German), the claims
each granted scope releases (OIDC Core §5.4 for the standard ones, the tenant's templates for its own), and
whether a consent including it may be remembered. Through the real Hydra and Kratos, hop by hop."""

from __future__ import annotations

import uuid
from http.cookies import SimpleCookie
from typing import Any

import pytest
import requests
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from oauth2_admin.scopes.models import Scope
from tests.bridge.oauth import CALLBACK, Browser, forms, query, verify_id_token
from truss.models import AuditEvent, ClaimsConfig, Tenant
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ALL_SCOPES = "openid email profile offline_access photos.read payments albums.share"


@pytest.fixture
def make_catalogue_app(make_hydra_client, tenant):
    """A public PKCE client of `tenant` that may ask for the catalogue's scopes too."""

    def make(owner: Tenant | None = None, **fields: Any) -> dict[str, Any]:
        return dict(
            make_hydra_client(
                client_name=f"Photo App {uuid.uuid4().hex[:4]}",
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                redirect_uris=[CALLBACK],
                scope=ALL_SCOPES,
                token_endpoint_auth_method="none",
                owner=(owner or tenant).hydra_owner,
                **fields,
            )
        )

    return make


def _scope(tenant: Tenant, name: str, **fields: Any) -> Scope:
    values = {
        "title_en": f"Title of {name}",
        "description_en": f"What {name} means",
        "title_de": "",
        "description_de": "",
        **fields,
    }
    return Scope.objects.create(tenant=tenant, name=name, **values)


def _sign_in_flow(browser: Browser, app: dict[str, Any], person: dict[str, Any], scope: str) -> Any:
    """Authorize with ``scope`` and return (auth, the consent page), signing in when Hydra asks."""
    auth, page = browser.authorize(app["client_id"], scope=scope)
    if "/auth/login" in page.url:
        page = browser.sign_in(page, person["email"], person["password"])
    return auth, page


def _tokens(browser: Browser, app: dict[str, Any], auth: Any, done: Any) -> dict[str, Any]:
    return browser.tokens(app["client_id"], browser.callback(done)["code"], auth)


def _userinfo(ory: Any, access_token: str) -> dict[str, Any]:
    response = requests.get(
        f"{ory.hydra_public_url}/userinfo", headers={"Authorization": f"Bearer {access_token}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _introspect(ory: Any, access_token: str) -> dict[str, Any]:
    response = requests.post(
        f"{ory.hydra_admin_url}/admin/oauth2/introspect", data={"token": access_token}, timeout=10
    )
    return dict(response.json())


def _accept_claims(tenant: Tenant) -> list[list[str]]:
    events = AuditEvent.objects.filter(tenant=tenant, action="bridge.consent.accept").order_by("id")
    return [list(event.after["claims"]) for event in events]


def test_it_releases_a_scoped_claim_only_when_its_scope_is_granted(
    browser_for, make_catalogue_app, make_identity, tenant, live_bridge
):
    ClaimsConfig.objects.create(
        tenant=tenant,
        id_token_claims={"org": "{{metadata_public.org}}", "greeting": "Hi {{traits.name}}"},
        access_token_claims={"org": "{{metadata_public.org}}", "uid": "{{id}}"},
    )
    _scope(tenant, "photos.read", claims=["org"])
    person = make_identity(name="Ada Lovelace")
    requests.patch(
        f"{live_bridge.kratos_admin_url}/admin/identities/{person['id']}",
        json=[{"op": "add", "path": "/metadata_public", "value": {"org": "acme"}}],
        timeout=10,
    ).raise_for_status()
    app = make_catalogue_app()
    browser = browser_for()

    # First sign-in: the custom scope granted, no standard scope but openid.
    auth, consent_page = _sign_in_flow(browser, app, person, "openid photos.read")
    with_scope = _tokens(browser, app, auth, browser.answer_consent(consent_page))
    id_with = verify_id_token(live_bridge, with_scope["id_token"], app["client_id"], auth.nonce)
    info_with = _userinfo(live_bridge, with_scope["access_token"])

    # Second sign-in, same person and client (Hydra remembers the login): email instead of the custom scope.
    auth, consent_page = _sign_in_flow(browser, app, person, "openid email")
    assert "/bridge/consent" in consent_page.url
    without = _tokens(browser, app, auth, browser.answer_consent(consent_page))
    id_without = verify_id_token(live_bridge, without["id_token"], app["client_id"], auth.nonce)
    info_without = _userinfo(live_bridge, without["access_token"])

    assert (id_with["org"], info_with["org"]) == ("acme", "acme")
    assert "org" not in id_without and "org" not in info_without
    # A template no scope lists goes out on every sign-in.
    assert id_with["greeting"] == id_without["greeting"] == info_without["greeting"] == "Hi Ada Lovelace"
    # Standard claims only with their standard scope.
    assert "email" not in id_with and "email_verified" not in id_with and "email" not in info_with
    assert "name" not in id_with and "name" not in id_without
    assert (id_without["email"], id_without["email_verified"]) == (person["email"], True)
    assert info_without["email"] == person["email"]
    # The access token's claims follow the same rule.
    assert _introspect(live_bridge, with_scope["access_token"])["ext"] == {"org": "acme", "uid": person["id"]}
    assert _introspect(live_bridge, without["access_token"])["ext"] == {"uid": person["id"]}
    # The audit log names what was released, nothing more.
    assert _accept_claims(tenant) == [
        ["greeting", "org", "at:org", "at:uid"],
        ["email", "email_verified", "greeting", "at:uid"],
    ]


def test_it_keeps_another_tenants_scope_of_the_same_name_out(
    browser_for, make_catalogue_app, make_identity, tenant, other_tenant, live_bridge
):
    ClaimsConfig.objects.create(tenant=tenant, id_token_claims={"secret": "{{id}}"})
    _scope(tenant, "albums.share", claims=["secret"])
    _scope(other_tenant, "photos.read", claims=["secret"], title_en="Globex photos")
    person = make_identity()
    app = make_catalogue_app()
    browser = browser_for()
    auth, consent_page = _sign_in_flow(browser, app, person, "openid photos.read")
    # Not in this tenant's catalogue: shown by name, and it releases nothing.
    assert "Globex photos" not in consent_page.text
    assert "as defined by the application" in consent_page.text
    tokens = _tokens(browser, app, auth, browser.answer_consent(consent_page))
    assert "secret" not in verify_id_token(live_bridge, tokens["id_token"], app["client_id"], auth.nonce)


def test_it_shows_the_catalogue_text_in_english_and_german_with_one_query(
    browser_for, make_catalogue_app, make_identity, tenant, other_tenant
):
    _scope(
        tenant,
        "photos.read",
        title_en="See your photos",
        description_en="Look at the photos in your albums.",
        title_de="Ihre Fotos ansehen",
        description_de="Die Fotos in Ihren Alben ansehen.",
    )
    _scope(tenant, "albums.share", title_en="Share albums", description_en="Share your albums with friends.")
    _scope(other_tenant, "payments", title_en="Globex payments", description_en="Not this tenant's")
    app = make_catalogue_app()
    person = make_identity()
    scope = "openid email photos.read albums.share payments"

    english = _sign_in_flow(browser_for("en"), app, person, scope)[1]
    assert "See your photos" in english.text and "Look at the photos in your albums." in english.text
    assert "Share albums" in english.text and "Share your albums with friends." in english.text
    assert "Your email address" in english.text
    assert "Access to “payments”, as defined by the application." in english.text
    assert "Globex payments" not in english.text

    browser = browser_for("de-DE,de;q=0.9")
    german = _sign_in_flow(browser, app, person, scope)[1]
    assert german.headers["Content-Language"] == "de"
    assert "Ihre Fotos ansehen" in german.text and "Die Fotos in Ihren Alben ansehen." in german.text
    assert "See your photos" not in german.text
    # No German text given: the English one.
    assert "Share albums" in german.text and "Share your albums with friends." in german.text
    assert "Ihre E-Mail-Adresse" in german.text
    assert "Zugriff auf „payments“, wie von der Anwendung festgelegt." in german.text

    # The same screen again, in this process: the catalogue is read once, however many scopes are shown.
    django_client = Client(HTTP_ACCEPT_LANGUAGE="de")
    django_client.cookies = SimpleCookie({c.name: c.value for c in browser.session.cookies})
    table = Scope._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        again = django_client.get(german.url.split("?", 1)[0] + "?" + german.url.split("?", 1)[1])
    assert again.status_code == 200 and "Ihre Fotos ansehen" in again.content.decode()
    assert len([q for q in queries.captured_queries if table in q["sql"]]) == 1


def test_it_asks_every_time_when_a_granted_scope_may_not_be_remembered(
    browser_for, make_catalogue_app, make_identity, tenant
):
    _scope(tenant, "payments", rememberable=False)
    app = make_catalogue_app()
    person = make_identity()
    browser = browser_for()

    _, consent_page = _sign_in_flow(browser, app, person, "openid payments")
    # The screen does not offer to remember, and says it will ask again.
    form = next(f for f in forms(consent_page.text) if ("action", "accept") in f.buttons)
    assert "remember" not in form.checkboxes and "you will be asked again next time" in consent_page.text
    # Even a posted "remember" is not kept.
    browser.callback(browser.answer_consent(consent_page, remember=True))
    _, again = _sign_in_flow(browser, app, person, "openid payments")
    assert again.status_code == 200 and "/bridge/consent" in again.url
    (event,) = AuditEvent.objects.filter(tenant=tenant, action="bridge.consent.accept")
    assert event.after["remember_for"] is None
    assert all(not s.remember for s in hydra.list_consent_sessions(person["id"]))


def test_it_remembers_a_consent_whose_scopes_may_be_remembered(
    browser_for, make_catalogue_app, make_identity, tenant
):
    _scope(tenant, "photos.read")
    _scope(tenant, "payments", rememberable=False)
    app = make_catalogue_app()
    person = make_identity()
    browser = browser_for()

    _, consent_page = _sign_in_flow(browser, app, person, "openid photos.read")
    form = next(f for f in forms(consent_page.text) if ("action", "accept") in f.buttons)
    assert "remember" in form.checkboxes
    browser.callback(browser.answer_consent(consent_page, remember=True))
    _, again = browser.authorize(app["client_id"], scope="openid photos.read")
    browser.callback(again)  # remembered: straight back to the app

    # The tenant marks the scope "ask every time" after it was remembered: Hydra would skip, the bridge asks.
    Scope.objects.filter(tenant=tenant, name="photos.read").update(rememberable=False)
    _, asked = browser.authorize(app["client_id"], scope="openid photos.read")
    assert asked.status_code == 200 and "/bridge/consent" in asked.url
    browser.callback(browser.answer_consent(asked))


def test_the_consent_json_api_gives_the_catalogue_text_and_never_remembers_an_ask_every_time_scope(
    browser_for, make_catalogue_app, make_identity, tenant, settings
):
    _scope(tenant, "photos.read", title_de="Fotos", description_de="Ihre Fotos.")
    _scope(tenant, "payments", rememberable=False)
    app, person, browser = make_catalogue_app(), make_identity(), browser_for("de")
    _, consent_page = _sign_in_flow(browser, app, person, "openid photos.read payments")
    challenge = query(consent_page.url)["consent_challenge"]
    api = f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/consent"
    body = browser.session.get(f"{api}/info", params={"consent_challenge": challenge}, timeout=10).json()
    scopes = {s["name"]: s for s in body["scopes"]}
    assert (scopes["photos.read"]["title"], scopes["photos.read"]["description"]) == ("Fotos", "Ihre Fotos.")
    assert (scopes["payments"]["title"], scopes["payments"]["rememberable"]) == ("Title of payments", False)
    assert scopes["photos.read"]["rememberable"] is True and body["remember_for"] == 0
    accepted = browser.session.post(
        f"{api}/accept",
        json={"challenge": challenge, "grant_scope": ["openid", "photos.read", "payments"], "remember": True},
        headers={"X-CSRFToken": body["csrf_token"]},
        timeout=10,
    )
    assert accepted.status_code == 200, accepted.text
    browser.callback(browser.follow(browser.get(accepted.json()["redirect_to"])))
    _, again = browser.authorize(app["client_id"], scope="openid photos.read payments")
    assert again.status_code == 200 and "/bridge/consent" in again.url
