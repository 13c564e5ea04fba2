"""Bad trust input is a 400 with field messages (API) or form errors (console), never a 500, and nothing reaches
Hydra or Truss's database: impossible dates, expiries past the calendar, keys without a usable algorithm, bodies
and key text nested thousands deep, NUL and control characters, texts longer than Hydra's columns."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from oauth2_admin.trust import service as trust
from oauth2_admin.trust.models import TrustRecord
from tests.trust.helpers import future, hydra_trusts, pem
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DEEP = "[" * 5000 + "]" * 5000


def ec_jwk(**extra: Any) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    return {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), **extra}


def valid(issuer: str) -> dict[str, Any]:
    return {
        "issuer": issuer,
        "subject": "svc",
        "scope": ["a"],
        "expires_at": future(days=1),
        "public_key": pem(ec.generate_private_key(ec.SECP256R1())),
    }


def nothing_stored(ory: Any, issuer: str) -> None:
    assert not [t for t in hydra_trusts(ory) if t["issuer"] == issuer]
    assert not TrustRecord.objects.exists()
    assert [e.outcome for e in AuditEvent.objects.filter(action="oauth2.trust.create")] == ["failure"]


@pytest.mark.parametrize(
    ("change", "field", "needle"),
    [
        ({"expires_at": "2030-01-01T10:99:00Z"}, "expires_at", "ISO 8601"),
        ({"expires_at": "2030-13-01T10:00:00Z"}, "expires_at", "ISO 8601"),
        ({"expires_at": "9999-12-31T23:59:00-23:59"}, "expires_at", "ten years"),
        ({"expires_at": "2300-01-01T00:00:00Z"}, "expires_at", "ten years"),
        ({"expires_at": 1893456000}, "expires_at", "ISO 8601"),
        ({"public_key": None, "jwk": ec_jwk(alg="none")}, "jwk", "alg"),
        ({"public_key": None, "jwk": ec_jwk(alg="HS256")}, "jwk", "alg"),
        ({"public_key": None, "jwk": ec_jwk(alg="RS256")}, "jwk", "alg"),
        ({"public_key": json.dumps(ec_jwk(alg="none"))}, "jwk", "alg"),
        ({"public_key": None, "jwk": ec_jwk(kid="k\x07")}, "jwk", "control characters"),
        ({"public_key": None, "jwk": ec_jwk(kid="k" * 256)}, "jwk", "255"),
        ({"public_key": None, "jwk": ec_jwk(kid=["a"])}, "jwk", "text"),
        ({"public_key": None, "jwk": ec_jwk(x=None)}, "jwk", "as strings"),
        (
            {
                "public_key": None,
                "jwk": {
                    "kty": "RSA",
                    **{
                        k: v
                        for k, v in RSAAlgorithm.to_jwk(
                            rsa.generate_private_key(65537, 1024).public_key(), as_dict=True
                        ).items()
                        if k != "kty"
                    },
                },
            },
            "jwk",
            "2048",
        ),
        ({"public_key": DEEP}, "jwk", "nests deeper"),
        ({"public_key": '{"kty": "EC", "kid": "a\\u0000b"}'}, "jwk", "NUL"),
        ({"public_key": "x" * 30_000}, "jwk", "longer"),
        ({"issuer": "https://x.example/" + "a" * 250}, "issuer", "255"),
        ({"issuer": "https://x.example/\x01"}, "issuer", "Required"),
        ({"subject": "svc\x1f"}, "subject", "control characters"),
        ({"subject": "s" * 256}, "subject", "255"),
        ({"scope": ["a"] * 101}, "scope", "at most"),
        ({"allow_any_subject": "yes"}, "allow_any_subject", "true or false"),
    ],
)
def test_it_refuses_bad_fields_before_hydra(ory, v1, issuer, change, field, needle):
    body = {**valid(issuer), **change}
    if body.get("public_key") is None:
        body.pop("public_key")
    response = v1("POST", body=body)
    assert response.status_code == 400, response.content
    assert needle in " ".join(response.json()["fields"][field]), response.json()
    nothing_stored(ory, issuer)


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (DEEP, "nests deeper"),
        ('{"issuer": ' + "[" * 5000 + "]" * 5000 + "}", "nests deeper"),
        ('{"issuer": "https://a.example\\u0000", "subject": "s"}', "NUL"),
        ('{"subject": "s\\u0000"}', "NUL"),
        ('{"expires_at": NaN}', "NaN"),
        ("[1, 2]", "JSON object"),
        ("{", "not valid JSON"),
    ],
)
def test_it_reads_the_body_with_the_one_json_parser(ory, v1, issuer, raw, needle):
    response = v1("POST", raw=raw)
    assert response.status_code == 400, response.content
    assert needle in response.json()["message"]
    nothing_stored(ory, issuer)


def test_it_normalises_the_expiry_to_utc_whole_seconds(ory, v1, issuer):
    body = {**valid(issuer), "expires_at": "2030-06-01T12:00:00.750+02:00"}
    created = v1("POST", body=body)
    assert created.status_code == 201, created.content
    assert created.json()["expires_at"] == "2030-06-01T10:00:00Z"
    (stored,) = [t for t in hydra_trusts(ory) if t["issuer"] == issuer]
    assert stored["expires_at"] == "2030-06-01T10:00:00Z"


def test_it_sends_hydra_only_the_public_members_of_the_key(ory, v1, issuer):
    jwk = ec_jwk(kid="partner-1", key_ops=["verify"], x5u="https://x.example/k", extra={"nested": [1]})
    created = v1("POST", body={**valid(issuer), "public_key": json.dumps(jwk)})
    assert created.status_code == 201, created.content
    assert set(created.json()["public_jwk"]) == {"kty", "crv", "x", "y", "kid", "alg", "use"}
    assert created.json()["public_jwk"]["alg"] == "ES256"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"public_key": DEEP}, "public_key"),
        ({"public_key": json.dumps(ec_jwk(alg="none"))}, "public_key"),
        ({"expires_at": "2030-13-01T00:00"}, "expires_at"),
        ({"expires_at": "9999-12-31T23:59"}, "expires_at"),
        ({"issuer": "https://x.example/\x00"}, "issuer"),
    ],
)
def test_the_console_form_refuses_the_same_input(ory, tenant_admin, issuer, change, field):
    form = {
        "issuer": issuer,
        "subject": "svc",
        "scope": "a",
        "expires_at": future(days=30)[:16],
        "public_key": pem(ec.generate_private_key(ec.SECP256R1())),
        **change,
    }
    response = tenant_admin.post("/console/trust/new", form)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    nothing_stored(ory, issuer)


def test_it_bounds_the_expiry_in_the_parser():
    with pytest.raises(ValueError, match="future"):
        trust.parse_expiry(future(seconds=-1))
    assert trust.parse_expiry("2031-01-01T00:00:00+00:00").tzinfo is not None
