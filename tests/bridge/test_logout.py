"""Logout: the confirmation screen, ending both Hydra's and Kratos's sessions, and the admin revocation."""

from __future__ import annotations

import json

import pytest
import requests

from tests.bridge.oauth import CALLBACK
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _signed_in(browser, app, person, remember=True):
    auth, login_page = browser.authorize(app["client_id"])
    done = browser.answer_consent(
        browser.sign_in(login_page, person["email"], person["password"]), remember=remember
    )
    return auth, browser.tokens(app["client_id"], browser.callback(done)["code"], auth)


def test_it_confirms_then_ends_both_the_hydra_and_the_kratos_session(
    browser_for, make_app, make_identity, live_bridge, tenant
):
    app, person, browser = make_app(), make_identity(), browser_for()
    _signed_in(browser, app, person)
    assert browser.kratos_session().status_code == 200

    confirm = browser.follow(browser.get(f"{live_bridge.hydra_public_url}/oauth2/sessions/logout"))
    assert confirm.status_code == 200 and "/api/hydra/bridge/logout" in confirm.url
    assert 'value="accept"' in confirm.text and 'value="deny"' in confirm.text
    form_token = browser.session.cookies.get("truss_csrftoken")
    challenge = confirm.url.split("logout_challenge=")[1]
    sent = browser.post(
        confirm.url.split("?")[0],
        {"csrfmiddlewaretoken": form_token, "challenge": challenge, "action": "accept"},
    )
    assert sent.headers["Location"].startswith(f"{live_bridge.kratos_public_url}/self-service/logout?")
    finished = browser.follow(sent)
    assert finished.status_code == 200 and finished.url.endswith("/api/hydra/bridge/logged-out")
    assert "You are signed out" in finished.text

    assert browser.kratos_session().status_code == 401
    _, again = browser.authorize(app["client_id"])
    assert "/auth/login?flow=" in again.url  # Hydra no longer remembers the login either
    assert AuditEvent.objects.filter(tenant=None, action="bridge.logout.accept").exists()


def test_it_keeps_the_session_when_the_user_says_no(browser_for, make_app, make_identity, live_bridge):
    app, person, browser = make_app(), make_identity(), browser_for()
    _signed_in(browser, app, person)
    confirm = browser.follow(browser.get(f"{live_bridge.hydra_public_url}/oauth2/sessions/logout"))
    challenge = confirm.url.split("logout_challenge=")[1]
    kept = browser.post(
        confirm.url.split("?")[0],
        {
            "csrfmiddlewaretoken": browser.session.cookies.get("truss_csrftoken"),
            "challenge": challenge,
            "action": "deny",
        },
    )
    assert kept.status_code == 200 and "You are still signed in" in kept.text
    assert browser.kratos_session().status_code == 200
    _, again = browser.authorize(app["client_id"])
    assert "/api/hydra/bridge/consent" in again.url or "code=" in again.headers.get("Location", "")


def test_it_skips_the_confirmation_for_skip_logout_consent_clients(
    browser_for, make_app, make_identity, live_bridge, tenant
):
    app = make_app(skip_logout_consent=True, post_logout_redirect_uris=[CALLBACK + "/bye"])
    person, browser = make_identity(), browser_for()
    _, tokens = _signed_in(browser, app, person)
    start = browser.get(
        f"{live_bridge.hydra_public_url}/oauth2/sessions/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": CALLBACK + "/bye",
            "state": "bye-state-123",
        },
    )
    done = browser.follow(start)
    assert (
        done.headers["Location"].startswith(CALLBACK + "/bye") and "bye-state-123" in done.headers["Location"]
    )
    assert browser.kratos_session().status_code == 401
    event = AuditEvent.objects.get(tenant=tenant, action="bridge.logout.accept")
    assert event.target == app["client_id"] and "skip_logout_consent" in event.detail


