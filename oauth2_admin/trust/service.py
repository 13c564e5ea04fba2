"""Trusted jwt-bearer issuers (RFC 7523) per tenant. Hydra's trust relationships are global; Truss records the
tenant that created each and only ever shows or deletes a tenant's own (another tenant's answers 404 exactly
like a missing one). Input is validated before Hydra is called; private key material is refused."""

from __future__ import annotations

import contextlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from truss import apikit, audit
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

# The signing algorithms Hydra (go-jose) verifies assertions with, per key type and curve. "none" and HMAC are not
# among them: a trust names a public key.
_ALGS: dict[tuple[str, str | None], tuple[str, ...]] = {
    ("RSA", None): ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    ("EC", "P-256"): ("ES256",),
    ("EC", "P-384"): ("ES384",),
    ("EC", "P-521"): ("ES512",),
    ("OKP", "Ed25519"): ("EdDSA",),
}
# The members a public JWK of each type carries; everything else (x5c, key_ops, unknown members) is dropped
# before Hydra sees the key, so what Hydra stores is exactly what Truss shows and compares.
_PUBLIC_MEMBERS = {"RSA": ("kty", "n", "e"), "EC": ("kty", "crv", "x", "y"), "OKP": ("kty", "crv", "x")}
RSA_BITS = (2048, 8192)
MAX_KEY_TEXT = 20_000  # characters of PEM or JWK text
MAX_TEXT = 255  # Hydra's issuer, subject and key id columns are VARCHAR(255)


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
    except (ValueError, TypeError) as exc:
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


def _jwk_from_text(text: str) -> Any:
    if len(text) > MAX_KEY_TEXT:
        raise ValueError(f"The key text is longer than {MAX_KEY_TEXT} characters.")
    if text.startswith("-----BEGIN"):
        return _from_pem(text)
    try:
        return apikit.parse_json_text(text)
    except apikit.BadBody as exc:
        raise ValueError(f"Neither a PEM public key nor JWK JSON ({exc.message})") from exc


def _problem_text(value: Any, limit: int = MAX_TEXT) -> str | None:
    """Why a text value cannot be stored as is (in Hydra and both databases), or None."""
    if not isinstance(value, str):
        return "must be text"
    if not value or len(value) > limit:
        return f"must be 1 to {limit} characters"
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        return "must not contain control characters"
    return None


