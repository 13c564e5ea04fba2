"""Trusted jwt-bearer issuers (RFC 7523) per tenant. Hydra's trust relationships are global; Truss records the
tenant that created each and only ever shows or deletes a tenant's own (another tenant's answers 404 exactly
like a missing one). Input is validated before Hydra is called; private key material is refused."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from oauth2_admin.keys.service import thumbprint
from oauth2_admin.trust.models import TrustRecord
from truss import audit
from truss.errors import InputError
from truss.models import Tenant
from truss.ory import http as ory_http
from truss.ory import hydra

logger = logging.getLogger(__name__)

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 §3.3 scope-token
# Hydra's oauth2.grant.jwt defaults (Truss cannot read Hydra's config): jti and iat required, 720h max_ttl.
JWT_GRANT_RULES = {"jti_optional": False, "iat_optional": False, "max_ttl_seconds": 720 * 3600}
# The trust pages warn this long before a trust expires (Hydra cannot extend one: a new trust must be created).
EXPIRY_WARNING = timedelta(days=7)


class TrustInputError(InputError):
    """Bad trust input (field → messages); nothing was sent to Hydra."""


class TrustNotFound(Exception):
    pass


# --- the issuer's public key -------------------------------------------------------------------------------------


def _default_alg(jwk: dict[str, Any]) -> str:
    if jwk.get("kty") == "RSA":
        return "RS256"
    if jwk.get("kty") == "EC":
        return {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}.get(str(jwk.get("crv")), "ES256")
    return "EdDSA"


def _from_pem(text: str) -> dict[str, Any]:
    if "PRIVATE KEY" in text:
        raise ValueError(
            "This is a private key. Paste the issuer's public key: its private key must never leave it."
        )
    data = text.strip().encode()
    try:
        if "CERTIFICATE" in text:
            key: Any = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ValueError(f"Not a readable PEM public key or certificate ({exc}).") from exc
    if isinstance(key, rsa.RSAPublicKey):
        out = RSAAlgorithm.to_jwk(key, as_dict=True)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        out = ECAlgorithm.to_jwk(key, as_dict=True)
    elif isinstance(key, ed25519.Ed25519PublicKey):
        out = OKPAlgorithm.to_jwk(key, as_dict=True)
    else:
        raise ValueError("Only RSA, EC (P-256/384/521) and Ed25519 keys are supported.")
    return dict(out)


def parse_public_key(value: Any) -> dict[str, Any]:
    """A PEM public key / certificate, or a JWK (object or JSON text) → a public JWK with kid, alg and use.
    Raises ValueError with a readable message; private material is refused, not stripped."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("Paste the issuer's public key (PEM or JWK).")
        if text.startswith("-----BEGIN"):
            jwk = _from_pem(text)
        else:
            try:
                jwk = json.loads(text)
            except ValueError as exc:
                raise ValueError("Neither a PEM public key nor JWK JSON.") from exc
    else:
        jwk = value
    if isinstance(jwk, dict) and isinstance(jwk.get("keys"), list) and len(jwk["keys"]) == 1:
        jwk = jwk["keys"][0]
    if not isinstance(jwk, dict):
        raise ValueError("Expected one JWK (a JSON object).")
    jwk = dict(jwk)
    private = [m for m in PRIVATE_MEMBERS if m in jwk]
    if private:
        raise ValueError(
            f"This JWK holds private key material ({', '.join(private)}): paste the public key only."
        )
    if jwk.get("kty") not in ("RSA", "EC", "OKP"):
        raise ValueError("Only RSA, EC and OKP (Ed25519) public keys can verify assertions.")
    if jwk.get("kty") == "OKP" and jwk.get("crv") != "Ed25519":
        raise ValueError("Only the Ed25519 curve is supported for OKP keys.")
    jwk.setdefault("alg", _default_alg(jwk))
    jwk.setdefault("use", "sig")
    try:
        jwt.PyJWK(jwk)
    except (jwt.exceptions.PyJWKError, jwt.exceptions.InvalidKeyError, ValueError, TypeError) as exc:
        raise ValueError(f"Not a usable public key: {exc}.") from exc
    if jwk.get("use") != "sig":
        raise ValueError('The key must be a signing key ("use": "sig").')
    if not jwk.get("kid"):
        jwk["kid"] = thumbprint(hydra.JsonWebKey.model_validate(jwk))
    return jwk


