"""The device authorization grant (RFC 8628) through the real Hydra (>= v25.4) → bridge → Kratos → bridge → Hydra,
hop by hop: code page, login, consent (never skipped, with the device notice), success page, polling to tokens."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urljoin

import jwt
import pytest
import requests
from django.core.cache import cache

from bridge.flows import device as device_flow
from tests.bridge.oauth import Browser, forms
from truss.models import AuditEvent, Tenant
from truss.ory import hydra

pytestmark = [pytest.mark.device_flow, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REFUSED = "That code is not valid or has expired — check the code on your device."


@pytest.fixture(autouse=True)
def _fresh_attempt_counters():
    cache.clear()  # the per-address counter is shared by every test (all browsers are 127.0.0.1)
    yield
    cache.clear()


@pytest.fixture
def make_device_app(make_hydra_client, tenant):
    def make(**fields: Any) -> dict[str, Any]:
        return dict(
            make_hydra_client(
                client_name=fields.pop("client_name", f"Living-room TV {uuid.uuid4().hex[:4]}"),
                grant_types=[hydra.DEVICE_GRANT, "refresh_token"],
                response_types=[],
                scope="openid email profile offline_access",
                token_endpoint_auth_method="none",
                owner=tenant.hydra_owner,
                **fields,
            )
        )

    return make


def start(app: dict[str, Any], scope: str = "openid email offline_access") -> hydra.DeviceAuthorization:
    return hydra.device_authorization(app["client_id"], scope=scope)


def open_code_page(browser: Browser, url: str) -> requests.Response:
    page = browser.follow(browser.get(url))
    assert page.status_code == 200 and "/api/hydra/bridge/device?" in page.url, (page.status_code, page.url)
    return page


def submit_code(browser: Browser, page: requests.Response, code: str | None = None) -> requests.Response:
    form = next(f for f in forms(page.text) if "user_code" in f.fields)
    data = {**form.fields}
    if code is not None:
        data["user_code"] = code
    return browser.post(urljoin(page.url, form.action), data)


def poll(app: dict[str, Any], auth: hydra.DeviceAuthorization) -> hydra.TokenResponse | str:
    try:
        return hydra.device_token(app["client_id"], auth.device_code)
    except hydra.HydraBadRequest as exc:
        return str(exc.error)


def sign_in_and_consent(
    browser: Browser, auth: hydra.DeviceAuthorization, person: dict[str, Any]
) -> tuple[requests.Response, requests.Response]:
    page = open_code_page(browser, str(auth.verification_uri_complete))
    login_page = browser.follow(submit_code(browser, page))
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    assert consent_page.status_code == 200 and "/api/hydra/bridge/consent" in consent_page.url
    return consent_page, browser.answer_consent(consent_page)


def test_it_runs_the_device_flow_through_login_and_consent_to_tokens(
    browser_for, make_device_app, make_identity, live_bridge, tenant
):
    person = make_identity(name="Dee Vice")
    app = make_device_app()
    auth = start(app)
    assert poll(app, auth) == "authorization_pending"
    browser = browser_for()

    page = open_code_page(browser, str(auth.verification_uri_complete))
    assert f'value="{auth.user_code}"' in page.text  # prefilled from verification_uri_complete
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    login_page = browser.follow(submit_code(browser, page))
    assert "/auth/login?flow=" in login_page.url
    assert poll(app, auth) == "authorization_pending"  # the code alone grants nothing

    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    assert "/api/hydra/bridge/consent" in consent_page.url
    assert "You are signing in on another device: check the code it shows matches." in consent_page.text
    assert f'<code class="device-code">{auth.user_code}</code>' in consent_page.text
    assert app["client_name"] in consent_page.text

    done = browser.answer_consent(consent_page)
    assert done.status_code == 200 and "/api/hydra/bridge/device/done?" in done.url
    assert f"You're signed in on {app['client_name']}." in done.text
    assert "You can close this page and return to your device." in done.text
    assert "frame-ancestors 'none'" in done.headers["Content-Security-Policy"]

    tokens = poll(app, auth)
    assert isinstance(tokens, hydra.TokenResponse), tokens
    assert tokens.access_token and tokens.refresh_token and tokens.id_token
    claims = jwt.decode(tokens.id_token, options={"verify_signature": False})
    assert claims["sub"] == person["id"] and claims["aud"] == [app["client_id"]]
    assert claims["email"] == person["email"]
    assert poll(app, auth) == "invalid_grant"  # a device code is good for one set of tokens

    events = AuditEvent.objects.filter(action="bridge.device.accept", outcome="success")
    assert [(e.tenant_id, e.target, e.actor) for e in events] == [(tenant.id, app["client_id"], "anonymous")]
    actions = list(
        AuditEvent.objects.filter(target=app["client_id"], action__startswith="bridge.")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["bridge.device.accept", "bridge.login.accept", "bridge.consent.accept"]


def test_it_refuses_a_wrong_code_with_the_clear_message_and_audits_it(browser_for, make_device_app):
    app = make_device_app()
    auth = start(app)
    browser = browser_for()
    page = open_code_page(browser, auth.verification_uri)  # no code in the link: the user types it
    assert 'value=""' in page.text
    wrong = "x" + auth.user_code[1:] if auth.user_code[0] != "x" else "y" + auth.user_code[1:]
    refused = submit_code(browser, page, wrong)
    assert refused.status_code == 400
    assert REFUSED in refused.text and 'aria-invalid="true"' in refused.text
    assert poll(app, auth) == "authorization_pending"
    event = AuditEvent.objects.get(action="bridge.device.accept")
    assert (event.outcome, event.actor) == ("failure", "anonymous")
    assert "wrong, expired or already used" in event.detail

    # The same page (same challenge) still takes the right code.
    assert "/auth/login?flow=" in browser.follow(submit_code(browser, refused, auth.user_code)).url


def test_it_refuses_a_code_that_was_already_used(browser_for, make_device_app, make_identity):
    person = make_identity()
    app = make_device_app()
    auth = start(app)
    sign_in_and_consent(browser_for(), auth, person)
    assert isinstance(poll(app, auth), hydra.TokenResponse)

    again = browser_for()
    page = open_code_page(again, str(auth.verification_uri_complete))
    refused = submit_code(again, page)
    assert refused.status_code == 400 and REFUSED in refused.text


def test_it_stops_checking_codes_after_five_wrong_ones_for_one_request(browser_for, make_device_app):
    app = make_device_app()
    auth = start(app)
    browser = browser_for()
    page = open_code_page(browser, auth.verification_uri)
    for n in range(device_flow.FAILURES_PER_CHALLENGE):
        page = submit_code(browser, page, f"WRONG{n:03d}")
        assert page.status_code == 400 and REFUSED in page.text
    blocked = submit_code(browser, page, auth.user_code)  # even the right code is no longer checked
    assert blocked.status_code == 429
    assert "Too many attempts." in blocked.text and "Wait 10 minutes" in blocked.text
    assert 'name="user_code"' not in blocked.text
    assert poll(app, auth) == "authorization_pending"
    outcomes = list(
        AuditEvent.objects.filter(action="bridge.device.accept")
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["failure"] * device_flow.FAILURES_PER_CHALLENGE + ["denied"]

    # Another device request from elsewhere is unaffected.
    other = browser_for()
    fresh = open_code_page(other, str(start(app).verification_uri_complete))
    assert submit_code(other, fresh).status_code == 302  # 5 of the address's 20 used: still allowed


def test_it_stops_an_address_that_guesses_across_many_requests(browser_for, make_device_app, monkeypatch):
    monkeypatch.setattr(device_flow, "FAILURES_PER_IP", 3)
    app = make_device_app()
    browser = browser_for()
    for n in range(3):
        page = open_code_page(browser, start(app).verification_uri)  # a fresh challenge each time
        assert submit_code(browser, page, f"GUESS{n:03d}").status_code == 400
    auth = start(app)
    blocked = submit_code(browser, open_code_page(browser, str(auth.verification_uri_complete)))
    assert blocked.status_code == 429 and "Too many attempts." in blocked.text
    assert AuditEvent.objects.filter(action="bridge.device.accept", outcome="denied").count() == 1


def test_it_never_skips_device_consent_even_for_a_trusted_client_or_a_remembered_one(
    browser_for, make_device_app, make_identity
):
    person = make_identity()
    app = make_device_app(skip_consent=True)
    browser = browser_for()
    consent_page, _ = sign_in_and_consent(browser, start(app), person)
    assert "You are signing in on another device" in consent_page.text

    # Remembered consent, remembered login: the login is skipped, the consent screen still is not.
    auth = start(app)
    page = open_code_page(browser, str(auth.verification_uri_complete))
    consent_page = browser.follow(submit_code(browser, page))
    assert consent_page.status_code == 200 and "/api/hydra/bridge/consent" in consent_page.url
    assert "You are signing in on another device" in consent_page.text
    done = browser.answer_consent(consent_page, remember=True)
    assert "/api/hydra/bridge/device/done?" in done.url
    assert isinstance(poll(app, auth), hydra.TokenResponse)
    skipped = AuditEvent.objects.filter(action="bridge.consent.accept", detail__startswith="skipped")
    assert not skipped.exists()


def test_the_authorization_code_consent_screen_has_no_device_notice(browser_for, make_app, make_identity):
    person = make_identity()
    browser = browser_for()
    _, login_page = browser.authorize(make_app()["client_id"])
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    assert "/api/hydra/bridge/consent" in consent_page.url
    assert "another device" not in consent_page.text


def test_it_says_a_denied_device_was_not_signed_in_and_issues_no_tokens(
    browser_for, make_device_app, make_identity
):
    person = make_identity()
    app = make_device_app()
    auth = start(app)
    browser = browser_for()
    page = open_code_page(browser, str(auth.verification_uri_complete))
    consent_page = browser.sign_in(
        browser.follow(submit_code(browser, page)), person["email"], person["password"]
    )
    denied = browser.answer_consent(consent_page, action="deny")
    # Hydra would show a bare JSON error at its verify URL: the bridge says it in words instead.
    assert denied.status_code == 200 and "/api/hydra/bridge/consent" in denied.url
    assert f"{app['client_name']} was not signed in." in denied.text
    assert "You did not allow access, so nothing was shared." in denied.text
    # Hydra v26.2 never answers "access_denied" to the device: it keeps polling until the code expires.
    assert poll(app, auth) in ("authorization_pending", "access_denied")
    assert AuditEvent.objects.filter(action="bridge.consent.reject", outcome="success").count() == 1


def test_the_success_page_names_the_client_in_its_tenants_look_and_in_german(
    browser_for, make_device_app, live_bridge, tenant, settings
):
    Tenant.objects.filter(pk=tenant.pk).update(name="Acme Living")
    app = make_device_app(client_name="Acme TV")
    done = f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/device/done"
    page = browser_for("de").get(f"{done}?client_id={app['client_id']}")
    assert page.status_code == 200 and page.headers["Content-Language"] == "de"
    assert "Sie sind auf Acme TV angemeldet." in page.text
    assert '<span class="eu-brand-name">Acme Living</span>' in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    # The name comes from Hydra, never from the query: an unknown client gets the plain wording.
    unknown = browser_for().get(f"{done}?client_id=Evil%20Corp")
    assert unknown.status_code == 200 and "Your device is signed in." in unknown.text
    assert "Evil Corp" not in unknown.text and '<span class="eu-brand-name">Truss</span>' in unknown.text


@pytest.mark.parametrize(
    "query", ["", "?device_challenge=", "?device_challenge=%3Cscript%3E", "?user_code=ABCD1234"]
)
def test_it_answers_a_missing_or_malformed_challenge_with_a_friendly_400(browser_for, query, settings):
    page = browser_for().get(f"{settings.TRUSS_PUBLIC_URL}/api/hydra/bridge/device{query}")
    assert page.status_code == 400 and "This sign-in link is not valid" in page.text


def test_it_refuses_a_code_posted_without_the_csrf_token(browser_for, make_device_app):
    auth = start(make_device_app())
    browser = browser_for()
    page = open_code_page(browser, str(auth.verification_uri_complete))
    form = next(f for f in forms(page.text) if "user_code" in f.fields)
    data = {k: v for k, v in form.fields.items() if k != "csrfmiddlewaretoken"}
    assert browser.post(urljoin(page.url, form.action), data).status_code == 403
    assert not AuditEvent.objects.filter(action="bridge.device.accept").exists()


def test_it_says_sign_in_is_unavailable_when_hydra_is_down(
    browser_for, make_device_app, live_bridge, settings
):
    auth = start(make_device_app())
    browser = browser_for()
    page = open_code_page(browser, str(auth.verification_uri_complete))
    settings.HYDRA_ADMIN_URL = "http://127.0.0.1:9"  # nothing listens there
    hydra.clear_version_cache()
    down = submit_code(browser, page)
    assert down.status_code == 503 and "Sign-in is temporarily unavailable" in down.text
