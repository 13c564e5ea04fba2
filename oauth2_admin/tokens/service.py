"""Tenant-scoped token introspection and revocation: the one service the console and both JSON APIs use.

Isolation: Hydra's admin introspection answers for every token of every client, so Truss looks up the owner of
the token's client and answers exactly `{"active": false}` unless it is the caller's tenant. An inactive token,
a token of another tenant's client and a token of a client outside Truss are indistinguishable.

Revocation: Hydra's `/oauth2/revoke` needs the owning client's credentials, which Truss never stores. What Truss
does instead depends on the token (see `REVOKE_METHODS`), and it reports success only when Hydra's introspection
says the token is inactive afterwards.

Tokens never reach logs or the audit log: events carry `fingerprint(token)` only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from django.core.cache import caches
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from pydantic import BaseModel, ConfigDict, Field

from truss import audit
from truss.audit import Action
from truss.models import Tenant
from truss.ory import hydra, kratos

# A client's owner never changes through Truss; caching it keeps introspection at one Hydra round trip. Both
# entries only expire (nothing invalidates them), so the per-process cache is as right as a shared one, and
# saves a round trip to it on every introspection.
OWNER_CACHE_SECONDS = 60
JWKS_CACHE_SECONDS = 60
_OWNER_KEY = "truss:tokens:owner:{}"
_JWKS_KEY = "truss:tokens:jwks"
_NO_OWNER = ""  # cached for clients without an owner, and for deleted clients

REVOKE_METHODS = {
    "public_client_revocation": (
        "Revoked at Hydra's /oauth2/revoke as the public client (no secret needed): this token and the other "
        "token of the same grant (its access or refresh token) are revoked."
    ),
    "consent_revocation": (
        "Revoked the subject's consent for this client: every access and refresh token Hydra issued to this "
        "client for this user is revoked, and the user is asked for consent again next time."
    ),
    "client_access_tokens_deleted": (
        "Deleted every access token of this client (Hydra's DELETE /admin/oauth2/tokens?client_id=), users' "
        "included; refresh tokens are kept and can still be exchanged for new access tokens."
    ),
}
REVOKE_SUMMARY = (
    "Truss never stores client secrets, so it cannot call /oauth2/revoke for confidential clients. It "
    "introspects the token and then: for a public client's token, revokes it at /oauth2/revoke with the "
    "client_id (this grant's access and refresh token); for a user's token (subject ≠ client), revokes that "
    "user's consent for the client (all of their access and refresh tokens for this client); for a "
    "client-credentials token (subject = client) or when a user's access token outlives its consent (e.g. "
    "jwt-bearer), deletes all access tokens of the client. Success only when Hydra says the token is inactive "
    "afterwards."
)


class TokenIn(BaseModel):
    """`{"token": "…"}`: an access or refresh token (opaque `ory_at_…`/`ory_rt_…` or a JWT), exactly as issued."""

    model_config = ConfigDict(extra="forbid", strict=True)

    token: str = Field(min_length=1, max_length=8192, pattern=r"^[\x21-\x7E]+$")


class NotRevoked(Exception):
    """The token was still active after Truss's revocation attempt."""


class NothingToRevoke(Exception):
    """Inactive, unknown, or another tenant's token: answered like a missing object (404)."""


def fingerprint(token: str) -> str:
    """What the audit log records instead of a token."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()[:16]


def _owner_of(client_id: str) -> str:
    key = _OWNER_KEY.format(hashlib.sha256(client_id.encode()).hexdigest()[:32])
    owner: str | None = caches["process"].get(key)
    if owner is None:
        try:
            owner = hydra.get_client(client_id).owner or _NO_OWNER
        except hydra.HydraNotFound:
            owner = _NO_OWNER
        caches["process"].set(key, owner, OWNER_CACHE_SECONDS)
    return owner


def introspect_for(tenant: Tenant, token: str) -> hydra.Introspection:
    """Hydra's introspection if the token is active and its client is the tenant's; else `active: false`."""
    result = hydra.introspect(token)
    if not result.active or not result.client_id or _owner_of(result.client_id) != tenant.hydra_owner:
        return hydra.Introspection(active=False)
    return result


def api_view(result: hydra.Introspection) -> dict[str, Any]:
    """The JSON answer: exactly {"active": false} when inactive, Hydra's fields otherwise."""
    if not result.active:
        return {"active": False}
    return result.model_dump(mode="json", exclude_none=True)


# --- Readable view for the console ------------------------------------------------------------------------


@dataclass(frozen=True)
class When:
    at: datetime
    iso: str
    absolute: str
    relative: str


def when(epoch: int | None, now: datetime | None = None) -> When | None:
    if epoch is None:
        return None
    at = datetime.fromtimestamp(epoch, tz=UTC)
    now = now or timezone.now()
    relative = f"in {timeuntil(at, now, depth=2)}" if at > now else f"{timesince(at, now, depth=2)} ago"
    return When(at, at.isoformat(), at.strftime("%Y-%m-%d %H:%M:%S UTC"), relative.replace("\xa0", " "))


@dataclass(frozen=True)
class JwtReport:
    header: str
    payload: str
    signature_valid: bool
    kid: str | None
    alg: str | None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TokenReport:
    """What the console shows for one introspected token."""

    result: hydra.Introspection
    subject_label: str | None = None  # the Kratos identity's email, or "the client itself"
    subject_note: str | None = None
    client_name: str | None = None
    scopes: list[str] = field(default_factory=list)
    issued: When | None = None
    expires: When | None = None
    not_before: When | None = None
    jwt: JwtReport | None = None


