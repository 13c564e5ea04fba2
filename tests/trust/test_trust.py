"""Trusted jwt-bearer issuers through Truss against the real Hydra: the grant works end to end with a trusted
key and is refused for an untrusted key, a wrong subject and an expired trust (once Truss's sweep removed it);
tenants see only their own."""

from __future__ import annotations

import io
import json
import time
import uuid
from datetime import UTC, datetime

import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.management import CommandError, call_command

from oauth2_admin.trust.models import TrustRecord
from tests.trust.helpers import GRANT, assertion, exchange, future, hydra_trusts, pem, trust_body
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_it_exchanges_a_trusted_assertion_and_refuses_an_untrusted_key_and_a_wrong_subject(
    ory, v1, make_hydra_client, issuer
):
    key = ec.generate_private_key(ec.SECP256R1())
    created = v1(
        "POST",
        body=trust_body(issuer, key, subject="svc-orders", expires_at=future(days=1)),
    )
    assert created.status_code == 201, created.content
    kid = created.json()["public_jwk"]["kid"]
    app = make_hydra_client(grant_types=[GRANT], scope="inventory:read")

    ok = exchange(ory, app, assertion(ory, key, issuer, "svc-orders", kid))
    assert ok.status_code == 200, ok.text
    introspected = requests.post(
        f"{ory.hydra_admin_url}/admin/oauth2/introspect",
        data={"token": ok.json()["access_token"]},
        timeout=10,
    ).json()
    assert introspected["active"] and introspected["sub"] == "svc-orders"

    untrusted = ec.generate_private_key(ec.SECP256R1())
    refused = exchange(ory, app, assertion(ory, untrusted, issuer, "svc-orders", kid))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    wrong_subject = exchange(ory, app, assertion(ory, key, issuer, "svc-billing", kid))
    assert wrong_subject.status_code == 400 and wrong_subject.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("sweep", ["command", "api_list", "console_detail"])
def test_it_removes_an_expired_trust_so_hydra_refuses_it(ory, v1, console, make_hydra_client, issuer, sweep):
    # Hydra v2.3.0 alone keeps accepting an expired trust for an assertion that names its kid (GetPublicKey has
    # no expiry condition): Truss's sweep deletes it in Hydra, and then Hydra refuses.
    key = ec.generate_private_key(ec.SECP256R1())
    short = v1(
        "POST",
        body=trust_body(issuer, key, subject="svc-orders", expires_at=future(seconds=2)),
    )
    assert short.status_code == 201, short.content
    trust_id, kid = short.json()["id"], short.json()["public_jwk"]["kid"]
    app = make_hydra_client(grant_types=[GRANT], scope="inventory:read")
    assert exchange(ory, app, assertion(ory, key, issuer, "svc-orders", kid)).status_code == 200
    time.sleep(3)

    if sweep == "command":
        out = io.StringIO()
        call_command("expire_trusts", stdout=out)
        assert "removed 1 expired trusts" in out.getvalue()
    elif sweep == "api_list":
        listed = v1("GET").json()["items"]
        assert [(t["id"], t["status"], t["in_hydra"]) for t in listed] == [(trust_id, "removed", False)]
    else:
        page = console("viewer").get(f"/console/trust/{trust_id}/")
        assert page.status_code == 200 and b"Truss removed it at expiry" in page.content

    assert not any(t["id"] == trust_id for t in hydra_trusts(ory))
    late = exchange(ory, app, assertion(ory, key, issuer, "svc-orders", kid))
    assert late.status_code == 400 and late.json()["error"] == "invalid_grant", late.text
    shown = v1("GET", f"/{trust_id}").json()
    assert shown["expired"] is True and shown["status"] == "removed" and shown["removed_at"]
    call_command("expire_trusts", stdout=io.StringIO())  # nothing left to do: audited once
    event = AuditEvent.objects.get(action="oauth2.trust.expire")
    assert (event.actor, event.outcome, event.tenant_id) == (
        "system",
        "success",
        TrustRecord.objects.get(hydra_id=trust_id).tenant_id,
    )
    assert trust_id in event.target and "removed from Hydra" in event.detail and event.before["kid"] == kid
    # Deleting the removed trust still works (Hydra's 404 is fine) and forgets it.
    assert v1("DELETE", f"/{trust_id}").status_code == 204
    assert not TrustRecord.objects.filter(hydra_id=trust_id).exists()


