"""End-user pages: language, branding, Kratos's self-service screens, errors, device flow, status."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.db import OperationalError
from django.test import Client

from bridge.models import AnsweredConsent
from tests.bridge.oauth import forms, query
from truss import bridge_check
from truss.models import AuditEvent, AuditOutbox
from truss.ory import http as ory_http
from truss.ory import hydra

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


def test_it_refuses_a_replayed_login_challenge_at_the_real_hydra(
    browser_for, make_app, make_identity, settings, tenant
):
    # Hydra v2.3 never answers 410 for a handled challenge: it describes it again and even accepts its
    # login verifier once more, handing the same flow to consent. The bridge sees there that Hydra already
    # completed the flow: no second code, a clear page, and the refused accept audited as a failure.
    app, person, browser = make_app(skip_consent=True), make_identity(), browser_for()
    _, login_page = browser.authorize(app["client_id"])
    challenge = next(query(url)["login_challenge"] for url in browser.history if "login_challenge=" in url)
    assert "code" in browser.callback(browser.sign_in(login_page, person["email"], person["password"]))
    replay = browser.follow(
        browser.get(
            f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/login", params={"login_challenge": challenge}
        )
    )
    assert replay.status_code == 409 and "You already answered this request" in replay.text
    assert not any("code=" in url for url in browser.history)
    accepts = AuditEvent.objects.filter(tenant=tenant, action="bridge.consent.accept")
    assert sorted(accepts.values_list("outcome", flat=True)) == ["failure", "success"]
    assert "replay" in accepts.get(outcome="failure").detail


def test_it_asks_hydra_about_a_replay_only_for_a_flow_it_already_answered(
    browser_for, make_app, make_identity, settings, monkeypatch
):
    # The replay question (Hydra's consent sessions of the subject) is a slow call: a first answer never pays
    # it, the bridge's own mark of answered flows says there is nothing to ask.
    asked: list[str] = []
    original = hydra.list_consent_sessions

    def spy(subject: str, **kwargs: Any) -> Any:
        asked.append(subject)
        return original(subject, **kwargs)

    monkeypatch.setattr(hydra, "list_consent_sessions", spy)
    app, person, browser = make_app(skip_consent=True), make_identity(), browser_for()
    _, login_page = browser.authorize(app["client_id"])
    challenge = next(query(url)["login_challenge"] for url in browser.history if "login_challenge=" in url)
    assert "code" in browser.callback(browser.sign_in(login_page, person["email"], person["password"]))
    assert asked == [] and AnsweredConsent.objects.count() == 1
    replay = browser.follow(
        browser.get(
            f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/login", params={"login_challenge": challenge}
        )
    )
    assert replay.status_code == 409 and len(asked) == 1


def test_it_marks_the_flow_and_queues_its_event_together_or_still_writes_the_event(
    browser_for, make_app, make_identity, tenant, monkeypatch
):
    # One transaction on the hop's critical path: if it fails (here: the outbox refuses the row), the mark goes
    # with it and the event is written the slow way; the person still gets their code.
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("outbox unavailable")

    app, person, browser = make_app(skip_consent=True), make_identity(), browser_for()
    _, login_page = browser.authorize(app["client_id"])
    monkeypatch.setattr(AuditOutbox.objects, "create", refuse)
    assert "code" in browser.callback(browser.sign_in(login_page, person["email"], person["password"]))
    assert AnsweredConsent.objects.count() == 0 and AuditOutbox.objects.count() == 0
    accepted = AuditEvent.objects.get(tenant=tenant, action="bridge.consent.accept")
    assert accepted.outcome == "success" and "openid" in accepted.after["grant_scope"]


def test_it_marks_no_flow_whose_accept_hydra_refused(
    browser_for, make_app, make_identity, tenant, monkeypatch
):
    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise hydra.HydraUnavailable(503, "unavailable", "down for a moment")

    app, person, browser = make_app(skip_consent=True), make_identity(), browser_for()
    _, login_page = browser.authorize(app["client_id"])
    monkeypatch.setattr(hydra, "accept_consent_request", unavailable)
    answer = browser.sign_in(login_page, person["email"], person["password"])
    assert answer.status_code == 503 and "code=" not in answer.url
    assert AnsweredConsent.objects.count() == 0
    failed = AuditEvent.objects.get(tenant=tenant, action="bridge.consent.accept")
    assert failed.outcome == "failure" and "down for a moment" in failed.detail


def test_it_explains_a_garbage_login_challenge_that_hydra_does_not_know(browser_for, settings):
    response = browser_for(accept_language="de").get(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/login", params={"login_challenge": "b" * 80}
    )
    assert response.status_code == 404 and "Diese Anmeldeanfrage ist abgelaufen" in response.text


def test_it_says_an_unknown_challenge_has_expired(browser_for, settings):
    response = browser_for().get(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/consent", params={"consent_challenge": "a" * 80}
    )
    assert response.status_code == 404 and "This sign-in request has expired" in response.text


@pytest.mark.no_device_flow
def test_it_explains_that_the_connected_hydra_has_no_device_flow(browser_for, settings):
    response = browser_for(accept_language="de").get(
        f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/device?user_code=ABCD"
    )
    assert response.status_code == 501 and "unterstützt keine Anmeldung mit Gerätecode" in response.text


def test_it_answers_the_public_status_with_facts_only_and_writes_nothing_to_hydra(
    make_app, live_bridge, settings, monkeypatch
):
    make_app()  # a client the old status walk would have used
    calls: list[tuple[str, str]] = []
    real = ory_http.request

    def spy(service, method, url, *args, **kwargs):
        calls.append((method, url))
        return real(service, method, url, *args, **kwargs)

    monkeypatch.setattr(ory_http, "request", spy)  # passes every call through: it only records them
    body = requests.get(f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/status", timeout=30).json()
    assert body["bridge_ready"] is True, body
    assert body["login_url"] == f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/login"
    assert set(body["bridge_answers"]) == {"login", "consent", "logout", "error", "post_logout_redirect"}
    assert all(body["bridge_answers"].values()) and "hydra_urls" not in body
    assert calls and all(method == "GET" for method, _ in calls), calls
    assert not any("/oauth2/auth" in url or "/requests/" in url for _, url in calls), calls
    # Cached: a second call inside the window asks nobody.
    before = len(calls)
    assert requests.get(f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/status", timeout=30).json() == body
    assert len(calls) == before


def test_the_public_status_says_when_the_bridge_urls_do_not_answer(live_bridge, settings):
    settings.TRUSS_PUBLIC_URL = "http://127.0.0.1:9"  # what Truss thinks its URL is; nothing answers there
    bridge_check.clear_cache()
    body = bridge_check.public_status()
    assert body["bridge_ready"] is False and body["bridge_answers"]["login"] is False
    assert body["hydra_ready"] is True and body["login_url"] == "http://127.0.0.1:9/api/hydra/bridge/login"


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
    refused = AuditEvent.objects.filter(action="bridge.consent.view", outcome="denied")
    assert [e.actor for e in refused] == ["anonymous"]


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
