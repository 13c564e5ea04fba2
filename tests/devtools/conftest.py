from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from django.urls import reverse

from oauth2_admin.devtools import flows
from tests.bridge.oauth import Browser
from truss import bridge_check

SECRET = "flow-tester-secret-" + "x" * 20


@pytest.fixture
def flow_world(ory, live_server, settings, tenant, console, make_hydra_client, make_identity):
    """A live bridge, a member operator (Django test client), an end user and a confidential code client whose
    redirect URI is the flow tester's callback."""
    settings.TRUSS_PUBLIC_URL = live_server.url
    bridge_check.clear_cache()

    def code_client(**fields: Any) -> dict[str, Any]:
        body = {
            "client_name": f"Flow app {uuid.uuid4().hex[:4]}",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [flows.callback_url()],
            "scope": "openid email profile offline_access",
            "token_endpoint_auth_method": "client_secret_post",
            "client_secret": SECRET,
            "owner": tenant.hydra_owner,
            **fields,
        }
        return dict(make_hydra_client(**body))

    return {"ory": ory, "operator": console("member"), "code_client": code_client, "person": make_identity()}


def field_value(body: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*value="([^"]*)"', body)
    assert match, f"no #{element_id} in page"
    return html.unescape(match.group(1))


def sign_in_and_consent(world: dict[str, Any], authorization_url: str, action: str = "accept") -> str:
    """The end user's part, as a cookie-jar browser: Hydra → bridge → Kratos → consent → back to the callback.
    Returns the callback URL Hydra redirected to (the public page answered it, redeeming nothing)."""
    browser = Browser(world["ory"])
    login_page = browser.follow(browser.get(authorization_url))
    consent_page = browser.sign_in(login_page, world["person"]["email"], world["person"]["password"])
    done = browser.answer_consent(consent_page, action=action)
    assert done.url.startswith(flows.callback_url()), done.url
    return str(done.url)


def start_run(operator: Any, client_id: str, **options: str) -> tuple[str, str]:
    """(run page URL, authorization URL) of a new auth-code run."""
    response = operator.post(reverse("console:devtools:flow_start"), {"client": client_id, **options})
    assert response.status_code == 302, response.content.decode()[:2000]
    page = operator.get(response["Location"]).content.decode()
    return response["Location"], field_value(page, "auth-url")
