"""Authorization code + PKCE through the real Hydra → bridge → Kratos → bridge → Hydra, hop by hop."""

from __future__ import annotations

import pytest
import requests

from bridge.flows import login as login_flow
from tests.bridge.oauth import query, verify_id_token
from truss.models import AuditEvent, ClaimsConfig
from truss.ory import kratos

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_signs_in_asks_consent_and_issues_tokens_with_templated_claims(
    browser_for, make_app, make_identity, tenant, live_bridge
):
    ClaimsConfig.objects.create(
        tenant=tenant,
        id_token_claims={"org": "{{metadata_public.org}}", "greeting": "Hi {{traits.name}}", "uid": "{{id}}"},
        access_token_claims={"role": "{{metadata_public.role}}"},
    )
    person = make_identity(name="Ada Lovelace")
    requests.patch(
        f"{live_bridge.kratos_admin_url}/admin/identities/{person['id']}",
        json=[{"op": "add", "path": "/metadata_public", "value": {"org": "acme", "role": "admin"}}],
        timeout=10,
    ).raise_for_status()
    app = make_app()
    browser = browser_for()

    auth, login_page = browser.authorize(app["client_id"])
    assert login_page.url.startswith(f"{live_bridge.kratos_public_url}") is False
    assert "/auth/login?flow=" in login_page.url
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    assert consent_page.status_code == 200 and "/api/hydra/bridge/consent" in consent_page.url
    assert app["client_name"] in consent_page.text and person["email"] in consent_page.text

    done = browser.answer_consent(consent_page, remember=True)
    result = browser.callback(done)
    assert result["state"] == auth.state
    tokens = browser.tokens(app["client_id"], result["code"], auth)
    claims = verify_id_token(live_bridge, tokens["id_token"], app["client_id"], auth.nonce)
    assert claims["sub"] == person["id"]
    assert claims["email"] == person["email"] and claims["email_verified"] is True
    assert claims["name"] == "Ada Lovelace"
    assert (claims["org"], claims["greeting"], claims["uid"]) == ("acme", "Hi Ada Lovelace", person["id"])
    assert claims["amr"] == ["password"]
    introspected = requests.post(
        f"{live_bridge.hydra_admin_url}/admin/oauth2/introspect",
        data={"token": tokens["access_token"]},
        timeout=10,
    ).json()
    assert introspected["ext"] == {"role": "admin"}
    actions = set(AuditEvent.objects.filter(tenant=tenant).values_list("action", flat=True))
    assert {"bridge.login.accept", "bridge.consent.accept"} <= actions


def test_it_skips_consent_the_second_time_when_remembered_and_still_sends_claims(
    browser_for, make_app, make_identity, live_bridge
):
    person = make_identity(name="Grace")
    app = make_app()
    browser = browser_for()
    _, login_page = browser.authorize(app["client_id"])
    browser.answer_consent(browser.sign_in(login_page, person["email"], person["password"]), remember=True)

    auth, again = browser.authorize(app["client_id"])
    result = browser.callback(again)  # no login page, no consent page: straight back to the app
    assert not any("/auth/login" in url for url in browser.history[-4:])
    claims = verify_id_token(
        live_bridge,
        browser.tokens(app["client_id"], result["code"], auth)["id_token"],
        app["client_id"],
        auth.nonce,
    )
    assert claims["name"] == "Grace"


def test_it_asks_again_without_remember(browser_for, make_app, make_identity):
    person = make_identity()
    app = make_app()
    browser = browser_for()
    _, login_page = browser.authorize(app["client_id"])
    browser.callback(browser.answer_consent(browser.sign_in(login_page, person["email"], person["password"])))
    _, again = browser.authorize(app["client_id"])
    assert again.status_code == 200 and "/api/hydra/bridge/consent" in again.url


def test_it_returns_access_denied_when_the_user_denies(browser_for, make_app, make_identity, tenant):
    person = make_identity()
    app = make_app()
    browser = browser_for()
    auth, login_page = browser.authorize(app["client_id"])
    result = browser.callback(
        browser.answer_consent(
            browser.sign_in(login_page, person["email"], person["password"]), action="deny"
        )
    )
    assert result["error"] == "access_denied" and result["state"] == auth.state
    assert AuditEvent.objects.filter(tenant=tenant, action="bridge.consent.reject").count() == 1


def test_it_grants_only_the_ticked_scopes_and_always_openid(
    browser_for, make_app, make_identity, live_bridge
):
    person = make_identity(name="Linus")
    app = make_app()
    browser = browser_for()
    auth, login_page = browser.authorize(app["client_id"], scope="openid email profile")
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    result = browser.callback(browser.answer_consent(consent_page, untick=("profile",)))
    tokens = browser.tokens(app["client_id"], result["code"], auth)
    assert set(tokens["scope"].split()) == {"openid", "email"}
    claims = verify_id_token(live_bridge, tokens["id_token"], app["client_id"], auth.nonce)
    assert "name" not in claims and claims["email"] == person["email"]


