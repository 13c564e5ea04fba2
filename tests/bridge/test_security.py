"""The bridge's security properties, against the real stack."""

from __future__ import annotations

import logging

import pytest
import requests
from django.test import Client

from tests.bridge.oauth import Browser, forms, query
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _consent_page(browser: Browser, app, person):
    _, login_page = browser.authorize(app["client_id"])
    page = browser.sign_in(login_page, person["email"], person["password"])
    assert page.status_code == 200 and 'value="accept"' in page.text
    return page


def test_it_refuses_a_consent_post_without_csrf(browser_for, make_app, make_identity):
    browser = browser_for()
    page = _consent_page(browser, make_app(), make_identity())
    form = next(f for f in forms(page.text) if ("action", "accept") in f.buttons)
    data = {k: v for k, v in form.fields.items() if k != "csrfmiddlewaretoken"}
    refused = browser.post(page.url.split("?")[0], {**data, "action": "accept"})
    assert refused.status_code == 403
    wrong = browser.post(
        page.url.split("?")[0], {**data, "csrfmiddlewaretoken": "x" * 64, "action": "accept"}
    )
    assert wrong.status_code == 403


def test_it_refuses_another_users_challenge(browser_for, make_app, make_identity, tenant):
    app = make_app()
    alice, mallory = make_identity(), make_identity()
    victim = browser_for()
    page = _consent_page(victim, app, alice)
    challenge = query(page.url)["consent_challenge"]

    attacker = browser_for()
    _consent_page(attacker, make_app(), mallory)  # signed in to Kratos, as someone else
    stolen = attacker.get(page.url)
    assert stolen.status_code == 403 and 'value="accept"' not in stolen.text

    form = next(f for f in forms(stolen.text + page.text) if ("action", "accept") in f.buttons)
    token = attacker.session.cookies.get("truss_csrftoken")
    posted = attacker.post(
        page.url.split("?")[0],
        {"csrfmiddlewaretoken": token, "challenge": form.fields["challenge"], "action": "accept"},
    )
    assert posted.status_code == 403 and "Location" not in posted.headers
    api = attacker.session.post(
        page.url.split("/api/hydra/bridge/consent")[0] + "/api/hydra/bridge/consent/accept",
        json={"challenge": challenge, "grant_scope": ["openid"]},
        headers={"X-CSRFToken": token},
        timeout=10,
    )
    assert api.status_code == 403 and api.json()["error"] == "forbidden"
    assert AuditEvent.objects.filter(
        tenant=tenant, outcome="denied", actor=f"identity:{mallory['id']}"
    ).exists()
    # The rightful user can still answer.
    assert victim.callback(victim.answer_consent(page))["code"]


def test_it_never_redirects_off_site_when_return_to_is_tampered(browser_for, live_bridge):
    browser = browser_for()
    truss = browser_for().session  # noqa: F841  (a second jar proves nothing leaks between browsers)
    base = live_bridge.kratos_public_url
    start = browser.get(
        f"{browser_url(live_bridge)}/auth/login", params={"return_to": "https://evil.example/steal"}
    )
    assert start.status_code == 302
    assert start.headers["Location"].startswith(f"{base}/self-service/login/browser")
    assert "evil" not in start.headers["Location"]
    # Kratos itself refuses a foreign return_to, and Truss's error page does not follow it either.
    direct = browser.get(f"{base}/self-service/login/browser", params={"return_to": "https://evil.example/"})
    error_page = browser.follow(direct)
    assert error_page.status_code == 400 and "evil.example" not in error_page.headers.get("Location", "")
    assert "self_service_flow_return_to_forbidden" in error_page.text


def browser_url(ory) -> str:
    from django.conf import settings

    return str(settings.TRUSS_PUBLIC_URL)


def test_it_ignores_a_forged_sent_marker(browser_for, make_app, make_identity, live_bridge):
    app = make_app()
    browser = browser_for()
    response = browser.get(
        f"{live_bridge.hydra_public_url}/oauth2/auth",
        params={
            "client_id": app["client_id"],
            "response_type": "code",
            "scope": "openid",
            "state": "s" * 12,
            "redirect_uri": "http://127.0.0.1:9/callback",
        },
    )
    bridge_login = response.headers["Location"]
    forged = browser.get(bridge_login + "&sent=forged.value")
    # Not treated as "already sent to Kratos" (which would show an error page): a normal Kratos redirect.
    assert forged.status_code == 302 and forged.headers["Location"].startswith(live_bridge.kratos_public_url)


def test_it_shows_and_audits_a_replayed_consent_as_already_answered(
    browser_for, make_app, make_identity, tenant
):
    app = make_app()
    browser = browser_for()
    page = _consent_page(browser, app, make_identity())
    assert "code" in browser.callback(browser.answer_consent(page))
    # Back button: Hydra v2.3 still describes the challenge as new; the bridge knows better.
    again = browser.get(page.url)
    assert again.status_code == 409 and "You already answered this request" in again.text
    assert 'value="accept"' not in again.text
    # Re-posting the old form (a replay Hydra would refuse at its verifier) is refused and audited as such.
    replay = browser.answer_consent(page)
    assert replay.status_code == 409 and "Location" not in replay.headers
    accepts = AuditEvent.objects.filter(tenant=tenant, action="bridge.consent.accept").order_by("id")
    assert [e.outcome for e in accepts] == ["success", "failure"]
    assert "replay" in accepts.last().detail