def _subject_label(result: hydra.Introspection) -> tuple[str | None, str | None]:
    if not result.sub:
        return None, None
    if result.sub == result.client_id:
        return "the client itself (client credentials)", None
    try:
        identity = kratos.get_identity(result.sub)
    except kratos.KratosNotFound:
        return None, "No Kratos identity has this id."
    except kratos.KratosError:
        return None, "Kratos is unavailable: the subject is shown as an id."
    return identity.email, None


def _jwks(refresh: bool = False) -> dict[str, Any]:
    """Hydra's published JWKS (public halves only), cached briefly; refreshed once for an unknown kid."""
    keys: dict[str, Any] | None = None if refresh else caches["process"].get(_JWKS_KEY)
    if keys is None:
        keys = {
            "keys": [
                k.model_dump(mode="json", by_alias=True, exclude_none=True) for k in hydra.public_jwks().keys
            ]
        }
        caches["process"].set(_JWKS_KEY, keys, JWKS_CACHE_SECONDS)
    return keys


def looks_like_jwt(token: str) -> bool:
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return False
    return isinstance(header, dict) and "alg" in header


def check_jwt(token: str) -> JwtReport:
    """Decode a JWT access token and verify its signature against Hydra's published JWKS."""
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    kid, alg = header.get("kid"), header.get("alg")
    problems: list[str] = []
    valid = False
    if not alg or alg.lower() == "none":
        problems.append("alg is none: the token is unsigned.")
    else:
        keys = _jwks()
        match = [k for k in keys["keys"] if k.get("kid") == kid]
        if not match:
            keys = _jwks(refresh=True)
            match = [k for k in keys["keys"] if k.get("kid") == kid]
        if not match:
            problems.append(f"Unknown kid {kid!r}: no key in Hydra's published JWKS has it.")
        else:
            try:
                key = jwt.PyJWK(match[0], algorithm=alg)
                jwt.decode(
                    token, key.key, algorithms=[alg], options={"verify_aud": False, "verify_exp": False}
                )
                valid = True
            except jwt.PyJWTError as exc:
                problems.append(f"Signature check failed: {exc}.")
    exp = payload.get("exp")
    if isinstance(exp, int | float) and exp < timezone.now().timestamp():
        problems.append("Expired.")
    return JwtReport(
        header=json.dumps(header, indent=2, sort_keys=True),
        payload=json.dumps(payload, indent=2, sort_keys=True),
        signature_valid=valid,
        kid=kid,
        alg=alg,
        problems=problems,
    )


def client(client_id: str) -> hydra.OAuth2Client:
    """The client a token of the tenant was issued to (the caller has checked the token is the tenant's)."""
    return hydra.get_client(client_id)


def report(tenant: Tenant, token: str) -> TokenReport:
    """Introspect for the console: the tenant-scoped result, made readable."""
    result = introspect_for(tenant, token)
    if not result.active:
        return TokenReport(result=result)
    subject_label, subject_note = _subject_label(result)
    client_name = None
    if result.client_id:
        try:
            client_name = hydra.get_client(result.client_id).client_name
        except hydra.HydraNotFound:
            client_name = None
    now = timezone.now()
    return TokenReport(
        result=result,
        subject_label=subject_label,
        subject_note=subject_note,
        client_name=client_name,
        scopes=(result.scope or "").split(),
        issued=when(result.iat, now),
        expires=when(result.exp, now),
        not_before=when(result.nbf, now),
        # Decoded only for the tenant's own active tokens: claims of others' tokens must not leak.
        jwt=check_jwt(token) if looks_like_jwt(token) else None,
    )


# --- Revocation -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Revocation:
    client_id: str
    subject: str | None
    token_use: str | None
    methods: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "revoked": True,
            "client_id": self.client_id,
            "subject": self.subject,
            "token_use": self.token_use,
            "methods": self.methods,
            "what_was_revoked": [REVOKE_METHODS[m] for m in self.methods],
        }


def _still_active(token: str) -> bool:
    return hydra.introspect(token).active


def revoke_for(request: HttpRequest | None, tenant: Tenant, token: str) -> Revocation:
    """Revoke one of the tenant's tokens (see REVOKE_SUMMARY); audited once as oauth2.token.revoke."""
    with audit.mutation(request, Action.TOKEN_REVOKE, tenant, fingerprint(token)) as event:
        found = introspect_for(tenant, token)
        if not found.active or not found.client_id:
            raise NothingToRevoke("No active token of this tenant's clients matches.")
        client = hydra.get_client(found.client_id)
        methods: list[str] = []
        if client.is_public:
            hydra.revoke_public_client_token(token, client.client_id)
            methods.append("public_client_revocation")
        elif found.sub and found.sub != found.client_id:
            hydra.revoke_consent_sessions(found.sub, client_id=client.client_id)
            methods.append("consent_revocation")
        if not methods or (_still_active(token) and found.token_use != "refresh_token"):
            # Client credentials (subject = client), or an access token that no consent covers (jwt-bearer).
            hydra.delete_client_tokens(client.client_id)
            methods.append("client_access_tokens_deleted")
        if _still_active(token):
            raise NotRevoked(
                "Hydra still reports this token as active after: " + ", ".join(methods) + ". Nothing else "
                "can revoke it without the client's secret; rotate the secret or delete the client."
            )
        revocation = Revocation(client.client_id, found.sub, found.token_use, methods)
        event.success(
            after={
                "client_id": client.client_id,
                "subject": found.sub,
                "token_use": found.token_use,
                "methods": methods,
            }
        )
    return revocation