def test_the_admin_logout_revokes_consent_for_the_tenants_clients_only(
    browser_for, make_app, make_identity, live_bridge, console, tenant, other_tenant
):
    person = make_identity()
    ours, theirs = make_app(), make_app(owner=other_tenant.hydra_owner)
    browser = browser_for()
    _signed_in(browser, ours, person)
    _, login_or_consent = browser.authorize(theirs["client_id"])
    browser.callback(browser.answer_consent(login_or_consent, remember=True))

    member = console("member")
    response = member.post(
        "/api/hydra/logout", json.dumps({"subject": person["id"]}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "subject": person["id"],
        "revoked_clients": [ours["client_id"]],
        "login_sessions_ended": False,
    }
    left = requests.get(
        f"{live_bridge.hydra_admin_url}/admin/oauth2/auth/sessions/consent",
        params={"subject": person["id"]},
        timeout=10,
    ).json()
    assert [s["consent_request"]["client"]["client_id"] for s in left] == [theirs["client_id"]]
    assert (
        AuditEvent.objects.filter(tenant=tenant, action="bridge.logout.subject", target=person["id"]).count()
        == 1
    )

    refused = member.post(
        "/api/hydra/logout",
        json.dumps({"subject": person["id"], "end_login_sessions": True}),
        content_type="application/json",
    )
    assert refused.status_code == 403 and "platform admins" in refused.json()["message"]
    viewer = console("viewer").post(
        "/api/hydra/logout", json.dumps({"subject": person["id"]}), content_type="application/json"
    )
    assert viewer.status_code == 403


def test_a_platform_admin_can_also_end_the_login_sessions(
    browser_for, make_app, make_identity, live_bridge, tenant
):
    from django.contrib.auth.models import User
    from django.test import Client

    person, app, browser = make_identity(), make_app(), browser_for()
    _signed_in(browser, app, person)
    admin = Client()
    admin.force_login(User.objects.create_superuser("root-" + person["id"][:6], password="pw-for-tests-123"))
    response = admin.post(
        "/api/hydra/logout",
        json.dumps({"subject": person["id"], "end_login_sessions": True}),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["login_sessions_ended"] is True
    requests.delete(f"{live_bridge.kratos_admin_url}/admin/identities/{person['id']}/sessions", timeout=10)
    _, again = browser.authorize(app["client_id"])
    assert "/auth/login?flow=" in again.url


def test_it_keeps_the_tenants_branding_through_logout_to_the_signed_out_page(
    browser_for, make_app, make_identity, live_bridge, tenant
):
    tenant.name = "Acme Photos"
    tenant.save()
    app, person, browser = make_app(), make_identity(), browser_for()
    _, tokens = _signed_in(browser, app, person)
    confirm = browser.follow(
        browser.get(
            f"{live_bridge.hydra_public_url}/oauth2/sessions/logout",
            params={"id_token_hint": tokens["id_token"]},
        )
    )
    assert confirm.status_code == 200 and "Acme Photos" in confirm.text
    challenge = confirm.url.split("logout_challenge=")[1]
    sent = browser.post(
        confirm.url.split("?")[0],
        {
            "csrfmiddlewaretoken": browser.session.cookies.get("truss_csrftoken"),
            "challenge": challenge,
            "action": "accept",
        },
    )
    finished = browser.follow(sent)
    assert finished.url.endswith("/api/hydra/bridge/logged-out") and "You are signed out" in finished.text
    assert "Acme Photos" in finished.text and f"/brand/{tenant.slug}.css" in finished.text
    # A forged brand cookie is ignored: the page falls back to Truss's own look.
    forged = requests.get(finished.url, cookies={"truss_bridge_brand": tenant.slug}, timeout=10)
    assert "Acme Photos" not in forged.text and "You are signed out" in forged.text


def test_hydras_error_page_keeps_the_clients_branding_and_ui_locales(make_app, tenant, client):
    tenant.name = "Acme Photos"
    tenant.save()
    app = make_app()
    response = client.get(
        "/api/hydra/bridge/error",
        {"error": "access_denied", "client_id": app["client_id"], "ui_locales": "de en"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    body = response.content.decode()
    assert response.status_code == 400 and 'lang="de"' in body and "Der Zugriff wurde abgelehnt" in body
    assert "Acme Photos" in body
    unknown = client.get("/api/hydra/bridge/error", {"error": "access_denied", "client_id": "no-such-client"})
    assert unknown.status_code == 400 and "Acme Photos" not in unknown.content.decode()