def test_it_warns_before_a_trust_expires(ory, v1, console, issuer):
    key = ec.generate_private_key(ec.SECP256R1())
    soon = v1(
        "POST", body={"issuer": issuer, "subject": "s", "expires_at": future(days=2), "public_key": pem(key)}
    ).json()
    later = v1(
        "POST",
        body={
            "issuer": issuer + "/later",
            "subject": "s",
            "expires_at": future(days=30),
            "public_key": pem(key),
        },
    ).json()
    assert (soon["status"], later["status"]) == ("expiring", "active")
    viewer = console("viewer")
    page = viewer.get(f"/console/trust/{soon['id']}/").content.decode()
    assert 'id="trust-expiry-warning"' in page and "Expires in 1\xa0day" in page
    assert 'id="trust-expiry-warning"' not in viewer.get(f"/console/trust/{later['id']}/").content.decode()
    listing = viewer.get("/console/trust/").content.decode()
    assert "expires in 1\xa0day" in listing and "active" in listing
    assert not AuditEvent.objects.filter(action="oauth2.trust.expire").exists()


@pytest.mark.parametrize(
    ("body", "field", "needle"),
    [
        ({"public_key": "PRIVATE"}, "jwk", "private key"),
        (
            {
                "jwk": {
                    "kty": "EC",
                    "crv": "P-256",
                    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                    "d": "secret",
                }
            },
            "jwk",
            "private key material",
        ),
        ({"jwk": {"kty": "oct", "k": "c2VjcmV0"}}, "jwk", "private key material"),
        ({"public_key": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"}, "jwk", "PEM"),
        ({"subject": None}, "subject", "Required"),
        ({"allow_any_subject": True}, "subject", "not both"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at", "future"),
        ({"expires_at": "soon"}, "expires_at", "ISO 8601"),
        ({"scope": ["has space"]}, "scope", "scope tokens"),
        ({"issuer": ""}, "issuer", "Required"),
    ],
)
def test_it_refuses_bad_input_and_private_keys_and_hydra_holds_nothing(ory, v1, issuer, body, field, needle):
    key = ec.generate_private_key(ec.SECP256R1())
    base = trust_body(issuer, key, scope=["a"], expires_at=future(days=1))
    if body.get("public_key") == "PRIVATE":
        body = {"public_key": pem(key, private=True)}
    payload = {**base, **body}
    if "jwk" in body:
        payload.pop("public_key")
    response = v1("POST", body=payload)
    assert response.status_code == 400, response.content
    assert needle in " ".join(response.json()["fields"][field])
    assert not [t for t in hydra_trusts(ory) if t["issuer"] == issuer]
    assert [e.outcome for e in AuditEvent.objects.filter(action="oauth2.trust.create")] == ["failure"]
    if "d" in str(body) or "PRIVATE" in str(body):
        assert "secret" not in AuditEvent.objects.get(action="oauth2.trust.create").detail


def test_it_shows_and_deletes_only_the_tenants_own(ory, v1, console, other_tenant, issuer):
    key = ec.generate_private_key(ec.SECP256R1())
    mine = v1(
        "POST",
        body={
            "issuer": issuer,
            "allow_any_subject": True,
            "scope": "a b",
            "expires_at": future(days=3),
            "public_key": pem(key),
        },
    ).json()
    assert mine["allow_any_subject"] and mine["scope"] == ["a", "b"]
    assert v1("GET").json()["items"][0]["id"] == mine["id"]
    assert v1("GET", f"/{mine['id']}").json()["issuer"] == issuer
    stranger = console("admin", for_tenant=other_tenant)
    assert stranger.get("/api/hydra/trust").json() == {"items": []}
    assert stranger.get(f"/api/hydra/trust/{mine['id']}").status_code == 404
    assert stranger.delete(f"/api/hydra/trust/{mine['id']}").status_code == 404
    assert stranger.get(f"/console/trust/{mine['id']}/").status_code == 404
    assert stranger.post(f"/console/trust/{mine['id']}/delete").status_code == 404
    assert any(t["id"] == mine["id"] for t in hydra_trusts(ory))
    assert v1("DELETE", f"/{mine['id']}").status_code == 204
    assert not any(t["id"] == mine["id"] for t in hydra_trusts(ory))
    assert not TrustRecord.objects.filter(hydra_id=mine["id"]).exists()
    outcomes = [e.outcome for e in AuditEvent.objects.filter(action="oauth2.trust.delete").order_by("id")]
    assert outcomes == ["failure", "success"]  # the stranger's attempt, then the owner's delete


@pytest.mark.parametrize(("role", "may_change"), [("viewer", False), ("member", False), ("admin", True)])
def test_it_lets_admins_change_trust_and_everyone_read(ory, console, role, may_change, issuer):
    operator = console(role)
    key = ec.generate_private_key(ec.SECP256R1())
    body = trust_body(issuer, key, scope=["a"], expires_at=future(days=1))
    created = operator.post("/api/hydra/trust", json.dumps(body), content_type="application/json")
    page = operator.get("/console/trust/new")
    assert operator.get("/api/hydra/trust").status_code == 200
    assert operator.get("/console/trust/").status_code == 200
    if may_change:
        assert created.status_code == 201 and page.status_code == 200
        trust_id = created.json()["id"]
        assert operator.get(f"/console/trust/{trust_id}/").status_code == 200
        assert operator.post(f"/console/trust/{trust_id}/delete").status_code == 302
        assert not any(t["id"] == trust_id for t in hydra_trusts(ory))
    else:
        assert created.status_code == 403 and page.status_code == 403
        assert not [t for t in hydra_trusts(ory) if t["issuer"] == issuer]
        denied = AuditEvent.objects.filter(action="oauth2.trust.create")
        assert [e.outcome for e in denied] == ["denied"]


def test_platform_admins_manage_trust_in_the_tenant_they_act_for(ory, issuer, tenant):
    from django.contrib.auth.models import User
    from django.test import Client

    root = Client()
    root.force_login(
        User.objects.create_superuser(f"root-{uuid.uuid4().hex[:6]}", password="pw-for-tests-123")
    )
    key = ec.generate_private_key(ec.SECP256R1())
    body = trust_body(issuer, key, scope=["a"], expires_at=future(days=1))
    created = root.post("/api/hydra/trust", json.dumps(body), content_type="application/json")
    assert created.status_code == 201
    assert TrustRecord.objects.get(hydra_id=created.json()["id"]).tenant_id is not None


def test_the_console_creates_from_a_pem_and_renders_the_workbench(ory, tenant_admin, issuer):
    key = ec.generate_private_key(ec.SECP256R1())
    form = trust_body(issuer, key, scope="inventory:read", expires_at=future(days=30)[:16])
    refused = tenant_admin.post("/console/trust/new", {**form, "public_key": pem(key, private=True)})
    assert refused.status_code == 400 and b"private key" in refused.content
    assert not [t for t in hydra_trusts(ory) if t["issuer"] == issuer]
    response = tenant_admin.post("/console/trust/new", form)
    assert response.status_code == 302
    page = tenant_admin.get(response["Location"]).content.decode()
    assert 'id="workbench-data"' in page and "js/workbench.js" in page and "<script>" not in page
    data = json.loads(page.split('id="workbench-data" type="application/json">')[1].split("</script>")[0])
    assert (
        data["issuer"] == issuer
        and data["token_url"].endswith("/oauth2/token")
        and "d" not in data["public_jwk"]
    )


def test_it_answers_503_when_hydra_is_down(hydra_down, v1, issuer, tenant):
    TrustRecord.objects.create(
        tenant=tenant, hydra_id="x", issuer=issuer, expires_at=datetime.now(UTC), public_jwk={"kty": "EC"}
    )
    assert v1("GET").status_code == 503
    # The expired row could not be removed: it stays due (the next sweep retries), nothing is audited as expired.
    assert TrustRecord.objects.get(hydra_id="x").removed_at is None
    assert not AuditEvent.objects.filter(action="oauth2.trust.expire").exists()
    with pytest.raises(CommandError, match="could not be removed"):
        call_command("expire_trusts", stdout=io.StringIO())
    key = ec.generate_private_key(ec.SECP256R1())
    response = v1(
        "POST",
        body=trust_body(issuer, key, subject="s", scope=[], expires_at=future(days=1)),
    )
    assert response.status_code == 503
