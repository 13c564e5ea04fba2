"""Trust is unique per tenant. Another tenant trusting the same issuer key for the same subject shares Hydra's trust
(Hydra holds one per issuer, subject and key id) without learning anything about the first; one tenant removing
its trust leaves the others' working. Hydra deletes a key with every trust using it, so Truss re-creates the
key's other trusts; and it refuses a second, different key under a key id the issuer already uses."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from jwt.algorithms import ECAlgorithm

from oauth2_admin.trust.models import TrustRecord
from tests.trust.helpers import GRANT, assertion, exchange, future, hydra_trusts, trust_body
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def jwk_of(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid}


def test_it_lets_another_tenant_trust_the_same_key_without_telling_it(ory, v1, v1_for, other_tenant, issuer):
    key = ec.generate_private_key(ec.SECP256R1())
    first = v1("POST", body=trust_body(issuer, key))
    assert first.status_code == 201
    second = v1_for(other_tenant)("POST", body=trust_body(issuer, key))
    assert second.status_code == 201, second.content  # not 409 "exists already"
    mine, theirs = first.json(), second.json()
    assert theirs["id"] != mine["id"] and mine["id"] not in second.content.decode()
    assert [t["id"] for t in v1_for(other_tenant)("GET").json()["items"]] == [theirs["id"]]
    assert [t["id"] for t in v1("GET").json()["items"]] == [mine["id"]]
    (shared,) = hydra_trusts(ory, issuer)
    assert {r.grant_id for r in TrustRecord.objects.all()} == {shared["id"]}


def test_it_keeps_a_shared_trust_working_when_one_tenant_deletes_it(
    ory, v1, v1_for, other_tenant, issuer, make_hydra_client
):
    key = ec.generate_private_key(ec.SECP256R1())
    mine = v1("POST", body=trust_body(issuer, key)).json()
    theirs = v1_for(other_tenant)("POST", body=trust_body(issuer, key)).json()
    app = make_hydra_client(grant_types=[GRANT], scope="inventory:read")
    kid = mine["public_jwk"]["kid"]

    assert v1_for(other_tenant)("DELETE", f"/{theirs['id']}").status_code == 204
    assert exchange(ory, app, assertion(ory, key, issuer, "svc", kid)).status_code == 200
    assert v1("GET", f"/{mine['id']}").json()["status"] == "active"
    assert v1("DELETE", f"/{mine['id']}").status_code == 204
    assert hydra_trusts(ory, issuer) == []
    assert exchange(ory, app, assertion(ory, key, issuer, "svc", kid)).status_code == 400


def test_it_widens_a_shared_trust_and_keeps_the_first_tenants_id(
    ory, v1, v1_for, other_tenant, issuer, make_hydra_client
):
    key = ec.generate_private_key(ec.SECP256R1())
    mine = v1("POST", body=trust_body(issuer, key, expires_at=future(days=10))).json()
    wider = trust_body(issuer, key, scope=["inventory:read", "inventory:write"], expires_at=future(days=40))
    assert v1_for(other_tenant)("POST", body=wider).status_code == 201
    (shared,) = hydra_trusts(ory, issuer)
    assert set(shared["scope"]) == {"inventory:read", "inventory:write"}
    assert shared["expires_at"][:10] == wider["expires_at"][:10]
    assert v1("GET", f"/{mine['id']}").json()["in_hydra"] is True  # same id, carried by the new Hydra trust
    app = make_hydra_client(grant_types=[GRANT], scope="inventory:read inventory:write")
    token = assertion(ory, key, issuer, "svc", mine["public_jwk"]["kid"])
    assert exchange(ory, app, token, scope="inventory:write").status_code == 200


def test_it_refuses_the_same_trust_twice_in_one_tenant(ory, v1, issuer, client):
    key = ec.generate_private_key(ec.SECP256R1())
    first = v1("POST", body=trust_body(issuer, key)).json()
    again = v1("POST", body=trust_body(issuer, key, scope=["other"]))
    assert again.status_code == 409
    assert again.json()["error"] == "conflict" and first["id"] in again.json()["message"]
    outcomes = [e.outcome for e in AuditEvent.objects.filter(action="oauth2.trust.create").order_by("id")]
    assert outcomes == ["success", "failure"]
    assert len(hydra_trusts(ory, issuer)) == 1
    # Any subject is a different trust from one subject.
    assert v1("POST", body=trust_body(issuer, key, subject=None, allow_any_subject=True)).status_code == 201
    doc = client.get("/api/openapi.json").json()
    for path in ("/v1/oauth2/trust", "/api/hydra/trust"):
        assert "409" in doc["paths"][path]["post"]["responses"]


def test_it_keeps_the_other_subjects_of_a_key_when_one_is_deleted(ory, v1, issuer, make_hydra_client):
    # Hydra deletes the key with a trust, and every other trust using it: Truss re-creates them.
    key = ec.generate_private_key(ec.SECP256R1())
    alice = v1("POST", body=trust_body(issuer, key, subject="alice")).json()
    bob = v1("POST", body=trust_body(issuer, key, subject="bob")).json()
    assert v1("DELETE", f"/{alice['id']}").status_code == 204
    app = make_hydra_client(grant_types=[GRANT], scope="inventory:read")
    kid = bob["public_jwk"]["kid"]
    assert exchange(ory, app, assertion(ory, key, issuer, "bob", kid)).status_code == 200
    assert exchange(ory, app, assertion(ory, key, issuer, "alice", kid)).status_code == 400
    assert v1("GET", f"/{bob['id']}").json()["status"] == "active"


def test_it_refuses_a_second_key_under_a_key_id_the_issuer_uses(ory, v1, v1_for, other_tenant, issuer):
    # Hydra keeps one key per issuer and kid: it would silently verify the second trust with the first key.
    first, second = (ec.generate_private_key(ec.SECP256R1()) for _ in range(2))
    body = trust_body(issuer, first, subject="alice", public_key=json.dumps(jwk_of(first, "k1")))
    assert v1("POST", body=body).status_code == 201
    other = trust_body(issuer, second, subject="bob", public_key=json.dumps(jwk_of(second, "k1")))
    refused = v1_for(other_tenant)("POST", body=other)
    assert refused.status_code == 409 and "key id" in refused.json()["message"]
    assert [t["subject"] for t in hydra_trusts(ory, issuer)] == ["alice"]


@pytest.mark.django_db(transaction=True)
def test_it_settles_parallel_creates_of_the_same_trust(ory, make_tenant, make_api_key, issuer):
    key = ec.generate_private_key(ec.SECP256R1())
    tenants = [make_tenant() for _ in range(3)]
    callers = [(t, make_api_key(t)) for t in tenants] + [(tenants[0], make_api_key(tenants[0]))]
    answers: dict[int, int] = {}
    start = threading.Barrier(len(callers))

    def post(index: int, api_key: str) -> None:
        start.wait()
        answers[index] = (
            Client()
            .post(
                "/v1/oauth2/trust",
                json.dumps(trust_body(issuer, key)),
                content_type="application/json",
                headers={"apikey": api_key},
            )
            .status_code
        )

    threads = [threading.Thread(target=post, args=(i, k)) for i, (_, k) in enumerate(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(answers.values()) == [201, 201, 201, 409]
    (shared,) = hydra_trusts(ory, issuer)
    rows = TrustRecord.objects.all()
    assert sorted(r.tenant_id for r in rows) == sorted(t.pk for t in tenants)
    assert {r.grant_id for r in rows} == {shared["id"]}
    assert AuditEvent.objects.filter(action="oauth2.trust.create").count() == 4
