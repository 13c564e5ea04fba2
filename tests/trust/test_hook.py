"""Hydra's token hook: with it, a client exchanges a jwt-bearer assertion only under a trust of its own tenant
(real Hydra, real exchanges); every other grant passes at once, without database work; while Truss is down Hydra
issues no token at all. Without it (TRUST_TOKEN_HOOK=off, or Hydra not configured to call it) any client with the
grant may use any tenant's trust: Hydra's own behaviour."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from oauth2_admin.trust import service as trust
from oauth2_admin.trust.hook import HEADER
from tests.trust.helpers import GRANT, assertion, exchange, trust_body
from truss.models import Tenant

SECRET = "test-only-token-hook-secret-0123"


def hydra_client(stack: Any, tenant: Tenant | None, **fields: Any) -> dict[str, Any]:
    body = {
        "grant_types": [GRANT, "client_credentials"],
        "scope": "inventory:read inventory:write",
        "token_endpoint_auth_method": "client_secret_basic",
        **({"owner": tenant.hydra_owner} if tenant else {}),
        **fields,
    }
    created = requests.post(f"{stack.hydra_admin_url}/admin/clients", json=body, timeout=10)
    assert created.status_code == 201, created.text
    return dict(created.json())


def client_credentials(stack: Any, app: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{stack.hydra_public_url}/oauth2/token",
        auth=(app["client_id"], app["client_secret"]),
        data={"grant_type": "client_credentials", "scope": "inventory:read"},
        timeout=60,
    )


# --- against the real Hydra, configured with the hook -----------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_only_the_tenants_own_clients_use_its_trust(hooked, v1, v1_for, tenant, other_tenant, issuer):
    stack = hooked.stack
    key = ec.generate_private_key(ec.SECP256R1())
    mine = v1("POST", body=trust_body(issuer, key))
    assert mine.status_code == 201, mine.content
    kid = mine.json()["public_jwk"]["kid"]
    own, stranger, outsider = (
        hydra_client(stack, tenant),
        hydra_client(stack, other_tenant),
        hydra_client(stack, None),
    )
    before = trust.hook_denials().get("no_trust_of_the_clients_tenant", 0)

    ok = exchange(stack, own, assertion(stack, key, issuer, "svc", kid))
    assert ok.status_code == 200, ok.text
    refused = exchange(stack, stranger, assertion(stack, key, issuer, "svc", kid))
    assert refused.status_code == 403 and refused.json()["error"] == "access_denied", refused.text
    assert exchange(stack, outsider, assertion(stack, key, issuer, "svc", kid)).status_code == 403
    assert exchange(stack, stranger, assertion(stack, key, issuer, "svc", None)).status_code == 403  # no kid
    assert trust.hook_denials()["no_trust_of_the_clients_tenant"] == before + 2
    # Every other grant passes the hook: the stranger's client still gets client-credentials tokens.
    assert client_credentials(stack, stranger).status_code == 200
    # Once the other tenant trusts the same key itself, its client may use it.
    assert v1_for(other_tenant)("POST", body=trust_body(issuer, key)).status_code == 201
    assert exchange(stack, stranger, assertion(stack, key, issuer, "svc", kid)).status_code == 200


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_tenant_gets_only_its_own_scopes_and_subjects_of_a_shared_trust(
    hooked, v1, v1_for, tenant, other_tenant, issuer
):
    stack = hooked.stack
    key = ec.generate_private_key(ec.SECP256R1())
    kid = v1("POST", body=trust_body(issuer, key)).json()["public_jwk"]["kid"]
    wider = trust_body(issuer, key, scope=["inventory:read", "inventory:write"])
    assert v1_for(other_tenant)("POST", body=wider).status_code == 201  # Hydra's trust: the union
    assert v1_for(other_tenant)("POST", body=trust_body(issuer, key, subject="svc-2")).status_code == 201
    own, theirs = hydra_client(stack, tenant), hydra_client(stack, other_tenant)
    write = assertion(stack, key, issuer, "svc", kid)
    assert exchange(stack, own, write, scope="inventory:write").status_code == 403
    assert (
        exchange(
            stack, theirs, assertion(stack, key, issuer, "svc", kid), scope="inventory:write"
        ).status_code
        == 200
    )
    assert exchange(stack, own, assertion(stack, key, issuer, "svc-2", kid)).status_code == 403
    assert exchange(stack, own, assertion(stack, key, issuer, "svc", kid)).status_code == 200


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_while_truss_is_down_hydra_issues_no_token(hooked, v1, tenant, issuer):
    stack = hooked.stack
    key = ec.generate_private_key(ec.SECP256R1())
    kid = v1("POST", body=trust_body(issuer, key)).json()["public_jwk"]["kid"]
    own = hydra_client(stack, tenant)
    hooked.truss.down()
    started = time.monotonic()
    failed = client_credentials(stack, own)
    waited = time.monotonic() - started
    assert failed.status_code == 500 and failed.json()["error"] == "server_error", failed.text
    assert 2.5 < waited < 10  # Hydra's two retries (1 s, 2 s), then it gives up
    assert exchange(stack, own, assertion(stack, key, issuer, "svc", kid)).status_code == 500
    hooked.truss.up()
    assert client_credentials(stack, own).status_code == 200
    assert exchange(stack, own, assertion(stack, key, issuer, "svc", kid)).status_code == 200


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_hydra_refuses_every_token_when_the_secrets_differ(hooked, tenant, settings):
    settings.TRUST_TOKEN_HOOK_SECRET = "not-the-one-hydra-sends-0123456789"
    failed = client_credentials(hooked.stack, hydra_client(hooked.stack, tenant))
    assert failed.status_code == 500 and failed.json()["error"] == "server_error"


# --- without the hook: Hydra's own behaviour ----------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db
def test_without_the_hook_any_tenants_client_uses_any_trust(ory, v1, other_tenant, issuer):
    key = ec.generate_private_key(ec.SECP256R1())
    kid = v1("POST", body=trust_body(issuer, key)).json()["public_jwk"]["kid"]
    stranger = hydra_client(ory, other_tenant)
    assert exchange(ory, stranger, assertion(ory, key, issuer, "svc", kid)).status_code == 200


# --- the endpoint itself -------------------------------------------------------------------------------------------


def hook_body(grant: str, **request: Any) -> str:
    return json.dumps(
        {
            "session": {},
            "request": {
                "client_id": "c",
                "grant_types": [grant],
                "requested_scopes": [],
                "granted_scopes": [],
                "payload": {},
                **request,
            },
        }
    )


@pytest.fixture
def hook_on(settings: Any) -> Client:
    settings.TRUST_TOKEN_HOOK, settings.TRUST_TOKEN_HOOK_SECRET = True, SECRET
    return Client()


def post(client: Client, body: str, secret: str | None = SECRET) -> Any:
    headers = {HEADER: secret} if secret is not None else {}
    return client.post("/hooks/hydra/token", body, content_type="application/json", headers=headers)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "grant",
    [
        "client_credentials",
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ],
)
def test_it_passes_every_other_grant_at_once(hook_on, grant, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert post(hook_on, hook_body(grant)).status_code == 204


@pytest.mark.django_db
def test_it_answers_only_hydra(hook_on, settings):
    body = hook_body("client_credentials")
    assert post(hook_on, body, secret=None).status_code == 401
    assert post(hook_on, body, secret="wrong").status_code == 401
    assert hook_on.get("/hooks/hydra/token").status_code == 405
    assert post(hook_on, "[" * 5000 + "]" * 5000).status_code == 400
    assert post(hook_on, json.dumps({"request": "x"})).status_code == 400
    assert post(hook_on, hook_body(GRANT, payload={"assertion": ["not.a.jwt"]})).status_code == 403
    assert post(hook_on, hook_body(GRANT, payload={})).status_code == 403
    settings.TRUST_TOKEN_HOOK_SECRET = ""
    assert post(hook_on, body).status_code == 503  # on without a secret: fails closed (Hydra issues nothing)
    settings.TRUST_TOKEN_HOOK = False
    assert post(hook_on, hook_body(GRANT, payload={"assertion": ["x"]}), secret=None).status_code == 204


@pytest.mark.parametrize(
    ("granted", "needle", "allowed"),
    [
        (["a"], "a", True),
        (["a.*"], "a.b", True),
        (["a.*"], "a.b.c", True),
        (["a"], "a.b", False),
        (["a.*"], "a", False),
        (["a.*.c"], "a.b.c", True),
        (["a.*.c"], "a.b.d", False),
        (["*"], "", False),
        (["inventory:read"], "inventory:write", False),
    ],
)
def test_it_matches_scopes_like_hydra(granted, needle, allowed):
    assert trust.scope_allows(granted, needle) is allowed


@pytest.mark.django_db
@pytest.mark.parametrize("on", [True, False])
def test_the_trust_page_says_which_clients_can_use_the_trusts(tenant_admin, settings, on):
    settings.TRUST_TOKEN_HOOK = on
    page = tenant_admin.get("/console/trust/").content.decode()
    assert ("can use these trusts: Hydra asks Truss" in page) is on
    assert ("The token hook is off" in page) is not on


@pytest.mark.django_db
def test_hydra_reaches_it_over_the_internal_network_without_an_https_redirect(hook_on, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert post(hook_on, hook_body("client_credentials")).status_code == 204
    assert Client().get("/console/").status_code == 301


def test_the_system_check_warns_when_the_hook_has_no_secret(settings):
    from oauth2_admin.trust.checks import token_hook_secret

    settings.TRUST_TOKEN_HOOK, settings.TRUST_TOKEN_HOOK_SECRET = True, ""
    assert [m.id for m in token_hook_secret(None)] == ["console_trust.W001"]
    settings.TRUST_TOKEN_HOOK_SECRET = SECRET
    assert token_hook_secret(None) == []
    settings.TRUST_TOKEN_HOOK, settings.TRUST_TOKEN_HOOK_SECRET = False, ""
    assert token_hook_secret(None) == []
