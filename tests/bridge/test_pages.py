"""End-user pages: language, branding, Kratos's self-service screens, errors, device flow, status."""

from __future__ import annotations

import pytest
import requests
from django.test import Client

from bridge import status
from tests.bridge.oauth import forms, query

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_speaks_german_for_ui_locales_de(browser_for, make_app, make_identity):
    app, person = make_app(client_name="Fotoalbum"), make_identity()
    browser = browser_for(accept_language="en")  # ui_locales wins over the browser's language
    _, login_page = browser.authorize(app["client_id"], ui_locales="de-DE en")
    assert 'lang="de"' in login_page.text
    assert "Mit Passwort anmelden" in login_page.text and "Passwort vergessen?" in login_page.text
    assert "um mit Fotoalbum fortzufahren" in login_page.text
    consent = browser.sign_in(login_page, person["email"], person["password"])
    assert "Fotoalbum möchte auf Ihr Konto zugreifen" in consent.text
    assert ">Ablehnen<" in consent.text and ">Erlauben<" in consent.text
    assert "Ihre E-Mail-Adresse" in consent.text and consent.headers["Content-Language"] == "de"


def test_it_falls_back_to_accept_language_then_english(browser_for, make_app):
    app = make_app()
    _, german = browser_for(accept_language="de-AT,de;q=0.9").authorize(app["client_id"])
    assert "Mit Passwort anmelden" in german.text
    _, french = browser_for(accept_language="fr").authorize(app["client_id"])
    assert "Sign in with password" in french.text and 'lang="en"' in french.text


def test_it_shows_kratos_errors_translated_and_next_to_the_form(browser_for, make_app, make_identity):
    app, person = make_app(), make_identity()
    browser = browser_for(accept_language="de")
    _, login_page = browser.authorize(app["client_id"])
    again = browser.sign_in(login_page, person["email"], "wrong password")
    assert again.status_code == 200 and "/auth/login?flow=" in again.url
    assert "Die Anmeldedaten sind ungültig" in again.text and 'role="alert"' in again.text


def test_it_brands_pages_with_the_tenants_name_logo_and_readable_accent(
    browser_for, make_app, tenant, client: Client
):
    tenant.name, tenant.logo_url, tenant.accent_color = (
        "Acme Photos",
        "https://cdn.example/acme.png",
        "#ffd400",
    )
    tenant.save()
    _, login_page = browser_for().authorize(make_app()["client_id"])
    assert "Acme Photos" in login_page.text and "https://cdn.example/acme.png" in login_page.text
    css_url = next(part.split('"')[0] for part in login_page.text.split('href="') if "/brand/" in part)
    css = client.get(css_url).content.decode()
    # Yellow is too light for white text or white-background links: dark text, darkened ink.
    assert "--brand:#ffd400" in css and "--brand-fg:#000000" in css and "--brand-ink:#ffd400" not in css


def test_it_renders_registration_recovery_and_settings_from_kratos_nodes(
    browser_for, make_app, make_identity, live_bridge
):
    browser = browser_for()
    registration = browser.follow(
        browser.get(f"{live_bridge.kratos_public_url}/self-service/registration/browser")
    )
    assert registration.status_code == 200 and "/auth/registration?flow=" in registration.url
    form = forms(registration.text)[0]
    assert form.action.startswith(live_bridge.kratos_public_url) and "csrf_token" in form.fields
    assert 'autocomplete="email"' in registration.text and 'for="default-traits-email"' in registration.text
    recovery = browser.follow(browser.get(f"{live_bridge.kratos_public_url}/self-service/recovery/browser"))
    assert recovery.status_code == 200 and "Recover your account" in recovery.text

    person = make_identity(name="Set Tings")
    _, login_page = browser.authorize(make_app(skip_consent=True)["client_id"])
    browser.callback(browser.sign_in(login_page, person["email"], person["password"]))
    settings_page = browser.follow(
        browser.get(f"{live_bridge.kratos_public_url}/self-service/settings/browser")
    )
    assert settings_page.status_code == 200 and "/auth/settings?flow=" in settings_page.url
    groups = [f.fields.get("csrf_token") for f in forms(settings_page.text)]
    assert len(groups) >= 2 and all(groups)  # one form per group, each with the CSRF node
    assert 'value="Set Tings"' in settings_page.text


def test_it_restarts_an_unknown_flow_and_explains_kratos_errors(browser_for, live_bridge, settings):
    browser = browser_for()
    restart = browser.get(f"{settings.TRUSS_PUBLIC_URL}/auth/login?flow=00000000-0000-0000-0000-000000000000")
    assert restart.status_code == 302 and restart.headers["Location"].startswith(
        live_bridge.kratos_public_url
    )
    gone = browser.get(f"{settings.TRUSS_PUBLIC_URL}/auth/error?id=00000000-0000-0000-0000-000000000000")
    assert gone.status_code == 404 and "Start again" in gone.text
    assert browser.get(f"{settings.TRUSS_PUBLIC_URL}/auth/nonsense").status_code == 404


