"""The bridge in Debian's Chromium: authorization code + PKCE, remembered consent, Deny, German, logout, device,
with an axe-core scan (no serious or critical violations) of every end-user page on the way."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe

from tests.bridge.oauth import query, verify_id_token
from truss.models import ClaimsConfig

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

APP_PAGE = "<!doctype html><html lang='en'><head><title>App</title></head><body><main><h1>App</h1></main></body></html>"


def assert_accessible(page):
    """axe-core (shipped inside the axe-playwright-python wheel; injected over CDP, so the CSP is untouched)."""
    violations = Axe().run(page).response["violations"]
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]])
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], bad


@pytest.fixture
def relying_party():
    """The application's callback: a real little server (Playwright routes miss redirected requests)."""
    arrivals: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/callback"):  # not the browser's /favicon.ico
                arrivals.append(f"http://127.0.0.1:{port}{self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(APP_PAGE.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/callback", arrivals
    server.shutdown()


@pytest.fixture
def app_world(relying_party, page, live_server, ory, settings, tenant, make_hydra_client):
    settings.TRUSS_PUBLIC_URL = live_server.url
    callback, arrivals = relying_party
    client = make_hydra_client(
        client_name=f"Gallery {uuid.uuid4().hex[:4]}",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        redirect_uris=[callback],
        post_logout_redirect_uris=[callback + "/bye"],
        scope="openid email profile offline_access",
        token_endpoint_auth_method="none",
        owner=tenant.hydra_owner,
    )
    return {"client": client, "arrivals": arrivals, "ory": ory, "callback": callback}


def authorize_url(ory, client_id, callback, **extra):
    verifier = secrets.token_urlsafe(48)
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": callback,
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(12),
        "nonce": secrets.token_urlsafe(12),
        "code_challenge": base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        .rstrip(b"=")
        .decode(),
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{ory.hydra_public_url}/oauth2/auth?{urlencode(params)}", verifier, params


def exchange(ory, client_id, code, verifier, callback):
    response = requests.post(
        f"{ory.hydra_public_url}/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": callback,
            "client_id": client_id,
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def sign_in(page, person):
    page.wait_for_selector("input[name=identifier]")
    page.fill("input[name=identifier]", person["email"])
    page.fill("input[name=password]", person["password"])
    page.click("button[value=password]")


def test_it_runs_code_flow_remembers_consent_and_logs_out_of_both(
    app_world, page, tenant, make_identity, live_server
):
    ory, client, arrivals, callback = (app_world[k] for k in ("ory", "client", "arrivals", "callback"))
    ClaimsConfig.objects.create(
        tenant=tenant, id_token_claims={"team": "{{metadata_public.team}}", "who": "{{traits.name}}"}
    )
    person = make_identity(name="Chromium Person")
    requests.patch(
        f"{ory.kratos_admin_url}/admin/identities/{person['id']}",
        json=[{"op": "add", "path": "/metadata_public", "value": {"team": "blue"}}],
        timeout=10,
    ).raise_for_status()

    url, verifier, params = authorize_url(ory, client["client_id"], callback)
    page.goto(url)
    page.wait_for_selector("h1:has-text('Sign in')")
    assert page.locator("html").get_attribute("lang") == "en"
    assert_accessible(page)  # the Kratos login page, rendered by Truss
    sign_in(page, person)

    page.wait_for_selector("button[value=accept]")
    assert client["client_name"] in page.inner_text("h1")
    assert page.is_checked("input[value=openid]") and page.is_disabled("input[value=openid]")
    assert_accessible(page)  # the consent screen
    deny_box, allow_box = (
        page.locator("button[value=deny]").bounding_box(),
        page.locator("button[value=accept]").bounding_box(),
    )
    assert (deny_box["width"], deny_box["height"]) == (
        allow_box["width"],
        allow_box["height"],
    )  # equal weight
    page.check("input[name=remember]")
    page.click("button[value=accept]")
    page.wait_for_url(callback + "?**")
    result = query(arrivals[-1])
    assert result["state"] == params["state"]
    tokens = exchange(ory, client["client_id"], result["code"], verifier, callback)
    claims = verify_id_token(ory, tokens["id_token"], client["client_id"], params["nonce"])
    assert (claims["sub"], claims["team"], claims["who"], claims["email"]) == (
        person["id"],
        "blue",
        "Chromium Person",
        person["email"],
    )

    # Remembered: the second run goes straight back to the app, no login form, no consent screen.
    seen: list[str] = []
    page.on("framenavigated", lambda frame: seen.append(frame.url))
    url, verifier, params = authorize_url(ory, client["client_id"], callback)
    page.goto(url)
    page.wait_for_url(callback + "?**")
    assert not any("/bridge/consent" in u or "/auth/login" in u for u in seen), seen
    second = exchange(ory, client["client_id"], query(arrivals[-1])["code"], verifier, callback)
    assert verify_id_token(ory, second["id_token"], client["client_id"], params["nonce"])["team"] == "blue"

    # RP-initiated logout: the confirmation screen, then both sessions end.
    page.goto(
        f"{ory.hydra_public_url}/oauth2/sessions/logout?"
        + urlencode(
            {
                "id_token_hint": second["id_token"],
                "post_logout_redirect_uri": callback + "/bye",
                "state": "bye-123",
            }
        )
    )
    page.wait_for_selector("button[value=accept]")
    assert_accessible(page)  # the logout screen
    page.click("button[value=accept]")
    page.wait_for_url(callback + "/bye?**")
    assert "state=bye-123" in arrivals[-1]
    assert not any(c["name"] == "ory_kratos_session" for c in page.context.cookies())
    page.goto(authorize_url(ory, client["client_id"], callback)[0])
    page.wait_for_selector("input[name=identifier]")  # Hydra forgot the login too


def test_it_speaks_german_and_deny_returns_access_denied(app_world, page, make_identity):
    ory, client, arrivals, callback = (app_world[k] for k in ("ory", "client", "arrivals", "callback"))
    person = make_identity()
    url, _, params = authorize_url(ory, client["client_id"], callback, ui_locales="de")
    page.goto(url)
    page.wait_for_selector("h1:has-text('Anmelden')")
    assert page.locator("html").get_attribute("lang") == "de"
    assert page.is_visible("text=Passwort vergessen?")
    sign_in(page, person)
    page.wait_for_selector("button[value=deny]")
    assert "möchte auf Ihr Konto zugreifen" in page.inner_text("h1")
    assert (
        page.inner_text("button[value=deny]") == "Ablehnen"
        and page.inner_text("button[value=accept]") == "Erlauben"
    )
    assert_accessible(page)
    page.click("button[value=deny]")
    page.wait_for_url(callback + "?**")
    result = query(arrivals[-1])
    assert result["error"] == "access_denied" and result["state"] == params["state"]


@pytest.mark.no_device_flow
def test_the_device_page_says_the_connected_hydra_cannot_do_it(page, live_server, ory, settings):
    settings.TRUSS_PUBLIC_URL = live_server.url
    page.expected_statuses.add(501)  # Not Implemented, deliberately: Chromium reports the document's status
    response = page.goto(f"{live_server.url}/api/hydra/bridge/device?user_code=WDJB-MJHT")
    assert response.status == 501
    assert page.is_visible("text=does not support signing in with a device code")
    assert_accessible(page)
