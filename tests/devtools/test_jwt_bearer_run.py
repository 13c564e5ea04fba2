"""The flow tester's jwt-bearer run (RFC 7523) against the real Hydra: the key pair is made and the assertion
signed in Chromium, Truss trusts the public key for the run only, exchanges the assertion, introspects the
token and removes the trust; no request ever carries the private key. Bad input is a 400 that changes nothing."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from oauth2_admin.devtools import flows
from oauth2_admin.trust.models import TrustRecord
from tests.console.test_axe import CSP_LISTENER, serious
from tests.devtools.conftest import SECRET
from tests.fixtures.ory import introspect_at_hydra
from truss.devstack import free_port
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
TRUSTS = "/admin/trust/grants/jwt-bearer/issuers"
PUBLIC = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}


def bearer_client(world: dict[str, Any], make_hydra_client: Any, tenant: Any) -> dict[str, Any]:
    return dict(
        make_hydra_client(
            client_name=f"Bearer app {uuid.uuid4().hex[:4]}",
            grant_types=[flows.JWT_BEARER_GRANT],
            scope="inventory:read inventory:write",
            client_secret=SECRET,
            owner=tenant.hydra_owner,
        )
    )


def hydra_issuers(ory: Any) -> list[str]:
    found = requests.get(f"{ory.hydra_admin_url}{TRUSTS}", timeout=10)
    assert found.status_code == 200, found.text
    return [str(g["issuer"]) for g in found.json()]


@pytest.mark.browser
def test_it_runs_the_jwt_bearer_grant_in_the_browser_without_the_private_key_leaving_it(
    page, flow_world, signed_in_as, make_operator, make_hydra_client, tenant, live_server
):
    ory = flow_world["ory"]
    app = bearer_client(flow_world, make_hydra_client, tenant)
    sent: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: sent.append({"url": r.url, "method": r.method, "body": r.post_data or ""}),
    )
    signed_in_as(make_operator(tenant, "admin", username="ada"))
    page.goto(f"{live_server.url}{reverse('console:devtools:flow')}")
    page.select_option("#jb-client", app["client_id"])
    page.fill("#jb-secret", SECRET)
    page.fill("#jb-scope", "inventory:read")
    page.click("button:has-text('Run the jwt-bearer grant')")
    page.wait_for_selector("h1:has-text('JWT bearer (RFC 7523)')")
    page.screenshot(path="/tmp/shots-22c/jwt-bearer-run.png", full_page=True)

    introspection = json.loads(page.inner_text("[data-testid=introspection]"))
    assert introspection["active"] is True
    assert introspection["client_id"] == app["client_id"]
    assert introspection["scope"] == "inventory:read"
    issuer = page.inner_text("[data-testid=jb-issuer]")
    assert issuer.startswith(flows.JWT_BEARER_ISSUER)
    assert introspection["sub"].startswith("flow-tester-")
    assert "removed" in page.inner_text("[data-testid=jb-trust]")
    assert issuer not in hydra_issuers(ory)  # the temporary trust is gone from Hydra
    assert not TrustRecord.objects.filter(issuer=issuer).exists()
    # The trust's creation and removal are audited like any trust (one event each).
    actions = list(AuditEvent.objects.filter(target__contains=issuer).values_list("action", flat=True))
    assert sorted(actions) == ["oauth2.trust.create", "oauth2.trust.delete"], actions

    # What left the browser: the public JWK (no "d") to Truss, the assertion and the secret to Truss, nothing
    # to Hydra; no request carried private key material.
    posts = [r for r in sent if r["method"] == "POST"]
    start = next(r for r in posts if r["url"].endswith(reverse("console:devtools:jwt_bearer_start")))
    jwk = json.loads(parse_qs(start["body"])["jwk"][0])
    assert set(jwk) == {"kty", "crv", "x", "y"}
    assert not any(r["url"].startswith((ory.hydra_public_url, ory.hydra_admin_url)) for r in sent)
    for r in sent:
        for text in (r["url"], r["body"]):
            assert not re.search(r'"d"\s*:', text), r["url"]
            assert "%22d%22" not in text and "PRIVATE KEY" not in text, r["url"]
        for value in parse_qs(r["body"]).values():
            for item in value:
                if item.startswith("{"):
                    assert "d" not in json.loads(item), r["url"]
    exchange = next(r for r in posts if r["url"].endswith("/jwt-bearer") and "/runs/" in r["url"])
    assertion = parse_qs(exchange["body"])["assertion"][0]
    # The token Hydra issued is live at Hydra itself too.
    run_id = exchange["url"].split("/runs/")[1].split("/")[0]
    assert assertion.count(".") == 2 and run_id in issuer
    token = json.loads(page.inner_text("[data-testid=token-response]"))["access_token"]
    assert introspect_at_hydra(ory, token)["active"] is True


def test_it_refuses_a_private_jwk_a_client_without_the_grant_and_a_member_changing_nothing(
    flow_world, make_hydra_client, tenant, console
):
    ory = flow_world["ory"]
    admin = console("admin")
    app = bearer_client(flow_world, make_hydra_client, tenant)
    plain = make_hydra_client(owner=tenant.hydra_owner)
    public = PUBLIC
    url = reverse("console:devtools:jwt_bearer_start")
    before = (hydra_issuers(ory), TrustRecord.objects.count(), AuditEvent.objects.count())
    private = admin.post(url, {"client": app["client_id"], "jwk": json.dumps({**public, "d": "secret"})})
    assert private.status_code == 400 and "private" in private.json()["errors"]["jwk"][0]
    no_grant = admin.post(url, {"client": plain["client_id"], "jwk": json.dumps(public)})
    assert no_grant.status_code == 400 and "client" in no_grant.json()["errors"]
    no_key = admin.post(url, {"client": app["client_id"]})
    assert no_key.status_code == 400 and "jwk" in no_key.json()["errors"]
    member = console("member").post(url, {"client": app["client_id"], "jwk": json.dumps(public)})
    assert member.status_code in (403, 404)
    assert (hydra_issuers(ory), TrustRecord.objects.count()) == before[:2]


def test_it_removes_the_trust_when_hydra_refuses_the_assertion(
    flow_world, make_hydra_client, tenant, console
):
    ory = flow_world["ory"]
    admin = console("admin")
    app = bearer_client(flow_world, make_hydra_client, tenant)
    public = PUBLIC
    started = admin.post(
        reverse("console:devtools:jwt_bearer_start"),
        {"client": app["client_id"], "scope": "inventory:read", "jwk": json.dumps(public)},
    )
    assert started.status_code == 200, started.content
    run = started.json()
    assert run["issuer"] in hydra_issuers(ory)
    refused = admin.post(run["exchange"], {"assertion": "a.b.c", "secret": SECRET})
    assert refused.status_code == 200 and refused.json()["ok"] is False
    assert run["issuer"] not in hydra_issuers(ory)
    body = admin.get(refused.json()["location"]).content.decode()
    assert "Hydra refused the assertion" in body and "removed" in body
    again = admin.post(run["exchange"], {"assertion": "a.b.c", "secret": SECRET})
    assert again.json()["ok"] is False  # the run is over: nothing is exchanged twice


def test_it_answers_unavailable_when_hydra_goes_down_and_the_trust_waits_for_its_expiry(
    flow_world, make_hydra_client, tenant, console, settings
):
    ory = flow_world["ory"]
    admin = console("admin")
    app = bearer_client(flow_world, make_hydra_client, tenant)
    started = admin.post(
        reverse("console:devtools:jwt_bearer_start"),
        {"client": app["client_id"], "scope": "inventory:read", "jwk": json.dumps(PUBLIC)},
    )
    run = started.json()
    closed = f"http://127.0.0.1:{free_port()}"
    settings.HYDRA_ADMIN_URL = settings.HYDRA_PUBLIC_URL = closed
    down = admin.post(run["exchange"], {"assertion": "a.b.c", "secret": SECRET})
    assert down.status_code == 503 and down.json()["ok"] is False
    record = TrustRecord.objects.get(issuer=run["issuer"])  # kept: the sweep removes it when it expires
    assert record.expires_at <= timezone.now() + flows.JWT_BEARER_TRUST_TTL
    settings.HYDRA_ADMIN_URL, settings.HYDRA_PUBLIC_URL = ory.hydra_admin_url, ory.hydra_public_url
    body = admin.get(down.json()["location"]).content.decode()
    assert "still there" in body
    assert run["issuer"] in hydra_issuers(ory)
    requests.delete(
        f"{ory.hydra_admin_url}{TRUSTS}/{record.grant_id}", timeout=10
    )  # no orphan for later tests


@pytest.mark.browser
def test_it_offers_the_run_on_the_flow_page_with_no_accessibility_or_csp_violation(
    page, flow_world, signed_in_as, make_operator, make_hydra_client, tenant, live_server
):
    app = bearer_client(flow_world, make_hydra_client, tenant)
    page.add_init_script(CSP_LISTENER)
    signed_in_as(make_operator(tenant, "admin", username="ada"))
    page.goto(f"{live_server.url}{reverse('console:devtools:flow')}")
    assert page.locator(f"#jb-client option[value='{app['client_id']}']").count() == 1
    assert serious(page) == []
    assert not page.evaluate("window.__csp")