def test_it_skips_the_screen_for_skip_consent_clients(
    browser_for, make_app, make_identity, tenant, live_bridge
):
    ClaimsConfig.objects.create(
        tenant=tenant,
        id_token_claims={"greeting": "Hi {{traits.name}}"},
        access_token_claims={"uid": "{{id}}"},
    )
    person = make_identity(name="Skip Per")
    app = make_app(skip_consent=True)
    browser = browser_for()
    auth, login_page = browser.authorize(app["client_id"], scope="openid email profile")
    done = browser.sign_in(login_page, person["email"], person["password"])
    # The bridge's consent URL was visited, but answered with a redirect: no screen, straight to the app.
    consent_hops = [url for url in browser.history if "/api/hydra/bridge/consent" in url]
    assert len(consent_hops) == 1 and done.status_code in (302, 303)
    result = browser.callback(done)
    tokens = browser.tokens(app["client_id"], result["code"], auth)
    assert set(tokens["scope"].split()) == {"openid", "email", "profile"}
    claims = verify_id_token(live_bridge, tokens["id_token"], app["client_id"], auth.nonce)
    assert (claims["greeting"], claims["email"], claims["name"]) == (
        "Hi Skip Per",
        person["email"],
        "Skip Per",
    )
    introspected = requests.post(
        f"{live_bridge.hydra_admin_url}/admin/oauth2/introspect",
        data={"token": tokens["access_token"]},
        timeout=10,
    ).json()
    assert introspected["ext"] == {"uid": person["id"]}
    accept = AuditEvent.objects.get(tenant=tenant, action="bridge.consent.accept")
    assert accept.detail == "skipped: client.skip_consent" and accept.actor == f"identity:{person['id']}"


def test_it_accepts_an_existing_kratos_session_without_showing_a_login_form(
    browser_for, make_app, make_identity, live_bridge
):
    person = make_identity()
    browser = browser_for()
    app = make_app(skip_consent=True)
    _, login_page = browser.authorize(app["client_id"])
    browser.callback(browser.sign_in(login_page, person["email"], person["password"]))
    # Hydra forgets the login; the browser's Kratos session alone must now be enough.
    requests.delete(
        f"{live_bridge.hydra_admin_url}/admin/oauth2/auth/sessions/login",
        params={"subject": person["id"]},
        timeout=10,
    )
    _, done = browser.authorize(app["client_id"])
    assert "code" in browser.callback(done)
    assert not any("/auth/login" in url or "/self-service/login" in url for url in browser.history[-6:])


def test_it_shows_the_screen_for_prompt_consent_even_for_skip_consent_clients(
    browser_for, make_app, make_identity
):
    person = make_identity()
    app = make_app(skip_consent=True)
    browser = browser_for()
    _, login_page = browser.authorize(app["client_id"], prompt="consent")
    page = browser.sign_in(login_page, person["email"], person["password"])
    assert page.status_code == 200 and 'value="accept"' in page.text


def test_it_prefills_the_login_hint_and_names_the_client(browser_for, make_app):
    app = make_app(client_name="Hint Checker")
    _, login_page = browser_for().authorize(app["client_id"], login_hint="someone@example.test")
    assert 'value="someone@example.test"' in login_page.text
    assert "Hint Checker" in login_page.text


def test_it_demands_a_fresh_login_for_prompt_login_without_looping(
    browser_for, make_app, make_identity, live_bridge
):
    person = make_identity()
    app = make_app(skip_consent=True)
    browser = browser_for()
    _, login_page = browser.authorize(app["client_id"])
    browser.callback(browser.sign_in(login_page, person["email"], person["password"]))

    _, page = browser.authorize(app["client_id"], prompt="login")
    assert "/auth/login?flow=" in page.url  # a session exists, yet the password is asked again
    assert any("refresh=true" in url for url in browser.history)
    # Skipping the re-authentication (going straight back to the bridge) explains instead of looping.
    flow = query(page.url)["flow"]
    kratos_flow = browser.session.get(
        f"{live_bridge.kratos_public_url}/self-service/login/flows", params={"id": flow}, timeout=10
    ).json()
    return_to = kratos_flow["return_to"]
    assert "/api/hydra/bridge/login?" in return_to and "sent=" in return_to
    stuck = browser.get(return_to)
    assert stuck.status_code == 400 and "fresh sign-in" in stuck.text
    # Signing in again completes the flow.
    result = browser.callback(browser.sign_in(page, person["email"], person["password"]))
    assert "code" in result


def test_it_answers_login_required_for_prompt_none_without_a_session(browser_for, make_app):
    app = make_app()
    auth, done = browser_for().authorize(app["client_id"], prompt="none")
    location = done.headers.get("Location", "")
    assert "error=login_required" in location and auth.state in location