def test_it_shows_hydra_errors_without_debug_data(client: Client):
    response = client.get(
        "/api/hydra/bridge/error",
        {
            "error": "invalid_client",
            "error_description": "The client does not exist.",
            "error_debug": "stack trace here",
        },
        HTTP_ACCEPT_LANGUAGE="de",
    )
    body = response.content.decode()
    assert response.status_code == 400 and "invalid_client" in body and "The client does not exist." in body
    assert "stack trace here" not in body and "Die Anwendung ist nicht richtig registriert" in body
    odd = client.get("/api/hydra/bridge/error", {"error": "<script>alert(1)</script>"}).content.decode()
    assert "<script>alert" not in odd and "unknown_error" in odd


def test_it_follows_redirect_to_of_an_expired_challenge(client: Client, monkeypatch):
    from truss.ory import hydra

    def gone(challenge):
        raise hydra.HydraGone(410, "gone", redirect_to="http://127.0.0.1:9/callback?error=expired")

    monkeypatch.setattr(hydra, "get_login_request", gone)
    response = client.get("/api/hydra/bridge/login?login_challenge=" + "a" * 40)
    assert response.status_code == 302 and response["Location"] == "http://127.0.0.1:9/callback?error=expired"

    def gone_nowhere(challenge):
        raise hydra.HydraGone(410, "gone")

    monkeypatch.setattr(hydra, "get_login_request", gone_nowhere)
    page = client.get("/api/hydra/bridge/login?login_challenge=" + "a" * 40)
    assert page.status_code == 410 and "has expired" in page.content.decode()


def test_it_says_an_unknown_challenge_has_expired(browser_for, settings):
    response = browser_for().get(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/consent", params={"consent_challenge": "a" * 80}
    )
    assert response.status_code == 404 and "This sign-in request has expired" in response.text


def test_it_explains_that_the_connected_hydra_has_no_device_flow(browser_for, settings):
    response = browser_for(accept_language="de").get(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/device?user_code=ABCD"
    )
    assert response.status_code == 501 and "unterstützt keine Anmeldung mit Gerätecode" in response.text


def test_the_bridge_status_checks_hydra_really_points_here(make_app, live_bridge, settings):
    make_app()  # an authorization-code client to probe with
    body = requests.get(f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/status", timeout=30).json()
    assert body["bridge_ready"] is True, (body["hydra_urls"], body["bridge_answers"])
    assert body["login_url"] == f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/login"
    assert {name: check["ok"] for name, check in body["hydra_urls"].items()} == {
        "login": True, "consent": True, "logout": True, "error": True, "post_logout_redirect": True,
    }  # fmt: skip
    assert all(body["bridge_answers"].values())


def test_the_bridge_status_notices_hydra_pointing_elsewhere(make_app, live_bridge, settings):
    make_app()
    settings.TRUSS_PUBLIC_URL = "http://127.0.0.1:9"  # what Truss thinks its URL is; Hydra disagrees
    status.clear_cache()
    body = status.status()
    assert body["bridge_ready"] is False
    assert body["hydra_urls"]["login"]["ok"] is False and "instead" in body["hydra_urls"]["login"]["detail"]
    assert body["bridge_answers"]["login"] is False


def test_the_consent_json_api_works_for_the_signed_in_subject(browser_for, make_app, make_identity, settings):
    app, person, browser = make_app(), make_identity(), browser_for()
    _, login_page = browser.authorize(app["client_id"])
    page = browser.sign_in(login_page, person["email"], person["password"])
    challenge = query(page.url)["consent_challenge"]
    info = browser.session.get(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/consent/info",
        params={"consent_challenge": challenge},
        timeout=10,
    )
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["subject"] == person["id"] and body["client"]["client_id"] == app["client_id"]
    assert [s["name"] for s in body["scopes"] if s["required"]] == ["openid"]
    no_csrf = browser.session.post(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/consent/accept",
        json={"challenge": challenge},
        timeout=10,
    )
    assert no_csrf.status_code == 403
    accepted = browser.session.post(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/consent/accept",
        json={"challenge": challenge, "grant_scope": ["openid", "email"], "remember": False},
        headers={"X-CSRFToken": body["csrf_token"]},
        timeout=10,
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["redirect_to"].startswith(f"{browser.ory.hydra_public_url}/oauth2/auth?")
    anonymous = requests.get(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/consent/info",
        params={"consent_challenge": challenge},
        timeout=10,
    )
    assert anonymous.status_code == 403


def test_the_consent_json_api_rejects_with_access_denied(browser_for, make_app, make_identity, settings):
    app, person, browser = make_app(), make_identity(), browser_for()
    _, login_page = browser.authorize(app["client_id"])
    challenge = query(browser.sign_in(login_page, person["email"], person["password"]).url)[
        "consent_challenge"
    ]
    token = browser.session.get(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/consent/info",
        params={"consent_challenge": challenge},
        timeout=10,
    ).json()["csrf_token"]
    rejected = browser.session.post(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/consent/reject",
        json={
            "challenge": challenge,
            "error": "access_denied",
            "error_description": "The user denied the request",
        },
        headers={"X-CSRFToken": token},
        timeout=10,
    )
    assert rejected.status_code == 200
    result = browser.callback(browser.follow(browser.get(rejected.json()["redirect_to"])))
    assert result["error"] == "access_denied"
