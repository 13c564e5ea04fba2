"""The Keys page and the assertion workbench in Debian's Chromium: no console errors or CSP violations; the
workbench accepts a correct assertion and names the failing claims of a throwaway-key one."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.contrib.auth.models import User

from tests.fixtures.tenants import OPERATOR_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def root_page(signed_in_as, ory, tenant):
    return signed_in_as(User.objects.create_superuser("rooty", password=OPERATOR_PASSWORD))


def test_it_shows_the_keys_page_with_the_signer_and_the_rotation_panel(root_page, ory):
    page = root_page
    page.click("nav >> text=Signing keys")
    page.wait_for_selector("h1:has-text('Signing keys')")
    assert page.locator(".badge:has-text('signing')").count() >= 1
    assert "hydra.openid.id-token" in page.inner_text("main")
    assert page.locator("#rotation").is_visible() and page.locator("text=Publish next key").is_visible()
    page.fill("#key_set_id", "truss.browser")
    page.select_option("#key_algorithm", "ES256")
    page.click("button:has-text('Create key')")
    page.wait_for_selector("text=Created ES256 key")
    assert page.locator("code:has-text('truss.browser')").count() >= 1


def test_the_workbench_checks_assertions_claim_by_claim(root_page, live_server, ory):
    page = root_page
    key = ec.generate_private_key(ec.SECP256R1())
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    issuer = f"https://partner-{uuid.uuid4().hex[:6]}.example.com"
    response = page.request.post(
        f"{live_server.url}/api/hydra/trust",
        data=json.dumps(
            {
                "issuer": issuer,
                "subject": "svc",
                "scope": ["inventory:read"],
                "expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
                "public_key": public,
            }
        ),
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": next(c["value"] for c in page.context.cookies() if c["name"] == "truss_csrftoken"),
        },
    )
    assert response.status == 201, response.text()
    created = response.json()
    page.goto(f"{live_server.url}/console/trust/{created['id']}/")
    page.wait_for_selector("#workbench")

    now = int(time.time())
    good = jwt.encode(
        {
            "iss": issuer,
            "sub": "svc",
            "aud": f"{ory.hydra_public_url}/oauth2/token",
            "iat": now,
            "exp": now + 300,
            "jti": "j1",
        },
        key,
        algorithm="ES256",
        headers={"kid": created["public_jwk"]["kid"]},
    )
    page.fill("#wb-assertion", good)
    page.click("#wb-check")
    page.wait_for_selector("#wb-verdict:has-text('would accept')")
    assert page.locator("#wb-results tr.fail").count() == 0

    page.fill(
        "#wb-assertion",
        jwt.encode(
            {"iss": issuer, "sub": "someone-else", "aud": "x", "exp": now - 10}, key, algorithm="ES256"
        ),
    )
    page.click("#wb-check")
    page.wait_for_selector("#wb-verdict:has-text('would refuse')")
    failing = page.locator("#wb-results tr.fail td:first-child").all_inner_texts()
    assert {"sub", "aud", "exp", "iat", "jti"} <= set(failing)

    page.click("#wb-generate")  # a throwaway key in the browser: everything passes but the signature
    page.wait_for_selector("#wb-verdict:has-text('would refuse')")
    assert page.locator("#wb-results tr.fail td:first-child").all_inner_texts() == ["signature"]
