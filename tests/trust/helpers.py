"""What the trust tests share: keys as PEM, expiry strings, assertions and exchanges at the real Hydra."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TRUSTS = "/admin/trust/grants/jwt-bearer/issuers"


def pem(key: ec.EllipticCurvePrivateKey, private: bool = False) -> str:
    if private:
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def trust_body(issuer: str, key: Any = None, **extra: Any) -> dict[str, Any]:
    """A valid trust for the API: subject "svc", one scope, 30 days, the public half of `key` (a new EC key
    when none is given); `extra` overrides any field."""
    return {
        "issuer": issuer,
        "subject": "svc",
        "scope": ["inventory:read"],
        "expires_at": future(days=30),
        "public_key": pem(key or ec.generate_private_key(ec.SECP256R1())),
        **extra,
    }


def hydra_trusts(ory: Any, issuer: str | None = None) -> list[dict[str, Any]]:
    params = {"page_size": 1000, **({"issuer": issuer} if issuer else {})}
    return list(requests.get(f"{ory.hydra_admin_url}{TRUSTS}", params=params, timeout=10).json() or [])


def assertion(ory: Any, key: Any, iss: str, sub: str, kid: str | None, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": iss,
        "sub": sub,
        "aud": f"{ory.hydra_public_url}/oauth2/token",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        **claims,
    }
    return jwt.encode(body, key, algorithm="ES256", headers={"kid": kid} if kid else None)


def exchange(ory: Any, app: dict[str, Any], token: str, scope: str = "inventory:read") -> requests.Response:
    return requests.post(
        f"{ory.hydra_public_url}/oauth2/token",
        auth=(app["client_id"], app["client_secret"]),
        data={"grant_type": GRANT, "assertion": token, "scope": scope},
        timeout=30,
    )
