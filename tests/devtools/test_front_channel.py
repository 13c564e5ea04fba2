"""The flow tester's implicit and hybrid runs (discouraged, RFC 9700 §2.1.2), through the real Hydra, bridge and
Kratos. The answer comes back in the URL fragment; these tests post it to the console endpoint the way
static/js/devtools-fragment.js does (form-encoded, CSRF header from the page)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from oauth2_admin.devtools import flows
from tests.bridge.test_browser import assert_accessible, sign_in
from tests.devtools.conftest import SECRET, sign_in_and_consent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ALL_TYPES = ["code", "id_token token", "id_token", "code id_token", "code token", "code id_token token"]


def front_client(world: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"grant_types": ["authorization_code", "implicit", "refresh_token"], "response_types": ALL_TYPES}
    return dict(world["code_client"](**{**body, **fields}))


def start(operator: Client, client_id: str, response_type: str, **options: str) -> tuple[str, str]:
    """(state, authorization URL) of a new implicit or hybrid run."""
    response = operator.post(
        reverse("console:devtools:front_channel_start"),
        {"client": client_id, "response_type": response_type, **options},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    page = operator.get(response["Location"]).content.decode()
    assert 'data-testid="discouraged"' in page and "RFC 9700" in page
    match = re.search(r'id="auth-url"[^>]*value="([^"]*)"', page)
    assert match
    auth_url = match.group(1).replace("&amp;", "&")
    return parse_qs(urlsplit(auth_url).query)["state"][0], auth_url


def fragment_of(url: str) -> dict[str, str]:
    fragment = urlsplit(url).fragment
    assert fragment, url
    return {k: v[0] for k, v in parse_qs(fragment).items()}


def post_fragment(operator: Client, fragment: dict[str, str]) -> Any:
    """What the callback page's script does: load the page (CSRF cookie and token), post the fragment with the
    token in the X-CSRFToken header. CSRF checks are on for this request, as in a browser."""
    page = operator.get(reverse("console:devtools:callback")).content.decode()
    match = re.search(r'data-csrf="([^"]+)"', page)
    assert match and "devtools-fragment.js" in page
    operator.handler.enforce_csrf_checks = True
    try:
        return operator.post(
            reverse("console:devtools:callback_fragment"), fragment, HTTP_X_CSRFTOKEN=match.group(1)
        )
    finally:
        operator.handler.enforce_csrf_checks = False


def test_it_offers_front_channel_runs_only_for_clients_that_allow_them(flow_world):
    operator = flow_world["operator"]
    plain = flow_world["code_client"]()
    implicit_only = front_client(flow_world, grant_types=["implicit"], response_types=["id_token token"])
    page = operator.get(reverse("console:devtools:flow")).content.decode()
    assert 'data-testid="front-discouraged"' in page and "RFC 9700" in page and "§2.1.2" in page
    assert implicit_only["client_id"] in page.split('id="front-title"')[1].split("</section>")[0]
    assert plain["client_id"] not in page.split('id="front-title"')[1].split("</section>")[0]
    refused = operator.post(
        reverse("console:devtools:front_channel_start"),
        {"client": plain["client_id"], "response_type": "id_token token"},
    )
    assert refused.status_code == 400
    wrong_type = operator.post(
        reverse("console:devtools:front_channel_start"),
        {"client": implicit_only["client_id"], "response_type": "code id_token"},
    )
    assert wrong_type.status_code == 400 and "may not use" in wrong_type.content.decode()


def test_it_runs_implicit_end_to_end_verifying_nonce_and_at_hash(flow_world):
    operator, client = flow_world["operator"], front_client(flow_world)
    state, auth_url = start(operator, client["client_id"], "id_token token")
    params = parse_qs(urlsplit(auth_url).query)
    assert params["response_type"] == ["id_token token"] and "code_challenge" not in params

    fragment = fragment_of(sign_in_and_consent(flow_world, auth_url))
    assert fragment["state"] == state and fragment["access_token"] and fragment["id_token"]
    answer = post_fragment(operator, fragment)
    assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
    location = answer.json()["location"]
    assert location.endswith(f"?state={state}")
    body = operator.get(location).content.decode()
    assert 'data-testid="id-token-verdict"><span class="badge success">verified</span>' in body
    assert "nonce matches the one this run sent" in body and "at_hash matches the access token" in body
    assert fragment["access_token"] in body  # shown in full on the result
    assert flow_world["person"]["email"] in body  # userinfo with the fragment's access token
    timeline = body.split('id="run-timeline"')[1]
    assert fragment["access_token"] not in timeline and fragment["id_token"] not in timeline  # masked there
    assert "Callback fragment" in timeline and 'data-testid="discouraged"' in body
    # A second post (a reload) changes nothing: the first arrival counts.
    post_fragment(operator, fragment)
    run = operator.session[flows.SESSION_KEY][state]
    assert sum(e["title"].startswith("Callback fragment") for e in run["timeline"]) == 1
    assert run["id_token"]["verified"] is True and run["tokens"]["access_token"] == fragment["access_token"]


def test_it_runs_hybrid_and_exchanges_the_code_with_the_pkce_verifier(flow_world):
    operator, client = flow_world["operator"], front_client(flow_world)
    state, auth_url = start(operator, client["client_id"], "code id_token")
    params = parse_qs(urlsplit(auth_url).query)
    assert params["code_challenge_method"] == ["S256"]

    fragment = fragment_of(sign_in_and_consent(flow_world, auth_url))
    assert fragment["code"] and fragment["id_token"] and "access_token" not in fragment
    location = post_fragment(operator, fragment).json()["location"]
    body = operator.get(location).content.decode()
    assert 'data-testid="front-id-token-verdict"><span class="badge success">verified</span>' in body
    assert "c_hash matches the code" in body and "Exchange the code for tokens" in body
    assert fragment["code"] not in body  # the code is masked like the auth-code run's

    exchanged = operator.post(reverse("console:devtools:run_exchange", args=[state]), {"secret": SECRET})
    assert exchanged.status_code == 302 and exchanged["Location"].endswith(f"?state={state}")
    body = operator.get(exchanged["Location"]).content.decode()
    assert 'data-testid="id-token-verdict"><span class="badge success">verified</span>' in body
    assert "$CODE_VERIFIER" in body and "&quot;active&quot;: true" in body
    run = operator.session[flows.SESSION_KEY][state]
    assert run["tokens"]["refresh_token"] and SECRET not in str(run)


def test_it_refuses_an_answer_whose_nonce_belongs_to_another_run(flow_world):
    """Token injection: run A's tokens posted with run B's state. The ID token's nonce is A's: refused."""
    operator, client = flow_world["operator"], front_client(flow_world)
    _, auth_a = start(operator, client["client_id"], "id_token token")
    state_b, _ = start(operator, client["client_id"], "id_token token")
    fragment = fragment_of(sign_in_and_consent(flow_world, auth_a))
    location = post_fragment(operator, {**fragment, "state": state_b}).json()["location"]
    body = operator.get(location).content.decode()
    assert 'data-testid="callback-error"' in body and "id_token_refused" in body
    assert "nonce does not match the one this run sent" in body
    run = operator.session[flows.SESSION_KEY][state_b]
    assert "tokens" not in run and fragment["access_token"] not in body


def test_it_refuses_an_answer_with_a_tampered_at_hash_partner(flow_world):
    operator, client = flow_world["operator"], front_client(flow_world)
    state, auth_url = start(operator, client["client_id"], "id_token token")
    fragment = fragment_of(sign_in_and_consent(flow_world, auth_url))
    location = post_fragment(operator, {**fragment, "access_token": "ory_at_swapped." + "x" * 40}).json()[
        "location"
    ]
    body = operator.get(location).content.decode()
    assert "id_token_refused" in body and "at_hash does not match the access token" in body
    assert "tokens" not in operator.session[flows.SESSION_KEY][state]


def test_it_refuses_another_operators_state_and_explains_errors_in_the_fragment(flow_world, console):
    operator, client = flow_world["operator"], front_client(flow_world)
    state, auth_url = start(operator, client["client_id"], "id_token token")
    fragment = fragment_of(sign_in_and_consent(flow_world, auth_url, action="reject"))
    assert fragment["error"] == "access_denied" and fragment["state"] == state

    stranger = console("admin")
    refused = post_fragment(stranger, fragment)
    assert refused.status_code == 404 and "no implicit or hybrid run" in refused.json()["message"]
    assert "callback" not in operator.session[flows.SESSION_KEY][state]
    anonymous = Client(enforce_csrf_checks=False).post(
        reverse("console:devtools:callback_fragment"), fragment
    )
    assert anonymous.status_code == 404

    location = post_fragment(operator, fragment).json()["location"]
    body = operator.get(location).content.decode()
    assert 'data-testid="callback-error"' in body and "<code>access_denied</code>" in body
    assert "What to change:" in body


def test_it_refuses_a_post_without_the_csrf_token(flow_world):
    operator, client = flow_world["operator"], front_client(flow_world)
    state, _ = start(operator, client["client_id"], "id_token")
    operator.handler.enforce_csrf_checks = True
    assert operator.post(reverse("console:devtools:callback_fragment"), {"state": state}).status_code == 403


@pytest.mark.browser
def test_the_callback_script_posts_the_fragment_and_clears_it_from_the_address_bar(
    page, flow_world, live_server, signed_in_as, make_operator, tenant
):
    client = front_client(flow_world)
    make_operator(tenant, "member", username="fran")
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    posted: list[str] = []
    page.on(
        "request",
        lambda r: (
            posted.append(f"{r.headers.get('x-csrftoken', '')} {r.post_data}")
            if r.url.endswith("/devtools/callback/fragment")
            else None
        ),
    )

    signed_in_as("fran")
    page.goto(f"{live_server.url}{reverse('console:devtools:flow')}")
    assert_accessible(page)
    page.select_option("#front-title ~ form [name=client]", client["client_id"])
    page.select_option("#front-title ~ form [name=response_type]", "id_token token")
    page.click("text=Build the (discouraged) authorization URL")
    page.wait_for_selector("[data-testid=discouraged]")
    page.click("[data-testid=open-authorization]")
    sign_in(page, {"email": flow_world["person"]["email"], "password": flow_world["person"]["password"]})
    page.wait_for_selector("button[value=accept]")
    page.click("button[value=accept]")
    page.wait_for_selector("text=state matches")
    page.wait_for_selector("[data-testid=id-token-verdict]")
    assert "#" not in page.url and "access_token" not in page.url and "?state=" in page.url
    assert "at_hash matches the access token" in page.inner_text("[data-testid=id-token-verdict]")
    assert len(posted) == 1 and "access_token=" in posted[0] and "id_token=" in posted[0]
    assert posted[0].split(" ")[0]  # the CSRF header from the page
    history = page.evaluate("() => [location.hash, history.length]")
    assert history[0] == ""
    assert_accessible(page)
    assert csp == []