# --- input -------------------------------------------------------------------------------------------------------


@dataclass
class TrustIn:
    issuer: str
    subject: str | None
    allow_any_subject: bool
    scope: list[str]
    expires_at: datetime
    jwk: dict[str, Any]

    def to_hydra(self) -> dict[str, Any]:
        body: dict[str, Any] = {"issuer": self.issuer, "scope": self.scope, "jwk": self.jwk,
                                "expires_at": self.expires_at.isoformat().replace("+00:00", "Z")}  # fmt: skip
        if self.allow_any_subject:
            body["allow_any_subject"] = True
        else:
            body["subject"] = self.subject
        return body


_FIELDS = {"issuer", "subject", "allow_any_subject", "scope", "expires_at", "jwk", "public_key"}


def parse(data: dict[str, Any]) -> TrustIn:
    errors: dict[str, list[str]] = {}
    unknown = set(data) - _FIELDS
    if unknown:
        errors["__all__"] = [f"Unknown fields: {', '.join(sorted(unknown))}."]
    issuer = data.get("issuer")
    if (
        not isinstance(issuer, str)
        or not issuer.strip()
        or len(issuer) > 500
        or any(c.isspace() for c in issuer)
    ):
        errors["issuer"] = ["Required: the assertion's iss value (no spaces, at most 500 characters)."]
    subject = data.get("subject")
    any_subject = data.get("allow_any_subject", False)
    if not isinstance(any_subject, bool):
        errors["allow_any_subject"] = ["true or false."]
    subject = subject.strip() if isinstance(subject, str) else subject
    if any_subject is True and subject:
        errors["subject"] = ["Give a subject or allow any subject, not both."]
    elif any_subject is not True and (not isinstance(subject, str) or not subject or len(subject) > 500):
        errors["subject"] = ["Required unless any subject is allowed: the assertion's sub value."]
    scope = data.get("scope", [])
    if isinstance(scope, str):
        scope = scope.split()
    if not isinstance(scope, list) or not all(isinstance(s, str) and _SCOPE_TOKEN.match(s) for s in scope):
        errors["scope"] = ["A list of scope tokens (no spaces or quotes)."]
    expires_raw = data.get("expires_at")
    expires = parse_datetime(expires_raw) if isinstance(expires_raw, str) else None
    if expires is not None and timezone.is_naive(expires):
        expires = timezone.make_aware(expires, timezone.get_current_timezone())
    if expires is None:
        errors["expires_at"] = ["Required: an ISO 8601 date and time, e.g. 2030-01-01T00:00:00Z."]
    elif expires <= timezone.now():
        errors["expires_at"] = ["Must be in the future."]
    jwk: dict[str, Any] = {}
    raw_key = data.get("jwk", data.get("public_key"))
    if "jwk" in data and "public_key" in data:
        errors["jwk"] = ["Give jwk or public_key, not both."]
    else:
        try:
            jwk = parse_public_key(raw_key if raw_key is not None else "")
        except ValueError as exc:
            errors["jwk"] = [str(exc)]
    if errors:
        raise TrustInputError(errors)
    assert isinstance(issuer, str) and expires is not None  # noqa: S101 - narrowed by the checks above
    return TrustIn(issuer.strip(), None if any_subject else str(subject), any_subject is True,
                   list(dict.fromkeys(scope)), expires, jwk)  # fmt: skip


# --- a trust as shown --------------------------------------------------------------------------------------------


