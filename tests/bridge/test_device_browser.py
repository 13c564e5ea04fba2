"""The device flow in Debian's Chromium (Hydra >= v25.4): the code page, Kratos's login, the consent screen with
its device notice, the success page; then the device's poll gets tokens. axe-core scans every page on the way."""

from __future__ import annotations

import uuid

import jwt
import pytest
from django.core.cache import cache

from tests.bridge.test_browser import assert_accessible
from truss.ory import hydra

pytestmark = [
    pytest.mark.device_flow,
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


def test_a_person_signs_a_device_in_and_the_device_gets_tokens(
    page, live_server, ory, settings, tenant, make_hydra_client, make_identity
):
    settings.TRUSS_PUBLIC_URL = live_server.url
    cache.clear()
    person = make_identity(name="Tee Vee")
    app = make_hydra_client(
        client_name=f"Lounge TV {uuid.uuid4().hex[:4]}",
        grant_types=[hydra.DEVICE_GRANT, "refresh_token"],
        response_types=[],
        scope="openid email offline_access",
        token_endpoint_auth_method="none",
        owner=tenant.hydra_owner,
    )
    auth = hydra.device_authorization(app["client_id"], scope="openid email offline_access")

    page.goto(auth.verification_uri)  # the user types the code themselves
    assert "/api/hydra/bridge/device?" in page.url
    assert_accessible(page)
    page.expected_statuses.add(400)
    page.fill("input[name=user_code]", "WRONG000")
    page.click("button[type=submit]")
    assert page.is_visible("text=That code is not valid or has expired — check the code on your device.")
    assert_accessible(page)
    page.fill("input[name=user_code]", auth.user_code)
    page.click("button[type=submit]")

    page.wait_for_url("**/auth/login?flow=*")
    assert_accessible(page)
    page.fill("input[name=identifier]", person["email"])
    page.fill("input[name=password]", person["password"])
    page.click("button[value=password]")

    page.wait_for_url("**/api/hydra/bridge/consent?*")
    assert page.is_visible("text=You are signing in on another device: check the code it shows matches.")
    assert page.inner_text("code.device-code") == auth.user_code
    assert_accessible(page)
    page.click("button[value=accept]")

    page.wait_for_url("**/api/hydra/bridge/device/done?*")
    assert page.inner_text("h1") == f"You're signed in on {app['client_name']}."
    assert_accessible(page)

    tokens = hydra.device_token(app["client_id"], auth.device_code)
    assert tokens.access_token and tokens.refresh_token
    assert jwt.decode(str(tokens.id_token), options={"verify_signature": False})["sub"] == person["id"]