def test_it_rejects_malformed_challenges_without_asking_hydra(client: Client):
    for url in (
        "/api/hydra/bridge/login",
        "/api/hydra/bridge/login?login_challenge=%3Cscript%3E",
        "/api/hydra/bridge/consent?consent_challenge=" + "a" * 7000,
        "/api/hydra/bridge/logout?logout_challenge=x'or'1",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "This sign-in link is not valid" in response.content.decode()


def test_it_forbids_framing_and_caching_of_end_user_pages(client: Client):
    response = client.get("/api/hydra/bridge/error?error=access_denied")
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "no-store"


def test_it_keeps_challenges_and_tokens_out_of_the_logs(browser_for, make_app, make_identity, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app()
    browser = browser_for()
    auth, login_page = browser.authorize(app["client_id"])
    page = browser.sign_in(login_page, *(lambda p: (p["email"], p["password"]))(make_identity()))
    challenge = query(page.url)["consent_challenge"]
    result = browser.callback(browser.answer_consent(page))
    browser.tokens(app["client_id"], result["code"], auth)
    # urllib3's own DEBUG lines print full URLs (both the test's requests and Truss's): off at INFO.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("urllib3"))
    assert challenge not in ours and result["code"] not in ours
    assert AuditEvent.objects.filter(detail__contains=challenge[:40]).count() == 0


def test_it_logs_upstream_failures_without_the_challenge(client: Client, hydra_down, caplog):
    challenge = "Secret-Challenge-" + "x" * 40
    client.get(f"/api/hydra/bridge/consent?consent_challenge={challenge}")
    warnings = [r.getMessage() for r in caplog.records if r.name == "bridge.responses"]
    assert warnings and "Hydra" in warnings[0]
    assert all(challenge not in message for message in warnings)


def test_it_shows_a_friendly_page_when_hydra_is_down(client: Client, hydra_down):
    response = client.get("/api/hydra/bridge/login?login_challenge=" + "a" * 40, HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    body = response.content.decode()
    assert "Die Anmeldung ist vorübergehend nicht verfügbar" in body and 'lang="de"' in body
    assert "Sign out" not in body  # the end-user shell, not the console


def test_the_kratos_session_cookie_is_what_the_bridge_checks(make_app, make_identity, live_bridge):
    # No cookies at all: the bridge sends the browser to Kratos, never accepts.
    app = make_app()
    response = requests.get(
        f"{live_bridge.hydra_public_url}/oauth2/auth",
        params={
            "client_id": app["client_id"],
            "response_type": "code",
            "scope": "openid",
            "state": "s" * 12,
            "redirect_uri": "http://127.0.0.1:9/callback",
        },
        allow_redirects=False,
        timeout=10,
    )
    hop = requests.get(response.headers["Location"], allow_redirects=False, timeout=10)
    assert hop.headers["Location"].startswith(f"{live_bridge.kratos_public_url}/self-service/login/browser?")


def test_it_lets_only_the_subject_switch_accounts(browser_for, make_app, make_identity, tenant, live_bridge):
    app = make_app()
    alice, mallory = make_identity(), make_identity()
    victim = browser_for()
    page = _consent_page(victim, app, alice)
    form = next(f for f in forms(page.text) if ("action", "accept") in f.buttons)

    attacker = browser_for()
    _consent_page(attacker, make_app(), mallory)  # a Kratos session and a CSRF token of her own
    token = attacker.session.cookies.get("truss_csrftoken")
    switched = attacker.post(
        page.url.split("?")[0],
        {"csrfmiddlewaretoken": token, "challenge": form.fields["challenge"], "action": "switch"},
    )
    assert switched.status_code == 403 and "Location" not in switched.headers
    denied = AuditEvent.objects.get(tenant=tenant, action="bridge.consent.switch_account")
    assert (denied.outcome, denied.actor) == ("denied", f"identity:{mallory['id']}")
    # Alice's Hydra login session survived: her consent still completes, and Hydra still remembers her.
    assert victim.callback(victim.answer_consent(page))["code"]
    _, again = victim.authorize(app["client_id"])
    assert again.status_code == 200 and "/api/hydra/bridge/consent" in again.url

    # Alice herself may switch: her Hydra login session and her Kratos session end.
    mine = next(f for f in forms(again.text) if ("action", "accept") in f.buttons)
    out = victim.post(again.url.split("?")[0], {**mine.fields, "action": "switch"})
    assert out.status_code == 302
    victim.follow(out)
    assert victim.kratos_session().status_code == 401
    done = AuditEvent.objects.filter(tenant=tenant, action="bridge.consent.switch_account", outcome="success")
    assert [e.actor for e in done] == [f"identity:{alice['id']}"]