@dataclass
class Trust:
    record: TrustRecord
    # None: gone from Hydra (Truss removed it at expiry, or something else did, e.g. `hydra janitor --grants`)
    hydra: hydra.TrustedJwtGrantIssuer | None

    @property
    def expired(self) -> bool:
        return self.record.expires_at <= timezone.now()

    @property
    def expires_soon(self) -> bool:
        """Not expired yet, but within EXPIRY_WARNING of it: the pages warn."""
        left = self.record.expires_at - timezone.now()
        return timedelta(0) < left <= EXPIRY_WARNING

    @property
    def status(self) -> str:
        """active · expiring (within EXPIRY_WARNING) · expired (still in Hydra: the next sweep removes it) ·
        removed (Truss deleted it in Hydra at expiry) · gone (missing from Hydra for another reason)."""
        if self.record.removed_at is not None and self.hydra is None:
            return "removed"
        if self.hydra is None:
            return "gone"
        if self.expired:
            return "expired"
        return "expiring" if self.expires_soon else "active"

    def as_json(self) -> dict[str, Any]:
        r = self.record
        return {
            "id": r.hydra_id, "issuer": r.issuer, "subject": r.subject or None,
            "allow_any_subject": r.allow_any_subject, "scope": r.scope, "expires_at": r.expires_at,
            "created_at": r.created_at, "created_by": r.created_by or None, "expired": self.expired,
            "status": self.status, "removed_at": r.removed_at,
            "in_hydra": self.hydra is not None, "public_jwk": r.public_jwk,
            "thumbprint_sha256": thumbprint(hydra.JsonWebKey.model_validate(r.public_jwk)),
            "public_key": {"set": self.hydra.public_key.set, "kid": self.hydra.public_key.kid}
            if self.hydra and self.hydra.public_key else None,
        }  # fmt: skip


# --- expiry: Hydra v2.3.0 accepts an expired trust (assertion naming its kid), so Truss deletes it ---------------


@dataclass
class ExpiryReport:
    removed: list[str] = field(default_factory=list)  # Hydra ids Truss deleted (or found already gone)
    failed: list[str] = field(default_factory=list)  # Hydra ids left for the next sweep (Hydra unreachable…)


def _due(records: list[TrustRecord]) -> list[TrustRecord]:
    now = timezone.now()
    return [r for r in records if r.removed_at is None and r.expires_at <= now]


def expire_due(
    tenant: Tenant | None = None,
    *,
    request: HttpRequest | None = None,
    records: list[TrustRecord] | None = None,
    via: str = "expire_trusts",
) -> ExpiryReport:
    """Delete in Hydra every trust relationship whose expiry passed and that Truss has not removed yet (of one
    tenant, of the given records, or all). Each removal is one ``oauth2.trust.expire`` event by ``system`` in the
    trust's tenant chain. Hydra first, then the row is marked with a conditional UPDATE: a crash in between leaves
    the row due (the next sweep finds Hydra's 404 and marks it), and concurrent sweeps audit each trust once. A
    Hydra failure leaves the row due and stops the sweep (the next one retries); it never raises."""
    if records is None:
        query = TrustRecord.objects.filter(removed_at=None, expires_at__lte=timezone.now()).select_related(
            "tenant"
        )
        records = list(query.filter(tenant=tenant) if tenant is not None else query)
    report = ExpiryReport()
    due = _due(records)
    for index, record in enumerate(due):
        already_gone = False
        try:
            hydra.delete_trusted_issuer(record.hydra_id)
        except hydra.HydraNotFound:
            already_gone = True  # e.g. `hydra janitor --grants`, or a sweep that died before marking
        except ory_http.OryError as exc:
            logger.warning("could not remove expired trust %s from Hydra (%s); the next sweep retries",
                           record.hydra_id, exc)  # fmt: skip
            report.failed.extend(r.hydra_id for r in due[index:])
            break
        now = timezone.now()
        if not TrustRecord.objects.filter(pk=record.pk, removed_at=None).update(removed_at=now):
            record.refresh_from_db(fields=["removed_at"])  # another sweep marked (and audited) it meanwhile
            continue
        record.removed_at = now
        report.removed.append(record.hydra_id)
        _audit_expiry(request, record, already_gone, via)
    return report


def _audit_expiry(request: HttpRequest | None, record: TrustRecord, already_gone: bool, via: str) -> None:
    detail = (
        f"expired at {record.expires_at.isoformat()}; "
        + ("already gone from Hydra" if already_gone else "deleted in Hydra")
        + f" ({via})"
    )
    try:
        audit.record(request, "oauth2.trust.expire", tenant=record.tenant, actor="system",
                     target=f"{record.issuer} ({record.hydra_id})"[:300], detail=detail,
                     before={"id": record.hydra_id, "issuer": record.issuer, "expires_at": record.expires_at,
                             "kid": record.public_jwk.get("kid")},
                     after={"removed_at": record.removed_at})  # fmt: skip
    except DatabaseError:  # the trust is gone from Hydra either way: say so loudly, never fail the caller
        logger.critical("audit event NOT WRITTEN: oauth2.trust.expire %s (%s)", record.hydra_id, detail,
                        exc_info=True)  # fmt: skip


