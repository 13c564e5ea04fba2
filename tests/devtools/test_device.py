"""The flow tester's device authorization run (RFC 8628): Truss plays the device, shows the user code, the
verification URIs and a QR code, polls Hydra at its interval (one token request per poll, each a timeline entry)
while the end user signs in through the real bridge and Kratos, then shows the verified tokens. On a Hydra
without the device grant (the pinned v2.3.0) the flow tester says so and offers nothing."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from oauth2_admin.devtools import flows
from oauth2_admin.devtools.views import qr_svg
from tests.bridge.oauth import Browser
from tests.bridge.test_device import open_code_page, submit_code
from tests.devtools.conftest import SECRET
from truss.models import AuditEvent
from truss.ory import hydra

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _fresh_attempt_counters():
    cache.clear()  # the bridge's per-address code-attempt counter is shared by every test
    yield
    cache.clear()


@pytest.fixture
def device_app(flow_world, make_hydra_client, tenant):
    def make(**fields: Any) -> dict[str, Any]:
        body = {
            "client_name": f"Living-room TV {uuid.uuid4().hex[:4]}",
            "grant_types": [hydra.DEVICE_GRANT, "refresh_token"],
            "response_types": [],
            "scope": "openid email profile offline_access",
            "token_endpoint_auth_method": "none",
            "owner": tenant.hydra_owner,
            **fields,
        }
        return dict(make_hydra_client(**body))

    return make


def _persisted_text() -> str:
    from django.contrib.sessions.models import Session

    sessions = " ".join(str(s.get_decoded()) for s in Session.objects.all())
    return sessions + " ".join(str((e.before, e.after, e.target)) for e in AuditEvent.objects.all())


def _start(operator: Any, client_id: str, **fields: str) -> tuple[str, str]:
    response = operator.post(reverse("console:devtools:device_start"), {"client": client_id, **fields})
    assert response.status_code == 302, response.content.decode()[:3000]
    run_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    return response["Location"], run_id


def _user_finishes(world: dict[str, Any], run: dict[str, Any], action: str = "accept") -> None:
    """The end user's part on another device: verification_uri_complete → code page → Kratos → consent."""
    browser = Browser(world["ory"])
    page = open_code_page(browser, run["device"]["verification_uri_complete"])
    assert f'value="{run["device"]["user_code"]}"' in page.text  # prefilled from the complete URI
    login_page = browser.follow(submit_code(browser, page))
    consent_page = browser.sign_in(login_page, world["person"]["email"], world["person"]["password"])
    assert "/api/hydra/bridge/consent" in consent_page.url, consent_page.url
    browser.answer_consent(consent_page, action=action)


@pytest.mark.integration
@pytest.mark.no_device_flow
@pytest.mark.django_db(transaction=True)
def test_on_a_hydra_without_the_device_grant_the_flow_tester_says_so_and_offers_nothing(
    flow_world, device_app, tenant
):
    operator = flow_world["operator"]
    app = device_app()
    body = operator.get(reverse("console:devtools:flow")).content.decode()
    assert 'data-testid="device-unsupported"' in body and "has no device authorization grant" in body
    assert reverse("console:devtools:device_start") not in body
    refused = operator.post(reverse("console:devtools:device_start"), {"client": app["client_id"]})
    assert refused.status_code == 302
    assert "has no device authorization grant" in operator.get(refused["Location"]).content.decode()
    assert flows.recent(operator.session, tenant.slug) == []


