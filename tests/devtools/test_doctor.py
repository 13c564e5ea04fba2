"""The flow doctor against real Hydra failures: each authorization request is sent to Hydra, its answer (the
redirect with error/error_description/error_hint, or Hydra's error page URL) is fed to the doctor."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from django.test import Client

from oauth2_admin.clients import service as clients
from oauth2_admin.devtools import doctor, flows
from tests.devtools.conftest import sign_in_and_consent
from truss.audit import Action
from truss.models import AuditEvent, Tenant

REDIRECT = "https://app.example/cb"
AUDIENCE = "https://api.example"
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@dataclass(frozen=True)
class Case:
    name: str
    params: dict[str, str | None]  # over the base request; None drops a parameter
    code: str  # the finding expected
    words: str  # in its plain-words message
    answer_alone: bool = True  # Hydra's answer, without the request, names the problem
    client: str = "public"
    lands: str = "callback"  # "callback": the app's redirect URI; "error_page": Hydra's error URL
    extra: dict[str, Any] = field(default_factory=dict)


CASES = (
    Case(
        "wrong redirect URI",
        {"redirect_uri": REDIRECT + "/"},
        "redirect_uri_mismatch",
        "trailing slash",
        lands="error_page",
    ),
    Case("scope not allowed", {"scope": "openid admin"}, "scope_not_allowed", "admin"),
    Case(
        "unsupported response type", {"response_type": "token"}, "response_type_not_enabled", "response_type"
    ),
    Case(
        "PKCE missing (public client)",
        {"code_challenge": None, "code_challenge_method": None},
        "pkce_missing",
        "code_challenge",
        client="live",
        lands="after_login",
    ),
    Case(
        "PKCE plain",
        {"code_challenge": VERIFIER, "code_challenge_method": "plain"},
        "pkce_plain",
        "S256",
        client="live",
        lands="after_login",
    ),
    Case("wrong audience", {"audience": "https://other.example"}, "audience_not_allowed", "audience"),
    Case(
        "grant not enabled",
        {"response_type": "token"},
        "grant_not_enabled",
        "implicit",
        client="no_implicit",
        lands="after_login",
    ),
    Case("prompt=none without a session", {"prompt": "none"}, "login_required", "no sign-in session"),
    Case(
        "invalid max_age",
        {"max_age": "soon"},
        "max_age_invalid",
        "whole number",
        answer_alone=False,
        lands="any",
    ),
    Case("state too short", {"state": "abc"}, "state_too_short", "8 characters"),
    Case(
        "unknown client id",
        {"client_id": "no-such-client"},
        "unknown_client",
        "No client with this id",
        lands="error_page",
    ),
    Case(
        "another tenant's client",
        {},
        "unknown_client",
        "No client with this id",
        answer_alone=False,
        client="foreign",
        lands="any",
    ),
)


@pytest.fixture
def world(
    flow_world: dict[str, Any], tenant: Tenant, other_tenant: Tenant, make_hydra_client: Any
) -> dict[str, Any]:
    public, _ = clients.create_for(
        None,
        tenant,
        {
            "client_name": "Doctor app",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [REDIRECT],
            "scope": "openid email offline_access",
            "audience": [AUDIENCE],
            "token_endpoint_auth_method": "none",
        },
    )
    foreign, _ = clients.create_for(
        None,
        other_tenant,
        {
            "client_name": "Other tenant's app",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": [REDIRECT],
            "scope": "openid",
            "token_endpoint_auth_method": "none",
        },
    )
    # Response type token without the implicit grant: a mismatch Truss's form would refuse, made in Hydra.
    live, _ = clients.create_for(
        None,
        tenant,
        {
            "client_name": "Doctor app (signs in)",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": [flows.callback_url()],
            "scope": "openid",
            "token_endpoint_auth_method": "none",
        },
    )
    no_implicit = make_hydra_client(
        grant_types=["authorization_code"],
        response_types=["code", "token"],
        redirect_uris=[flows.callback_url()],
        scope="openid",
        owner=tenant.hydra_owner,
    )
    return {
        **flow_world,
        "ids": {
            "live": live.client_id,
            "public": public.client_id,
            "foreign": foreign.client_id,
            "no_implicit": no_implicit["client_id"],
        },
    }


def authorization_url(world: dict[str, Any], case: Case) -> str:
    params: dict[str, str | None] = {
        "client_id": world["ids"][case.client],
        "response_type": "code",
        "redirect_uri": flows.callback_url() if case.lands == "after_login" else REDIRECT,
        "scope": "openid",
        "state": secrets.token_urlsafe(12),
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **case.params,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{world['ory'].hydra_public_url}/oauth2/auth?{query}"


def hydra_answer(url: str) -> str:
    """Where Hydra sends the browser for this request (not followed)."""
    resp = requests.get(url, allow_redirects=False, timeout=10)
    assert resp.status_code in (302, 303), (resp.status_code, resp.text[:300])
    return str(resp.headers["Location"])


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_it_names_a_real_hydra_failure_in_plain_words(world: dict[str, Any], tenant: Tenant, case: Case):
    sent = authorization_url(world, case)
    answer = sign_in_and_consent(world, sent) if case.lands == "after_login" else hydra_answer(sent)
    if case.lands == "after_login":
        assert "error=" in answer, answer
    elif case.lands == "callback":
        assert answer.startswith(REDIRECT + "?") and "error=" in answer, answer
    elif case.lands == "error_page":
        assert not answer.startswith(REDIRECT) and "error=" in answer, answer
    client_id = (
        world["ids"][case.client] if case.params.get("client_id") is None else str(case.params["client_id"])
    )
    before = AuditEvent.objects.count()

    found = doctor.diagnose(tenant, answer, client_id=client_id, request_url=sent)
    codes = {f.code: f.message for f in found.findings}
    assert case.code in codes, (codes, answer)
    assert case.words in codes[case.code]
    if case.lands == "after_login":  # the bridge's decisions for this client are listed with the diagnosis
        actions = {e["action"] for e in found.events}
        assert {Action.LOGIN_ACCEPT.value, Action.CONSENT_ACCEPT.value} <= actions, actions
    if case.answer_alone:
        alone = doctor.diagnose(tenant, answer, client_id=client_id)
        assert case.code in {f.code for f in alone.findings}, (alone.findings, answer)
    assert AuditEvent.objects.count() == before  # reading is not a mutation


def test_it_answers_another_tenants_client_exactly_like_an_unknown_one(world: dict[str, Any], tenant: Tenant):
    foreign = world["ids"]["foreign"]
    unknown = str(uuid.uuid4())
    seen = []
    for client_id in (foreign, unknown):
        url = authorization_url(world, Case("x", {"client_id": client_id}, "", ""))
        answer = doctor.diagnose(tenant, url).as_dict()
        seen.append(str(answer).replace(client_id, "ID"))
    assert seen[0] == seen[1] and "unknown_client" in seen[0]


def test_it_reads_a_token_endpoint_auth_method_mismatch(
    world: dict[str, Any], tenant: Tenant, make_hydra_client: Any
):
    made = make_hydra_client(
        client_secret="s" * 40, token_endpoint_auth_method="client_secret_basic", owner=tenant.hydra_owner
    )
    resp = requests.post(
        f"{world['ory'].hydra_public_url}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": made["client_id"], "client_secret": "s" * 40},
        timeout=10,
    )
    assert resp.status_code == 401, resp.text
    body = resp.json()
    pasted = urlencode({k: body[k] for k in ("error", "error_description", "error_hint") if k in body})
    found = doctor.diagnose(tenant, pasted, client_id=made["client_id"])
    assert "auth_method_mismatch" in {f.code for f in found.findings}, (found.findings, body)


def test_it_explains_why_the_redirect_uri_differs():
    assert "scheme is http" in doctor.redirect_difference("http://app.example/cb", [REDIRECT])
    assert "letter case" in doctor.redirect_difference("https://APP.example/cb", [REDIRECT])
    assert "port is 8443" in doctor.redirect_difference("https://app.example:8443/cb", [REDIRECT])
    assert "query string" in doctor.redirect_difference(REDIRECT + "?x=1", [REDIRECT])


def test_it_answers_the_api_and_refuses_unreadable_input(
    world: dict[str, Any], tenant: Tenant, make_api_key: Any
):
    api = Client()
    key = {"apikey": make_api_key(tenant, "anon")}
    sent = authorization_url(world, Case("x", {"scope": "openid admin"}, "", ""))
    ok = api.post("/v1/oauth2/diagnose", {"url": sent}, content_type="application/json", headers=key)
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert body["client_found"] and body["findings"][0]["code"] == "scope_not_allowed"
    assert body["findings"][0]["fix"]["changes"]["scope"] == "openid email offline_access admin"
    bad = api.post(
        "/v1/oauth2/diagnose", {"url": "no parameters"}, content_type="application/json", headers=key
    )
    assert bad.status_code == 400 and "url" in bad.json()["fields"]
    nul = api.post("/v1/oauth2/diagnose", {"url": "a=\x00"}, content_type="application/json", headers=key)
    assert nul.status_code == 400
    assert api.post("/v1/oauth2/diagnose", {"url": sent}, content_type="application/json").status_code == 401


def test_it_links_a_fix_that_shows_the_diff_and_applies_it_once_audited(
    world: dict[str, Any], tenant: Tenant, console: Any
):
    operator = console("member")
    client_id = world["ids"]["public"]
    sent = authorization_url(world, Case("x", {"redirect_uri": "https://app.example/callback"}, "", ""))
    page = operator.post("/console/devtools/doctor/", {"url": hydra_answer(sent), "request_url": sent})
    body = page.content.decode()
    assert page.status_code == 200 and "redirect_uri_mismatch" in body and "Flow doctor" in body
    assert "Recent events for this client" in body and Action.CLIENT_CREATE.value in body
    fix_url = f"/console/devtools/doctor/fix/{client_id}/redirect_uri_mismatch?" + urlencode(
        {"request": sent}
    )
    assert fix_url.replace("&", "&amp;") in body
    confirm = operator.get(fix_url)
    shown = confirm.content.decode()
    assert confirm.status_code == 200 and "https://app.example/callback" in shown and 'name="etag"' in shown
    etag = clients.etag(clients.get_for(tenant, client_id))
    before = AuditEvent.objects.filter(action=Action.CLIENT_UPDATE.value).count()
    stale = operator.post(fix_url, {"etag": '"stale"'})
    assert stale.status_code in (400, 412)
    done = operator.post(fix_url, {"etag": etag})
    assert done.status_code == 302
    assert "https://app.example/callback" in (clients.get_for(tenant, client_id).redirect_uris or [])
    assert AuditEvent.objects.filter(action=Action.CLIENT_UPDATE.value).count() - before == 2  # refusal + fix
    assert (
        hydra_answer(sent).startswith("https://app.example/callback") is False
    )  # now goes to the bridge login
    viewer = console("viewer")
    assert viewer.get(fix_url).status_code in (403, 404)


def test_it_asks_for_the_client_id_when_nothing_carries_it(tenant: Tenant):
    found = doctor.diagnose(tenant, "https://app.example/cb?error=invalid_scope&state=abcdefghij")
    assert [f.code for f in found.findings] == ["scope_not_allowed", "no_client_id"]
    assert found.kind == "error_callback" and not found.client_found


def test_it_refuses_unreadable_console_input_with_form_errors(tenant: Tenant, console: Any):
    page = console("viewer").post("/console/devtools/doctor/", {"url": "no parameters here"})
    assert page.status_code == 400 and "has no parameters to read" in page.content.decode()
    empty = console("viewer").post("/console/devtools/doctor/", {"url": ""})
    assert empty.status_code == 400
    assert console("viewer").get("/console/devtools/doctor/").status_code == 200


def test_it_says_unavailable_when_hydra_is_down(
    tenant: Tenant, console: Any, make_api_key: Any, hydra_down: None
):
    pasted = "https://app.example/cb?error=invalid_scope&client_id=some-client"
    key = {"apikey": make_api_key(tenant, "anon")}
    api = Client().post("/v1/oauth2/diagnose", {"url": pasted}, content_type="application/json", headers=key)
    assert api.status_code == 503
    page = console("viewer").post("/console/devtools/doctor/", {"url": pasted})
    assert page.status_code == 503