# --- operations --------------------------------------------------------------------------------------------------


def list_for(tenant: Tenant, request: HttpRequest | None = None) -> list[Trust]:
    records = list(TrustRecord.objects.filter(tenant=tenant))
    if not records:
        return []
    if _due(records):  # cheap: only when a row's expiry passed and Truss has not removed it yet
        expire_due(tenant, request=request, records=records, via="swept when listed")
    in_hydra = {t.id: t for t in hydra.list_trusted_issuers()}
    return [Trust(r, in_hydra.get(r.hydra_id)) for r in records]


def get_for(tenant: Tenant, trust_id: str, request: HttpRequest | None = None) -> Trust:
    record = TrustRecord.objects.filter(tenant=tenant, hydra_id=trust_id).first()
    if record is None:
        raise TrustNotFound(trust_id)
    if _due([record]):
        expire_due(tenant, request=request, records=[record], via="swept when viewed")
    try:
        found: hydra.TrustedJwtGrantIssuer | None = hydra.get_trusted_issuer(trust_id)
    except hydra.HydraNotFound:
        found = None
    return Trust(record, found)


def create_for(request: HttpRequest, tenant: Tenant, data: dict[str, Any]) -> Trust:
    with audit.mutation(request, "oauth2.trust.create", tenant, str(data.get("issuer") or "")[:300]) as event:
        trust_in = parse(data)
        created = hydra.trust_issuer(trust_in.to_hydra())
        record = TrustRecord.objects.create(
            tenant=tenant, hydra_id=created.id, issuer=trust_in.issuer, subject=trust_in.subject or "",
            allow_any_subject=trust_in.allow_any_subject, scope=trust_in.scope, expires_at=trust_in.expires_at,
            public_jwk=trust_in.jwk, created_by=audit.actor_of(request),
        )  # fmt: skip
        event.success(target=f"{trust_in.issuer} ({created.id})", after={
            "id": created.id, "issuer": trust_in.issuer, "subject": trust_in.subject,
            "allow_any_subject": trust_in.allow_any_subject, "scope": trust_in.scope,
            "expires_at": trust_in.expires_at, "kid": trust_in.jwk.get("kid"),
        })  # fmt: skip
    return Trust(record, created)


def delete_for(request: HttpRequest, tenant: Tenant, trust_id: str) -> None:
    with audit.mutation(request, "oauth2.trust.delete", tenant, trust_id[:300]) as event:
        record = TrustRecord.objects.filter(tenant=tenant, hydra_id=trust_id).first()
        if record is None:
            raise TrustNotFound(trust_id)
        event.target = f"{record.issuer} ({trust_id})"
        # Already gone from Hydra (the janitor removes expired ones): forget it here too.
        with contextlib.suppress(hydra.HydraNotFound):
            hydra.delete_trusted_issuer(trust_id)
        record.delete()
        event.success(after={"deleted": trust_id})


def workbench_data(trust: Trust) -> dict[str, Any]:
    """What the assertion workbench checks against, rendered into the page (public data only)."""
    r = trust.record
    try:  # the URL Hydra checks "aud" against; discovery knows Hydra's configured one
        token_url = hydra.discovery().token_endpoint
    except hydra.HydraError:
        token_url = f"{settings.HYDRA_PUBLIC_URL}/oauth2/token"
    return {
        "issuer": r.issuer, "subject": r.subject or None, "allow_any_subject": r.allow_any_subject,
        "scope": r.scope, "expires_at": r.expires_at.isoformat(), "public_jwk": r.public_jwk,
        "token_url": token_url, "rules": JWT_GRANT_RULES,
        "example_exp_seconds": int(timedelta(minutes=5).total_seconds()),
    }  # fmt: skip