def _signed_in(browser_for, make_app, make_identity):
    person, app, browser = make_identity(), make_app(), browser_for()
    _, login_page = browser.authorize(app["client_id"])
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    assert "code" in browser.callback(browser.answer_consent(consent_page, remember=True))
    # Hydra remembers the login and the consent now: prompt=none gives a code without any UI.
    _, silent = browser.authorize(app["client_id"], prompt="none")
    assert "code" in browser.callback(silent)
    return person, app, browser


@pytest.fixture
def whoami_calls(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Every Kratos whoami the bridge makes from now on (the cookie header it sent)."""
    asked: list[str | None] = []
    original = kratos.whoami

    def spy(jar: str | None) -> kratos.Session | None:
        asked.append(jar)
        return original(jar)

    monkeypatch.setattr(kratos, "whoami", spy)
    return asked


def test_it_asks_kratos_once_per_remembered_flow_and_the_consent_hop_uses_the_login_hops_answer(
    browser_for, make_app, make_identity, monkeypatch, settings, whoami_calls
):
    settings.SHARED_CACHE = True  # the pass needs a cache every worker reads (one process here)
    person, app, browser = _signed_in(browser_for, make_app, make_identity)
    asked = whoami_calls
    asked.clear()  # from here on: one remembered flow
    auth, done = browser.authorize(app["client_id"])
    assert "code" in browser.callback(done)
    assert len(asked) == 1  # the login hop; the consent hop took its pass (same flow, same subject)
    # Without a pass (the login hop handing none on) the consent hop asks Kratos itself.
    asked.clear()
    monkeypatch.setattr(login_flow, "login_pass", lambda flow, session: "")
    auth, done = browser.authorize(app["client_id"])
    assert "code" in browser.callback(done) and len(asked) == 2


def test_it_asks_kratos_again_when_the_user_answers_the_consent_screen(
    browser_for, make_app, make_identity, settings, whoami_calls
):
    # The screen itself may use the login hop's pass; the answer may come minutes later, after a sign-out in
    # another tab: it always asks Kratos.
    settings.SHARED_CACHE = True
    person, app, browser = make_identity(), make_app(), browser_for()
    _, login_page = browser.authorize(app["client_id"])
    asked = whoami_calls
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    before = len(asked)  # the login hop's (the consent screen took its pass)
    assert "code" in browser.callback(browser.answer_consent(consent_page))
    assert len(asked) == before + 1


def test_it_ends_single_sign_on_when_the_user_signs_out_of_kratos_only(
    browser_for, make_app, make_identity, live_bridge, tenant
):
    person, app, browser = _signed_in(browser_for, make_app, make_identity)
    flow = browser.session.get(f"{live_bridge.kratos_public_url}/self-service/logout/browser", timeout=10)
    browser.follow(browser.get(flow.json()["logout_url"]), until="http://never.example")
    assert browser.kratos_session().status_code == 401
    auth, silent = browser.authorize(app["client_id"], prompt="none")
    result = browser.callback(silent)
    assert result["error"] == "login_required" and "code" not in result and result["state"] == auth.state
    rejected = AuditEvent.objects.filter(tenant=tenant, action="bridge.login.reject").latest("id")
    assert "Kratos session ended" in rejected.detail
    # Without prompt=none the user is asked to sign in again, and it then completes for the same person.
    _, login_page = browser.authorize(app["client_id"])
    assert "/auth/login?flow=" in login_page.url
    auth, done = auth, browser.sign_in(login_page, person["email"], person["password"])
    assert "code" in browser.callback(done)


def test_it_ends_single_sign_on_when_an_admin_revokes_the_kratos_session(
    browser_for, make_app, make_identity, live_bridge
):
    person, app, browser = _signed_in(browser_for, make_app, make_identity)
    requests.delete(
        f"{live_bridge.kratos_admin_url}/admin/identities/{person['id']}/sessions", timeout=10
    ).raise_for_status()
    _, silent = browser.authorize(app["client_id"], prompt="none")
    assert browser.callback(silent)["error"] == "login_required"


def test_it_forgets_hydras_remembered_login_when_kratos_now_knows_someone_else(
    browser_for, make_app, make_identity, live_bridge, tenant
):
    _, app, browser = _signed_in(browser_for, make_app, make_identity)
    flow = browser.session.get(f"{live_bridge.kratos_public_url}/self-service/logout/browser", timeout=10)
    browser.follow(browser.get(flow.json()["logout_url"]), until="http://never.example")
    other = make_identity()
    auth, login_page = browser.authorize(app["client_id"])
    consent_page = browser.sign_in(login_page, other["email"], other["password"])
    assert other["email"] in consent_page.text  # the consent screen names the new account
    result = browser.callback(browser.answer_consent(consent_page))
    claims = verify_id_token(
        live_bridge,
        browser.tokens(app["client_id"], result["code"], auth)["id_token"],
        app["client_id"],
        auth.nonce,
    )
    assert claims["sub"] == other["id"]
    forgot = AuditEvent.objects.get(tenant=tenant, action="bridge.login.forget_remembered")
    assert forgot.actor == f"identity:{other['id']}"
