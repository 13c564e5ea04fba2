"""Hydra's signing keys through Truss, against the real Hydra: create in 7 algorithms (ID tokens verify with
pyjwt), delete rules, staged rotation with real tokens, no private material anywhere, roles, outages."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
import requests

from oauth2_admin.keys.models import KeyRecord, Rotation
from tests.keys.conftest import ACCESS_SET, ID_SET, admin_keys, published, verify
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA"]
PRIVATE = ("d", "p", "q", "dp", "dq", "qi", "k")


def post(client: Any, path: str, body: Any) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json")


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def _create(admin: Any, set_id: str) -> str:
    """A new ES256 key through Truss; the newest of its set (Hydra orders keys by created_at, in seconds)."""
    time.sleep(1.1)
    response = post(admin, "/api/hydra/keys", {"set_id": set_id, "algorithm": "ES256"})
    assert response.status_code == 201, response.content
    return str(response.json()["kid"])


@pytest.mark.django_db(transaction=True)  # the live bridge serves from another thread
def test_it_creates_keys_in_all_seven_algorithms_and_id_tokens_verify(
    ory, platform_admin, id_tokens, restore_rs256_signer
):
    for alg in ALGORITHMS:
        time.sleep(1.1)  # Hydra orders keys by created_at (seconds): the new key must be the newest
        response = post(platform_admin, "/api/hydra/keys", {"set_id": ID_SET, "algorithm": alg, "use": "sig"})
        assert response.status_code == 201, response.content
        created = response.json()
        assert created["alg"] == alg and created["signing"] is True and created["created"] == "by Truss"
        assert created["warnings"] and "signs new tokens" in created["warnings"][0]
        token = id_tokens()
        assert jwt.get_unverified_header(token) == {
            **jwt.get_unverified_header(token),
            "kid": created["kid"],
            "alg": alg,
        }
        assert verify(ory, token, id_tokens.client_id)["aud"] == [id_tokens.client_id]
    assert KeyRecord.objects.filter(set_id=ID_SET).count() == 7
    assert len(events("hydra.key.create")) == 7


def test_it_shows_sets_signer_thumbprint_and_never_private_members(ory, platform_admin, tenant):
    response = post(
        platform_admin, "/api/hydra/keys", {"set_id": "truss.test.enc", "algorithm": "ES384", "use": "sig"}
    )
    assert response.status_code == 201
    private_values = [
        key[m]
        for set_id in (ID_SET, "hydra.jwt.access-token", "truss.test.enc")
        for key in admin_keys(ory, set_id)
        for m in PRIVATE
        if m in key
    ]
    assert private_values, "Hydra's admin GET returns private members: the test needs them to look for"
    api = platform_admin.get("/api/hydra/keys")
    page = platform_admin.get("/console/jwks/")
    assert api.status_code == 200 and page.status_code == 200
    for body in (api.content.decode(), page.content.decode(), response.content.decode()):
        for value in private_values:
            assert value not in body
    for key_set in api.json()["sets"]:
        for key in key_set["keys"]:
            assert not set(PRIVATE) & set(key["public_jwk"])
    sets = {s["set_id"]: s for s in api.json()["sets"]}
    assert {ID_SET, "hydra.jwt.access-token", "truss.test.enc"} <= set(sets)
    signer = next(k for k in sets[ID_SET]["keys"] if k["signing"])
    # RFC 7638: the thumbprint of the published public JWK
    jwk = next(k for k in published(ory)["keys"] if k["kid"] == signer["kid"])
    expected = jwt.PyJWK(jwk).key  # parses
    assert expected is not None and len(signer["thumbprint_sha256"]) == 43
    assert signer["size"] in ("4096 bits", "P-256", "P-384", "P-521", "Ed25519", "2048 bits")
    assert b"before Truss" in page.content or b"by Truss" in api.content
    assert signer["kid"].encode() in page.content


def test_it_computes_the_rfc7638_thumbprint():
    from oauth2_admin.keys.service import thumbprint
    from truss.ory.hydra import JsonWebKey

    # RFC 7638 §3.1's example key and thumbprint
    key = JsonWebKey.model_validate(
        {
            "kty": "RSA",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        }
    )
    assert thumbprint(key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_it_refuses_bad_input_with_field_messages_and_changes_nothing(ory, platform_admin):
    response = post(
        platform_admin, "/api/hydra/keys", {"set_id": "bad set!", "algorithm": "HS256", "use": "x"}
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"set_id", "algorithm", "use"}
    response = post(platform_admin, "/api/hydra/keys", {"set_id": "truss.never", "algorithm": "HS256"})
    assert response.status_code == 400 and "algorithm" in response.json()["fields"]
    assert admin_keys(ory, "truss.never") == []
    assert [e.outcome for e in events("hydra.key.create")] == ["failure", "failure"]


def test_it_refuses_to_delete_the_last_signing_key_and_warns_on_others(
    ory, platform_admin, lone_access_signer
):
    lone = lone_access_signer
    refused = platform_admin.delete(f"/api/hydra/keys/{ACCESS_SET}/{lone}")
    assert refused.status_code == 409 and "last signing key" in refused.json()["message"]
    assert [k["kid"] for k in admin_keys(ory, ACCESS_SET) if "d" in k] == [lone]
    shown = platform_admin.get(f"/console/jwks/{ACCESS_SET}/{lone}/delete").content.decode()
    assert "Truss refuses to delete it" in shown and "Delete key</button>" not in shown

    older, newest = (_create(platform_admin, ACCESS_SET) for _ in range(2))
    for kid, what in ((older, "may have signed tokens"), (newest, "signs new tokens now")):
        shown = platform_admin.get(f"/console/jwks/{ACCESS_SET}/{kid}/delete").content.decode()
        assert f"This key {what}." in shown and "Delete key</button>" in shown
        response = platform_admin.delete(f"/api/hydra/keys/{ACCESS_SET}/{kid}")
        assert response.status_code == 200 and response.json()["deleted"]["kid"] == kid
        [warning] = response.json()["warnings"]
        assert warning.startswith(f"This key {what}. Tokens signed with it can stay alive for up to ")
        assert warning.endswith("once it is deleted, verifiers that refetch the JWKS reject them.")
    assert [k["kid"] for k in admin_keys(ory, ACCESS_SET) if "d" in k] == [lone]
    assert platform_admin.delete(f"/api/hydra/keys/{ACCESS_SET}/{lone}").status_code == 409  # the last again

    created = _create(platform_admin, "truss.test.del")
    response = platform_admin.delete(f"/api/hydra/keys/truss.test.del/{created}")
    assert response.status_code == 200 and response.json() == {
        "deleted": {"set_id": "truss.test.del", "kid": created},
        "warnings": [],
    }  # no set Hydra signs with: nothing to warn about
    assert admin_keys(ory, "truss.test.del") == []
    assert platform_admin.delete(f"/api/hydra/keys/truss.test.del/{created}").status_code == 404
    outcomes = [e.outcome for e in events("hydra.key.delete")]
    assert outcomes == ["failure", "success", "success", "failure", "success", "failure"]
    for event in AuditEvent.objects.filter(action__startswith="hydra.key"):
        assert not set(PRIVATE) & set(event.after or {})


@pytest.mark.parametrize("role", ["viewer", "member", "admin"])
def test_it_lets_only_platform_admins_change_keys(ory, console, role):
    operator = console(role)
    assert operator.get("/api/hydra/keys").status_code == 200
    page = operator.get("/console/jwks/")
    assert (
        page.status_code == 200
        and b"Create a key" not in page.content
        and b"Only platform admins" in page.content
    )
    attempts = [
        post(operator, "/api/hydra/keys", {"set_id": "truss.denied", "algorithm": "ES256"}),
        operator.delete(f"/api/hydra/keys/{ID_SET}/anything"),
        post(operator, "/api/hydra/keys/rotations", {"set_id": ID_SET, "algorithm": "ES256"}),
        operator.post("/console/jwks/new", {"set_id": "truss.denied", "algorithm": "ES256", "use": "sig"}),
        operator.post(
            "/console/jwks/rotations/new", {"set_id": ID_SET, "algorithm": "ES256", "cache_window_seconds": 0}
        ),
    ]
    assert [a.status_code for a in attempts] == [403] * 5
    assert admin_keys(ory, "truss.denied") == []
    denied = AuditEvent.objects.filter(outcome="denied", action__startswith="hydra.key")
    assert denied.count() == 5


def test_it_shows_the_management_forms_to_platform_admins_with_csrf(ory, platform_admin):
    page = platform_admin.get("/console/jwks/").content.decode()
    assert "Create a key" in page and "Publish next key" in page and page.count("csrfmiddlewaretoken") >= 2


def test_it_answers_503_when_hydra_is_down(hydra_down, platform_admin):
    response = platform_admin.get("/api/hydra/keys")
    assert response.status_code == 503 and response["Retry-After"]
    assert platform_admin.get("/console/jwks/").status_code == 503
    created = post(platform_admin, "/api/hydra/keys", {"set_id": "x.y", "algorithm": "ES256"})
    assert created.status_code == 503
    assert [e.outcome for e in events("hydra.key.create")] == ["failure"]


@pytest.mark.django_db(transaction=True)  # the live bridge serves from another thread
def test_staged_rotation_keeps_every_token_verifiable(ory, platform_admin, id_tokens, restore_rs256_signer):
    aud = id_tokens.client_id
    before = id_tokens()
    old_kid = jwt.get_unverified_header(before)["kid"]

    # A cache window that has not passed: promotion is refused, the key only published.
    waiting = post(
        platform_admin,
        "/api/hydra/keys/rotations",
        {"set_id": ID_SET, "algorithm": "RS256", "cache_window_seconds": 3600},
    )
    assert waiting.status_code == 201, waiting.content
    assert (
        post(platform_admin, f"/api/hydra/keys/rotations/{waiting.json()['id']}/promote", {}).status_code
        == 409
    )
    assert (
        post(
            platform_admin, "/api/hydra/keys/rotations", {"set_id": ID_SET, "algorithm": "RS256"}
        ).status_code
        == 409
    )
    cancelled = post(platform_admin, f"/api/hydra/keys/rotations/{waiting.json()['id']}/cancel", {})
    assert cancelled.json()["stage"] == "cancelled"
    assert waiting.json()["next_kid"] not in {k["kid"] for k in published(ory)["keys"]}

    # Stage 1: published, not signing.
    time.sleep(1.1)
    started = post(
        platform_admin,
        "/api/hydra/keys/rotations",
        {"set_id": ID_SET, "algorithm": "RS256", "cache_window_seconds": 0},
    )
    assert started.status_code == 201
    rotation = started.json()
    new_kid = rotation["next_kid"]
    assert rotation["stage"] == "published" and old_kid in rotation["old_kids"]
    assert new_kid in {k["kid"] for k in published(ory)["keys"]}
    during = id_tokens()
    assert jwt.get_unverified_header(during)["kid"] == old_kid  # Hydra still signs with the old key
    for token in (before, during):
        verify(ory, token, aud)

    # Stage 2: promoted — the new key signs, the old one stays published.
    promoted = post(platform_admin, f"/api/hydra/keys/rotations/{rotation['id']}/promote", {})
    assert promoted.status_code == 200, promoted.content
    assert promoted.json()["stage"] == "promoted" and promoted.json()["retire_after"]
    after = id_tokens()
    assert jwt.get_unverified_header(after)["kid"] == new_kid
    for token in (before, during, after):
        verify(ory, token, aud)
    assert not admin_keys(ory, rotation_holding(rotation["id"]))  # the holding set is gone

    # Stage 3: retiring before the longest lifespan is refused; forced, the old key leaves the JWKS.
    retire = f"/api/hydra/keys/rotations/{rotation['id']}/retire"
    early = post(platform_admin, retire, {})
    assert early.status_code == 409 and "may live until" in early.json()["message"]
    for token in (before, during, after):
        verify(ory, token, aud)
    assert post(platform_admin, retire, {"force": True}).json()["stage"] == "retired"
    assert old_kid not in {k["kid"] for k in published(ory)["keys"]}
    verify(ory, after, aud)
    verify(ory, id_tokens(), aud)
    with pytest.raises(jwt.InvalidKeyError):  # why the wait matters: forced early, old tokens stop verifying
        verify(ory, before, aud)
    actions = [
        e.action for e in AuditEvent.objects.filter(action__startswith="hydra.key.rotation").order_by("id")
    ]
    assert actions.count("hydra.key.rotation.start") == 3 and actions.count("hydra.key.rotation.retire") == 2


def rotation_holding(rotation_id: int) -> str:
    return Rotation.objects.get(pk=rotation_id).holding_set


def test_it_explains_the_rotation_stage_on_the_console(ory, platform_admin, restore_rs256_signer):
    response = platform_admin.post(
        "/console/jwks/rotations/new", {"set_id": ID_SET, "algorithm": "ES256", "cache_window_seconds": 600}
    )
    assert response.status_code == 302
    page = platform_admin.get("/console/jwks/").content.decode()
    rotation = Rotation.objects.get(stage="published")
    assert "Promote after" in page and rotation.next_kid in page and "published only" in page
    response = platform_admin.post(f"/console/jwks/rotations/{rotation.pk}", {"action": "cancel"})
    assert response.status_code == 302
    assert Rotation.objects.get(pk=rotation.pk).stage == "cancelled"
    assert rotation.next_kid not in {
        k["kid"]
        for k in requests.get(f"{ory.hydra_public_url}/.well-known/jwks.json", timeout=10).json()["keys"]
    }
