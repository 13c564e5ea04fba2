"""The JWT debugger decodes and verifies in the browser: a real ID token verifies, a tampered one does not, and
no request carries the token."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from oauth2_admin.devtools import flows
from tests.bridge.test_browser import assert_accessible
from tests.devtools.conftest import SECRET, sign_in_and_consent, start_run

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _real_id_token(flow_world) -> str:
    operator, client = flow_world["operator"], flow_world["code_client"]()
    _, auth_url = start_run(operator, client["client_id"])
    state = parse_qs(urlsplit(auth_url).query)["state"][0]
    operator.get(sign_in_and_consent(flow_world, auth_url))
    operator.post(reverse("console:devtools:run_exchange", args=[state]), {"secret": SECRET})
    return str(operator.session[flows.SESSION_KEY][state]["tokens"]["id_token"])


def test_it_renders_hydras_public_keys_and_no_token_field_that_could_be_submitted(ory, console):
    body = console("viewer").get(reverse("console:devtools:jwt")).content.decode()
    assert '<script id="jwt-jwks" type="application/json">' in body and '"kty": "RSA"' in body
    assert '"d":' not in body  # public halves only
    assert "<form" not in body.split('id="jwt-debugger"')[1].split('id="jwt-jwks"')[0]
    assert 'name="' not in body.split('id="jwt-input"')[1].split(">")[0]


def test_it_decodes_without_hydra_and_says_it_cannot_verify(console, hydra_down, db):
    response = console("viewer").get(reverse("console:devtools:jwt"))
    assert response.status_code == 200 and "Hydra is unavailable" in response.content.decode()


@pytest.mark.browser
def test_it_verifies_a_real_id_token_and_flags_tampered_and_unsigned_ones_without_sending_them(
    page, flow_world, signed_in_as, make_operator, tenant
):
    id_token = _real_id_token(flow_world)
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered = f"{header}.{_b64({**claims, 'sub': 'someone-else'})}.{signature}"
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({**claims, 'exp': 1000})}."
    seen: list[str] = []
    page.on("request", lambda r: seen.append(f"{r.url} {r.post_data or ''} {r.headers}"))
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)

    signed_in_as(make_operator(tenant, "viewer", username="vera"))
    page.click("nav >> text=JWT debugger")
    page.wait_for_selector("#jwt-input")

    page.fill("#jwt-input", id_token)
    page.wait_for_selector("#jwt-verdict:has-text('signature verified')")
    assert claims["sub"] in page.inner_text("#jwt-payload")
    assert "Subject" in page.inner_text("#jwt-claims") and "in " in page.inner_text("#jwt-times")
    assert_accessible(page)

    page.fill("#jwt-input", tampered)
    page.wait_for_selector("#jwt-verdict:has-text('not verified')")
    assert "does not match the published key" in page.inner_text("#jwt-verdict")

    page.fill("#jwt-input", unsigned)
    page.wait_for_selector("#jwt-warnings:has-text('Suspicious')")
    assert "Expired" in page.inner_text("#jwt-warnings")

    page.fill("#jwt-input", f"{_b64({'alg': 'HS256'})}.{_b64(claims)}.c2ln")
    page.wait_for_selector("#jwt-warnings:has-text('shared-secret')")
    requests_seen = " ".join(seen)
    for part in (signature, payload, tampered.split(".")[1], unsigned.split(".")[1]):
        assert part not in requests_seen
    assert csp == []