def parse_public_key(value: Any) -> dict[str, Any]:
    """A PEM public key / certificate, or a JWK (object or JSON text) → a public JWK with kid, alg and use (only
    the public members of its type). Raises ValueError with a readable message; private material is refused, not
    stripped."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("Paste the issuer's public key (PEM or JWK).")
        jwk = _jwk_from_text(text)
    else:
        jwk = value
    if isinstance(jwk, dict) and isinstance(jwk.get("keys"), list) and len(jwk["keys"]) == 1:
        jwk = jwk["keys"][0]
    if not isinstance(jwk, dict):
        raise ValueError("Expected one JWK (a JSON object).")
    private = [m for m in PRIVATE_MEMBERS if m in jwk]
    if private:
        raise ValueError(
            f"This JWK holds private key material ({', '.join(private)}): paste the public key only."
        )
    kty = jwk.get("kty")
    if kty not in _PUBLIC_MEMBERS:
        raise ValueError("Only RSA, EC and OKP (Ed25519) public keys can verify assertions.")
    crv = None if kty == "RSA" else jwk.get("crv")
    allowed = _ALGS.get((str(kty), crv if isinstance(crv, str) else None))
    if allowed is None:
        raise ValueError(f"Unsupported curve for a {kty} key: use P-256, P-384, P-521 (EC) or Ed25519 (OKP).")
    out: dict[str, Any] = {m: jwk.get(m) for m in _PUBLIC_MEMBERS[str(kty)]}
    if not all(isinstance(v, str) and v for v in out.values()):
        raise ValueError(f"A {kty} public key needs {', '.join(_PUBLIC_MEMBERS[str(kty)])} as strings.")
    alg = jwk.get("alg", allowed[0])
    if alg not in allowed:
        raise ValueError(f'"alg" must be one of {", ".join(allowed)} for this key (not {str(alg)[:20]!r}).')
    use = jwk.get("use", "sig")
    if use != "sig":
        raise ValueError('The key must be a signing key ("use": "sig").')
    out.update(alg=alg, use="sig")
    try:
        parsed = jwt.PyJWK(out)
    except (jwt.exceptions.PyJWKError, jwt.exceptions.InvalidKeyError, ValueError, TypeError) as exc:
        raise ValueError(f"Not a usable public key: {exc}.") from exc
    if isinstance(parsed.key, rsa.RSAPublicKey) and not RSA_BITS[0] <= parsed.key.key_size <= RSA_BITS[1]:
        raise ValueError(f"RSA keys must have {RSA_BITS[0]} to {RSA_BITS[1]} bits.")
    kid = jwk.get("kid")
    if kid is None or kid == "":
        kid = thumbprint(hydra.JsonWebKey.model_validate(out))
    problem = _problem_text(kid)
    if problem:
        raise ValueError(f'The key id ("kid") {problem}.')
    out["kid"] = kid
    return out


# --- input -------------------------------------------------------------------------------------------------------

# How far ahead a trust may expire: far enough for any partner contract, near enough that a typo (year 9999, an
# offset pushing it past the calendar) is refused before Hydra sees it.
MAX_LIFETIME = timedelta(days=10 * 366)
MAX_SCOPES = 100


@dataclass
class TrustIn:
    issuer: str
    subject: str | None
    allow_any_subject: bool
    scope: list[str]
    expires_at: datetime  # UTC, whole seconds (what Hydra stores)
    jwk: dict[str, Any]

    @property
    def kid(self) -> str:
        return str(self.jwk["kid"])

    def to_hydra(self) -> dict[str, Any]:
        body: dict[str, Any] = {"issuer": self.issuer, "scope": self.scope, "jwk": self.jwk,
                                "expires_at": self.expires_at.isoformat().replace("+00:00", "Z")}  # fmt: skip
        if self.allow_any_subject:
            body["allow_any_subject"] = True
        else:
            body["subject"] = self.subject
        return body


_FIELDS = {"issuer", "subject", "allow_any_subject", "scope", "expires_at", "jwk", "public_key"}


def _issuer(data: dict[str, Any], errors: dict[str, list[str]]) -> str:
    issuer = data.get("issuer")
    issuer = issuer.strip(" ") if isinstance(issuer, str) else issuer
    problem = _problem_text(issuer)
    if problem or any(c.isspace() for c in str(issuer)):
        errors["issuer"] = [
            f"Required: the assertion's iss value (no spaces, at most {MAX_TEXT} characters)."
        ]
        return ""
    return str(issuer)


def _subject(data: dict[str, Any], errors: dict[str, list[str]]) -> tuple[str | None, bool]:
    subject = data.get("subject")
    any_subject = data.get("allow_any_subject", False)
    if not isinstance(any_subject, bool):
        errors["allow_any_subject"] = ["true or false."]
        return None, False
    subject = subject.strip(" ") if isinstance(subject, str) else subject
    if any_subject and subject:
        errors["subject"] = ["Give a subject or allow any subject, not both."]
    elif not any_subject and (subject is None or subject == ""):
        errors["subject"] = ["Required unless any subject is allowed: the assertion's sub value."]
    elif not any_subject and (problem := _problem_text(subject)):
        errors["subject"] = [f"The assertion's sub value {problem}."]
    return (None if any_subject else str(subject)), any_subject


def _scope(data: dict[str, Any], errors: dict[str, list[str]]) -> list[str]:
    scope = data.get("scope", [])
    if isinstance(scope, str):
        scope = scope.split()
    if (
        not isinstance(scope, list)
        or len(scope) > MAX_SCOPES
        or not all(isinstance(s, str) and len(s) <= MAX_TEXT and _SCOPE_TOKEN.match(s) for s in scope)
    ):
        errors["scope"] = [f"A list of at most {MAX_SCOPES} scope tokens (no spaces or quotes)."]
        return []
    return list(dict.fromkeys(scope))


def parse_expiry(value: Any) -> datetime:
    """An ISO 8601 date and time → UTC, whole seconds, in the future and within MAX_LIFETIME. A time without an
    offset is read in the current time zone. Raises ValueError with a readable message."""
    expires: datetime | None = None
    if isinstance(value, datetime):
        expires = value
    elif isinstance(value, str) and len(value) <= 64:
        with contextlib.suppress(ValueError):  # e.g. month 13 or minute 99: the format matches, the value not
            expires = parse_datetime(value.strip())
    if expires is None:
        raise ValueError("Required: an ISO 8601 date and time, e.g. 2030-01-01T00:00:00Z.")
    try:
        if timezone.is_naive(expires):
            expires = timezone.make_aware(expires, timezone.get_current_timezone())
        expires = expires.astimezone(UTC).replace(microsecond=0)
    except (OverflowError, ValueError) as exc:  # an offset pushing it past year 9999
        raise ValueError("Out of range: give a date within the next ten years.") from exc
    now = timezone.now()
    if expires <= now:
        raise ValueError("Must be in the future.")
    if expires > now + MAX_LIFETIME:
        raise ValueError("Must be within the next ten years.")
    return expires


def parse(data: dict[str, Any]) -> TrustIn:
    """Every field checked before Hydra is called (Hydra stores some bad values and then answers 500)."""
    errors: dict[str, list[str]] = {}
    unknown = set(data) - _FIELDS
    if unknown:
        errors["__all__"] = [f"Unknown fields: {', '.join(sorted(str(u)[:40] for u in unknown))}."]
    issuer = _issuer(data, errors)
    subject, any_subject = _subject(data, errors)
    scope = _scope(data, errors)
    expires = None
    try:
        expires = parse_expiry(data.get("expires_at"))
    except ValueError as exc:
        errors["expires_at"] = [str(exc)]
    jwk: dict[str, Any] = {}
    raw_key = data.get("jwk", data.get("public_key"))
    if "jwk" in data and "public_key" in data:
        errors["jwk"] = ["Give jwk or public_key, not both."]
    else:
        try:
            jwk = parse_public_key(raw_key if raw_key is not None else "")
        except ValueError as exc:
            errors["jwk"] = [str(exc)]
    if errors or expires is None:
        raise TrustInputError(errors)
    return TrustIn(issuer, subject, any_subject, scope, expires, jwk)


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