@pytest.mark.integration
@pytest.mark.device_flow
@pytest.mark.django_db(transaction=True)
def test_it_runs_a_device_flow_polls_at_hydras_interval_and_shows_verified_tokens(flow_world, device_app):
    operator, app = flow_world["operator"], device_app()
    flow_page = operator.get(reverse("console:devtools:flow")).content.decode()
    assert reverse("console:devtools:device_start") in flow_page and app["client_id"] in flow_page

    run_url, run_id = _start(operator, app["client_id"], scope="openid email offline_access")
    run = operator.session[flows.SESSION_KEY][run_id]
    device = run["device"]
    assert device["state"] == "pending" and device["interval"] == 5 and device["user_code"]
    page = operator.get(run_url)
    body = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    assert device["user_code"] in body and device["verification_uri"] in body
    assert device["verification_uri_complete"].replace("&", "&amp;") in body  # shown as text
    qr = re.search(r'<figure class="device-qr"[^>]*><svg[^>]*>.*?</svg>', body, re.S)
    assert qr and re.search(r'<path[^>]*\sd="M[0-9]', qr.group(0)) and "style=" not in qr.group(0)
    assert 'hx-trigger="every 5s"' in body and "waiting for the user" in body
    assert run["device_code"] not in body  # masked in the timeline

    pending = operator.post(reverse("console:devtools:run_poll", args=[run_id]), **HTMX)
    fragment = pending.content.decode()
    assert pending.status_code == 200 and "authorization_pending" in fragment
    assert 'id="device-status"' in fragment and 'hx-trigger="every 5s"' in fragment
    assert 'id="run-timeline" aria-labelledby="timeline-title" hx-swap-oob="true"' in fragment
    assert "Poll 1 (device_code grant)" in fragment and "$DEVICE_CODE" in fragment

    _user_finishes(flow_world, run)

    done = operator.post(reverse("console:devtools:run_poll", args=[run_id]), **HTMX)
    assert done.status_code == 204 and done["HX-Location"] == run_url  # the run is over: the page reloads
    body = operator.get(run_url).content.decode()
    assert (
        "tokens issued" in body and 'hx-trigger="every' not in body and 'data-testid="device-qr"' not in body
    )
    assert 'data-testid="id-token-verdict"><span class="badge success">verified</span>' in body
    assert flow_world["person"]["email"] in body  # userinfo
    assert "Poll 2 (device_code grant)" in body
    run = operator.session[flows.SESSION_KEY][run_id]
    assert run["tokens"]["refresh_token"] and "device_code" not in run

    # Over: more polls (a stale tab) ask Hydra nothing.
    operator.post(reverse("console:devtools:run_poll", args=[run_id]), **HTMX)
    assert len(operator.session[flows.SESSION_KEY][run_id]["timeline"]) == len(run["timeline"])


@pytest.mark.integration
@pytest.mark.device_flow
@pytest.mark.django_db(transaction=True)
def test_a_confidential_client_types_its_secret_for_each_request_and_it_is_never_kept(flow_world, device_app):
    operator = flow_world["operator"]
    app = device_app(token_endpoint_auth_method="client_secret_basic", client_secret=SECRET)
    missing = operator.post(reverse("console:devtools:device_start"), {"client": app["client_id"]})
    assert missing.status_code == 400 and "type its secret" in missing.content.decode()

    run_url, run_id = _start(operator, app["client_id"], secret=SECRET)
    run = operator.session[flows.SESSION_KEY][run_id]
    assert run["device"]["state"] == "pending"
    body = operator.get(run_url).content.decode()
    assert 'id="device-secret"' in body and 'hx-include="#device-poll-form"' in body

    no_secret = operator.post(reverse("console:devtools:run_poll", args=[run_id]), **HTMX).content.decode()
    assert "Type the client&#x27;s secret" in no_secret
    assert len(operator.session[flows.SESSION_KEY][run_id]["timeline"]) == 1  # Hydra was not asked
    pending = operator.post(reverse("console:devtools:run_poll", args=[run_id]), {"secret": SECRET}, **HTMX)
    assert "authorization_pending" in pending.content.decode()

    _user_finishes(flow_world, run)
    done = operator.post(reverse("console:devtools:run_poll", args=[run_id]), {"secret": SECRET}, **HTMX)
    assert done.status_code == 204, done.content.decode()[-3000:]
    body = operator.get(run_url).content.decode()
    assert "tokens issued" in body and 'hx-trigger="every' not in body and 'id="device-secret"' not in body
    assert "Basic •••••• (client id and the secret typed for this run)" in body and "$CLIENT_SECRET" in body
    assert SECRET not in body and SECRET not in _persisted_text()


def test_slow_down_adds_five_seconds_and_an_expired_code_is_not_polled(monkeypatch):
    run: dict[str, Any] = {
        "id": "r" * 24,
        "kind": "device_code",
        "client_id": "tv",
        "auth_method": "none",
        "timeline": [],
        "device_code": "dc-" + "x" * 30,
        "device": {
            "state": "pending",
            "polls": 0,
            "interval": 5,
            "expires_at": time.time() + 600,
            "note": "",
        },
    }
    calls: list[str] = []

    def slow_down(client_id: str, code: str, **_: Any) -> hydra.TokenResponse:
        calls.append(code)
        raise hydra.HydraBadRequest(400, "slow_down", "polling too fast")

    monkeypatch.setattr(hydra, "device_token", slow_down)
    flows.poll_device(run, "")
    assert run["device"]["interval"] == 10 and run["device"]["state"] == "pending"
    assert run["timeline"][-1]["response"]["error"] == "slow_down" and len(calls) == 1
    assert run["device_code"] not in str(run["timeline"])  # the device code is masked

    run["device"]["expires_at"] = time.time() - 1
    flows.poll_device(run, "")
    assert run["device"]["state"] == "expired" and len(calls) == 1 and "device_code" not in run


@pytest.mark.parametrize(
    ("error", "state"),
    [
        ("access_denied", "denied"),
        ("expired_token", "expired"),
        ("invalid_grant", "failed"),
        ("authorization_pending", "pending"),
    ],
)
def test_hydras_answer_decides_whether_polling_goes_on(monkeypatch, error, state):
    run: dict[str, Any] = {
        "id": "r" * 24,
        "kind": "device_code",
        "client_id": "tv",
        "auth_method": "none",
        "timeline": [],
        "device_code": "dc-" + "x" * 30,
        "device": {
            "state": "pending",
            "polls": 0,
            "interval": 5,
            "expires_at": time.time() + 600,
            "note": "",
        },
    }

    def answer(client_id: str, code: str, **_: Any) -> hydra.TokenResponse:
        raise hydra.HydraBadRequest(400, error, "")

    monkeypatch.setattr(hydra, "device_token", answer)
    flows.poll_device(run, "")
    assert run["device"]["state"] == state and run["device"]["interval"] == 5
    assert ("device_code" in run) == (state == "pending")  # over: the device code is dropped


def test_the_qr_code_is_plain_svg_paths_with_no_style_attribute():
    svg = str(qr_svg("https://hydra.example.com/oauth2/device/verify?user_code=ABCD-EFGH&x=<y>"))
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<path" in svg
    assert "style" not in svg and "<y>" not in svg and "user_code" not in svg


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.device_flow
@pytest.mark.django_db(transaction=True)
def test_in_chromium_the_run_page_polls_by_itself_until_the_tokens_arrive(
    page, live_server, settings, flow_world, device_app
):
    from tests.bridge.test_browser import assert_accessible

    app = device_app()
    operator = flow_world["operator"]
    name = settings.SESSION_COOKIE_NAME
    page.context.add_cookies([{"name": name, "value": operator.cookies[name].value, "url": live_server.url}])
    page.goto(live_server.url + reverse("console:devtools:flow"))
    form = page.locator("form[action$='/devtools/flow/device']")
    form.locator("select[name=client]").select_option(app["client_id"])
    form.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=device-qr] svg path")
    assert_accessible(page)
    run_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    run = operator.session[flows.SESSION_KEY][run_id]
    assert page.inner_text("[data-testid=user-code]") == run["device"]["user_code"]

    page.wait_for_selector("#run-timeline >> text=Poll 1 (device_code grant)", timeout=15_000)
    assert "waiting for the user" in page.inner_text("[data-testid=device-status]")
    _user_finishes(flow_world, run)
    page.wait_for_selector("[data-testid=id-token-verdict]", timeout=20_000)
    assert page.inner_text("[data-testid=id-token-verdict]").startswith("verified")
    assert "tokens issued" in page.inner_text("[data-testid=device-status]")
