"""Trusted jwt-bearer issuers (RFC 7523) per tenant. Hydra's trust relationships are global; Truss records the
tenant that created each and only ever shows or deletes a tenant's own (another tenant's answers 404 exactly
like a missing one). Input is validated before Hydra is called; private key material is refused."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import threading
import unicodedata
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.types import Options

from oauth2_admin.keys.service import thumbprint
from oauth2_admin.tokens.service import _owner_of as owner_of
from oauth2_admin.trust.models import TrustKeyLock, TrustRecord
from truss import apikit, audit
from truss.audit import Action
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
        body: dict[str, Any] = {
            "issuer": self.issuer,
            "scope": self.scope,
            "jwk": self.jwk,
            "expires_at": self.expires_at.isoformat().replace("+00:00", "Z"),
        }
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
            "id": r.hydra_id,
            "issuer": r.issuer,
            "subject": r.subject or None,
            "allow_any_subject": r.allow_any_subject,
            "scope": r.scope,
            "expires_at": r.expires_at,
            "created_at": r.created_at,
            "created_by": r.created_by or None,
            "expired": self.expired,
            "status": self.status,
            "removed_at": r.removed_at,
            "in_hydra": self.hydra is not None,
            "public_jwk": r.public_jwk,
            "thumbprint_sha256": thumbprint(hydra.JsonWebKey.model_validate(r.public_jwk)),
            "public_key": {"set": self.hydra.public_key.set, "kid": self.hydra.public_key.kid}
            if self.hydra and self.hydra.public_key
            else None,
        }


# --- Hydra's trusts for one issuer key --------------------------------------------------------------------------
#
# Hydra keeps one key per issuer and kid (a second trust naming the same kid silently reuses the first key), its
# trusts are unique by issuer, subject and kid, and deleting a trust deletes the key with every trust using it.
# So Truss treats the Hydra trusts of one issuer key as a unit: sync_key makes them exactly what the live rows
# using that key need, one per subject (or "any subject") with the union of their scopes and the latest expiry,
# re-creating them all when one must change or go. Tenants trusting the same key and subject share one Hydra
# trust; which tenant's client may use it is the token hook's decision (oauth2_admin/trust/hook.py).


class TrustConflict(Exception):
    """409: the trust cannot be added as asked; nothing was changed."""


@dataclass(frozen=True)
class Needed:
    scope: frozenset[str]
    expires_at: datetime


@dataclass
class SyncReport:
    before: dict[str, hydra.TrustedJwtGrantIssuer]  # subject → Hydra's trust for this key before the sync
    ids: dict[str, str] = field(default_factory=dict)  # subject → the Hydra trust carrying it now
    rebuilt: bool = False


def subject_key(grant: hydra.TrustedJwtGrantIssuer) -> str:
    return "" if grant.allow_any_subject else (grant.subject or "")


def grant_kid(grant: hydra.TrustedJwtGrantIssuer) -> str | None:
    return grant.public_key.kid if grant.public_key else None


def _needed(records: list[TrustRecord]) -> dict[str, Needed]:
    scopes: dict[str, set[str]] = {}
    expiry: dict[str, datetime] = {}
    for r in records:
        scopes.setdefault(r.subject_key, set()).update(r.scope)
        expiry[r.subject_key] = max(expiry.get(r.subject_key, r.expires_at), r.expires_at)
    return {key: Needed(frozenset(scopes[key]), expiry[key]) for key in scopes}


def _matches(grant: hydra.TrustedJwtGrantIssuer, need: Needed) -> bool:
    """Exactly what is needed (Hydra keeps whole seconds)."""
    return (
        set(grant.scope) == need.scope
        and grant.expires_at is not None
        and abs(grant.expires_at - need.expires_at) < timedelta(seconds=1)
    )


def _hydra_body(issuer: str, subject: str, need: Needed, jwk: dict[str, Any]) -> dict[str, Any]:
    return TrustIn(
        issuer, subject or None, subject == "", sorted(need.scope), need.expires_at, jwk
    ).to_hydra()


def _stored(issuer: str, kid: str) -> dict[str, hydra.TrustedJwtGrantIssuer]:
    """Hydra's trusts using this issuer key, by subject ("" for any subject)."""
    return {
        subject_key(g): g
        for g in hydra.all_trusted_issuers(issuer=issuer)
        if g.issuer == issuer and grant_kid(g) == kid
    }


def _create_grant(
    issuer: str, subject: str, kid: str, need: Needed, jwk: dict[str, Any]
) -> hydra.TrustedJwtGrantIssuer:
    """Create one Hydra trust. When the outcome is unclear (a timeout, a dropped connection, a 5xx: v2.3.0 stores
    an expiry it cannot handle and then answers 500), look at what Hydra stored: adopt it when it is exactly what
    was asked, else delete it (with the key: the caller re-syncs) and raise."""
    try:
        return hydra.trust_issuer(_hydra_body(issuer, subject, need, jwk))
    except hydra.HydraBadRequest:
        raise  # refused before storing
    except ory_http.OryError as exc:
        try:
            found = _stored(issuer, kid).get(subject)
        except ory_http.OryError:
            logger.warning(
                "trust create for %s (kid %s) failed (%s) and Hydra cannot be read to check what it "
                "stored: the trust check will find any leftover",
                issuer,
                kid,
                exc,
            )
            raise exc from None
        if found is not None and _matches(found, need):
            logger.warning(
                "trust create for %s (kid %s) answered %s but Hydra stored it as asked: adopted %s",
                issuer,
                kid,
                exc,
                found.id,
            )
            return found
        if found is not None:
            logger.warning(
                "trust create for %s (kid %s) answered %s and Hydra stored something else: deleting %s",
                issuer,
                kid,
                exc,
                found.id,
            )
            with contextlib.suppress(hydra.HydraNotFound):
                hydra.delete_trusted_issuer(found.id)
        raise


def sync_key(
    issuer: str, kid: str, jwk: dict[str, Any] | None = None, *, retired: frozenset[str] = frozenset()
) -> SyncReport:
    """Make Hydra's trusts for one issuer key exactly what the live rows using it need (call it holding
    key_lock). A Hydra trust on a key Truss already manages that no row accounts for is removed (it trusts Truss's
    key for nobody); on a key new to Truss it is adopted only if it is exactly what the new row needs, else this
    raises TrustConflict (``retired``: the Hydra trusts of rows deleted in this transaction). Raises OryError when Hydra fails: a later sync (any change to the key, or
    `manage.py trust_check --fix`) completes it. Writes each row's grant_id."""
    now = timezone.now()
    group = list(TrustRecord.objects.filter(issuer=issuer, kid=kid))
    live = [r for r in group if r.removed_at is None and r.expires_at > now]
    needed = _needed(live)
    if jwk is None and live:
        jwk = live[0].public_jwk
    actual = _stored(issuer, kid)
    report = SyncReport(before=dict(actual))
    known = {r.grant_id for r in group if r.grant_id} | retired  # retired: of rows deleted just now
    foreign = {s: g for s, g in actual.items() if g.id not in known}
    if (
        foreign
        and not known
        and any(s not in needed or not _matches(g, needed[s]) for s, g in foreign.items())
    ):
        raise TrustConflict(
            "Hydra already holds a trust for this issuer and key id that no trust in Truss accounts for; a platform "
            "admin can review and remove it (Trusted issuers → Check)."
        )
    if any(s not in needed or not _matches(g, needed[s]) for s, g in actual.items()):
        for grant in actual.values():  # the first delete takes the key and every other trust with it
            with contextlib.suppress(hydra.HydraNotFound):
                hydra.delete_trusted_issuer(grant.id)
        actual, report.rebuilt = {}, True
    for subject, need in needed.items():
        assert jwk is not None  # noqa: S101 - a needed trust has a live row, which has a key
        grant = actual.get(subject) or _create_grant(issuer, subject, kid, need, jwk)
        report.ids[subject] = grant.id
        rows = [r.pk for r in live if r.subject_key == subject and r.grant_id != grant.id]
        if rows:
            TrustRecord.objects.filter(pk__in=rows).update(grant_id=grant.id)
    return report


@contextlib.contextmanager
def key_lock(issuer: str, kid: str) -> Iterator[None]:
    """One change at a time to the Hydra trusts of one issuer key, across processes; a transaction."""
    with transaction.atomic():
        lock, _ = TrustKeyLock.objects.get_or_create(issuer=issuer, kid=kid)
        TrustKeyLock.objects.filter(pk=lock.pk).update(changed_at=timezone.now())
        yield


def _resync(issuer: str, kid: str) -> None:
    """After a failed change: put the key's other trusts back as the rows need them (best effort)."""
    try:
        with key_lock(issuer, kid):
            sync_key(issuer, kid)
    except (ory_http.OryError, TrustConflict, DatabaseError) as exc:
        logger.warning(
            "could not re-sync Hydra's trusts for %s (kid %s): %s; the trust check repairs it",
            issuer,
            kid,
            exc,
        )


# --- expiry: Hydra v2.3.0 accepts an expired trust (assertion naming its kid), so Truss deletes it ---------------


@dataclass
class ExpiryReport:
    removed: list[str] = field(
        default_factory=list
    )  # ids of trusts Truss removed (from Hydra, or found gone)
    failed: list[str] = field(default_factory=list)  # ids left for the next sweep (Hydra unreachable…)


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
    """Remove from Hydra every trust whose expiry passed and that Truss has not removed yet (of one tenant, of the
    given records, or all). Each removal is one ``oauth2.trust.expire`` event by ``system`` in the trust's tenant
    chain. The row is marked and Hydra synced in one transaction under the key's lock: a Hydra failure leaves the
    row due and stops the sweep (the next one retries), concurrent sweeps audit each trust once. It never raises."""
    if records is None:
        query = TrustRecord.objects.filter(removed_at=None, expires_at__lte=timezone.now()).select_related(
            "tenant"
        )
        records = list(query.filter(tenant=tenant) if tenant is not None else query)
    report = ExpiryReport()
    due = _due(records)
    for index, record in enumerate(due):
        now = timezone.now()
        try:
            with key_lock(record.issuer, record.kid):
                if not TrustRecord.objects.filter(pk=record.pk, removed_at=None).update(removed_at=now):
                    record.refresh_from_db(fields=["removed_at"])  # another sweep removed (and audited) it
                    continue
                synced = sync_key(record.issuer, record.kid)
        except (ory_http.OryError, TrustConflict) as exc:
            logger.warning(
                "could not remove expired trust %s from Hydra (%s); the next sweep retries",
                record.hydra_id,
                exc,
            )
            report.failed.extend(r.hydra_id for r in due[index:])
            break
        record.removed_at = now
        report.removed.append(record.hydra_id)
        in_hydra = any(g.id == record.grant_id for g in synced.before.values())
        _audit_expiry(request, record, not in_hydra, via)
    return report


def _audit_expiry(request: HttpRequest | None, record: TrustRecord, already_gone: bool, via: str) -> None:
    # The same words whether or not another tenant's trust still keeps Hydra's shared trust alive.
    detail = (
        f"expired at {record.expires_at.isoformat()}; "
        + ("already gone from Hydra" if already_gone else "removed from Hydra")
        + f" ({via})"
    )
    try:
        audit.record(
            request,
            Action.TRUST_EXPIRE,
            tenant=record.tenant,
            actor="system",
            target=f"{record.issuer} ({record.hydra_id})"[:300],
            detail=detail,
            before={
                "id": record.hydra_id,
                "issuer": record.issuer,
                "expires_at": record.expires_at,
                "kid": record.kid,
            },
            after={"removed_at": record.removed_at},
        )
    except DatabaseError:  # the trust is gone from Hydra either way: say so loudly, never fail the caller
        logger.critical(
            "audit event NOT WRITTEN: oauth2.trust.expire %s (%s)", record.hydra_id, detail, exc_info=True
        )


# --- operations --------------------------------------------------------------------------------------------------


def _shown(records: list[TrustRecord], grants: dict[str, hydra.TrustedJwtGrantIssuer]) -> list[Trust]:
    # A removed trust shows as removed whatever Hydra holds (another tenant may still trust the same key).
    return [Trust(r, None if r.removed_at is not None else grants.get(r.grant_id)) for r in records]


def list_for(tenant: Tenant, request: HttpRequest | None = None) -> list[Trust]:
    records = list(TrustRecord.objects.filter(tenant=tenant))
    if not records:
        return []
    if _due(records):  # cheap: only when a row's expiry passed and Truss has not removed it yet
        expire_due(tenant, request=request, records=records, via="swept when listed")
    return _shown(records, {g.id: g for g in hydra.all_trusted_issuers()})


def get_for(tenant: Tenant, trust_id: str, request: HttpRequest | None = None) -> Trust:
    record = TrustRecord.objects.filter(tenant=tenant, hydra_id=trust_id).first()
    if record is None:
        raise TrustNotFound(trust_id)
    if _due([record]):
        expire_due(tenant, request=request, records=[record], via="swept when viewed")
    found: dict[str, hydra.TrustedJwtGrantIssuer] = {}
    if record.removed_at is None:
        with contextlib.suppress(hydra.HydraNotFound):
            found[record.grant_id] = hydra.get_trusted_issuer(record.grant_id)
    return _shown([record], found)[0]


def _public_id(grant_id: str) -> str:
    """Hydra's id for a trust this row is the first to use; a new id when it joins one rows already name."""
    return str(uuid.uuid4()) if TrustRecord.objects.filter(hydra_id=grant_id).exists() else grant_id


def create_for(request: HttpRequest, tenant: Tenant, data: dict[str, Any]) -> Trust:
    """409 (TrustConflict) when this tenant already trusts the key for the subject, or Hydra cannot hold the key
    as given. Another tenant trusting the same key is no conflict: the Hydra trust is shared."""
    with audit.mutation(request, Action.TRUST_CREATE, tenant, str(data.get("issuer") or "")[:300]) as event:
        trust_in = parse(data)
        due = list(
            TrustRecord.objects.filter(
                tenant=tenant,
                issuer=trust_in.issuer,
                kid=trust_in.kid,
                removed_at=None,
                expires_at__lte=timezone.now(),
            )
        )
        if due and expire_due(tenant, request=request, records=due, via="swept before a new trust").failed:
            raise hydra.HydraUnavailable(
                description="the expired trust of this key could not be removed first"
            )
        try:
            with key_lock(trust_in.issuer, trust_in.kid):
                record = _add(request, tenant, trust_in)
        except ory_http.OryError:
            _resync(trust_in.issuer, trust_in.kid)
            raise
        event.success(
            target=f"{trust_in.issuer} ({record.hydra_id})",
            after={
                "id": record.hydra_id,
                "issuer": trust_in.issuer,
                "subject": trust_in.subject,
                "allow_any_subject": trust_in.allow_any_subject,
                "scope": trust_in.scope,
                "expires_at": trust_in.expires_at,
                "kid": trust_in.kid,
            },
        )
    return get_for(tenant, record.hydra_id)


def _add(request: HttpRequest, tenant: Tenant, trust_in: TrustIn) -> TrustRecord:
    group = list(TrustRecord.objects.filter(issuer=trust_in.issuer, kid=trust_in.kid, removed_at=None))
    subject = "" if trust_in.allow_any_subject else str(trust_in.subject)
    mine = next((r for r in group if r.tenant_id == tenant.pk and r.subject_key == subject), None)
    if mine is not None:
        raise TrustConflict(
            f"This tenant already trusts this key of {trust_in.issuer} for "
            + ("any subject" if not subject else f"subject {subject!r}")
            + f" (trusted issuer {mine.hydra_id}): delete it first to change it."
        )
    wanted = thumbprint(hydra.JsonWebKey.model_validate(trust_in.jwk))
    if any(thumbprint(hydra.JsonWebKey.model_validate(r.public_jwk)) != wanted for r in group):
        raise TrustConflict(
            f"Hydra already holds a different key with key id {trust_in.kid!r} for this issuer, and it keeps one "
            "key per issuer and key id. Check that this is the issuer's current public key, or give it its own kid."
        )
    record = TrustRecord.objects.create(
        tenant=tenant,
        hydra_id=str(uuid.uuid4()),
        grant_id="",
        issuer=trust_in.issuer,
        subject=subject,
        allow_any_subject=trust_in.allow_any_subject,
        scope=trust_in.scope,
        expires_at=trust_in.expires_at,
        public_jwk=trust_in.jwk,
        kid=trust_in.kid,
        created_by=audit.actor_of(request),
    )
    synced = sync_key(trust_in.issuer, trust_in.kid, trust_in.jwk)
    record.grant_id = synced.ids[subject]
    record.hydra_id = _public_id(record.grant_id)
    record.save(update_fields=["grant_id", "hydra_id"])
    return record


def delete_for(request: HttpRequest, tenant: Tenant, trust_id: str) -> None:
    with audit.mutation(request, Action.TRUST_DELETE, tenant, trust_id[:300]) as event:
        record = TrustRecord.objects.filter(tenant=tenant, hydra_id=trust_id).first()
        if record is None:
            raise TrustNotFound(trust_id)
        event.target = f"{record.issuer} ({trust_id})"
        try:
            with key_lock(record.issuer, record.kid):
                TrustRecord.objects.filter(pk=record.pk).delete()
                sync_key(record.issuer, record.kid, retired=frozenset({record.grant_id}))
        except ory_http.OryError:
            _resync(record.issuer, record.kid)
            raise
        event.success(after={"deleted": trust_id})


# --- the platform check: Hydra's trusts no tenant owns, tenants' trusts Hydra lost -------------------------------


@dataclass
class CheckReport:
    orphans: list[hydra.TrustedJwtGrantIssuer]  # in Hydra; no trust of any tenant is carried by it
    missing: list[TrustRecord]  # a tenant's live trust whose Hydra trust is gone


class NotAnOrphan(Exception):
    pass


def check() -> CheckReport:
    grants = hydra.all_trusted_issuers()
    rows = list(TrustRecord.objects.filter(removed_at=None).select_related("tenant"))
    carried = {r.grant_id for r in rows}
    present = {g.id for g in grants}
    now = timezone.now()
    return CheckReport(
        orphans=[g for g in grants if g.id not in carried],
        missing=[r for r in rows if r.expires_at > now and r.grant_id not in present],
    )


def remove_orphan(request: HttpRequest | None, grant_id: str) -> None:
    """Delete one Hydra trust no tenant owns (platform admins; audited in the platform chain). Hydra deletes its
    key with it, and so every trust using that key: the tenants' ones are re-created."""
    with audit.mutation(request, Action.TRUST_ORPHAN_DELETE, None, grant_id[:300]) as event:
        try:
            grant = hydra.get_trusted_issuer(grant_id)
        except hydra.HydraNotFound as exc:
            raise NotAnOrphan("Hydra holds no such trust (any more).") from exc
        event.target = f"{grant.issuer} ({grant_id})"[:300]
        event.before = grant.model_dump(mode="json")
        kid = grant_kid(grant) or ""
        with key_lock(grant.issuer, kid):
            if TrustRecord.objects.filter(grant_id=grant_id, removed_at=None).exists():
                raise NotAnOrphan("A tenant's trust is carried by this Hydra trust.")
            with contextlib.suppress(hydra.HydraNotFound):
                hydra.delete_trusted_issuer(grant_id)
            if TrustRecord.objects.filter(issuer=grant.issuer, kid=kid, removed_at=None).exists():
                sync_key(grant.issuer, kid)
        event.success(after={"deleted": grant_id})


def repair() -> int:
    """Re-sync every issuer key with a live trust Hydra lost; the number of keys synced."""
    keys = {(r.issuer, r.kid) for r in check().missing}
    for issuer, kid in sorted(keys):
        with key_lock(issuer, kid):
            sync_key(issuer, kid)
    return len(keys)


# --- the token hook: which tenant's client may use which trust ---------------------------------------------------
#
# Hydra verifies an assertion against any trust matching its issuer, subject and kid, whoever's it is; its token
# hook (oauth2_admin/trust/hook.py) then asks Truss. A client may use a trust only when its own tenant has a live
# trust of that issuer for that subject (or any subject) whose key signed the assertion and whose scopes cover the
# requested ones. Denials are counted per process and logged; not audited, since any client could otherwise write
# to a tenant's audit chain with every token request it makes.


@dataclass(frozen=True)
class HookDecision:
    allowed: bool
    reason: str  # a fixed word (logs and counters), never input


_ALLOW = HookDecision(True, "tenant_trust")
_denials: Counter[str] = Counter()
_denials_lock = threading.Lock()


def hook_denials() -> dict[str, int]:
    """jwt-bearer token requests the hook refused since this process started, per reason."""
    with _denials_lock:
        return dict(_denials)


def _deny(reason: str, client_id: str, issuer: Any = None) -> HookDecision:
    with _denials_lock:
        _denials[reason] += 1
    logger.warning(
        "token hook refused a jwt-bearer exchange: %s (client %r, issuer %r)",
        reason,
        client_id[:100],
        str(issuer)[:100] if issuer is not None else None,
    )
    return HookDecision(False, reason)


def scope_allows(granted: Iterable[str], needle: str) -> bool:
    """Hydra's default scope strategy (fosite's WildcardScopeStrategy): "a.*" allows "a.b"; otherwise equal."""
    parts = needle.split(".")
    for matcher in granted:
        pieces = matcher.split(".")
        if len(pieces) > len(parts):
            continue
        last = len(pieces) - 1
        if all(
            (piece == "*" and parts[k] != "")
            or (piece == parts[k] and (k < last or len(pieces) == len(parts)))
            for k, piece in enumerate(pieces)
        ):
            return True
    return False


@functools.lru_cache(maxsize=256)
def _verifier(jwk_json: str) -> tuple[Any, tuple[str, ...]]:
    """A trust's public key, loaded once per process (it never changes: a trust is replaced, not edited)."""
    jwk = json.loads(jwk_json)
    crv = None if jwk.get("kty") == "RSA" else jwk.get("crv")
    return jwt.PyJWK(jwk).key, _ALGS.get((str(jwk.get("kty")), crv), ())


_SIGNATURE_ONLY: Options = {
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
    "require": [],
}


def _signed_with(assertion: str, jwk: dict[str, Any]) -> bool:
    """The assertion's signature checks out against this public key (Hydra checked the claims already)."""
    try:
        key, algorithms = _verifier(json.dumps(jwk, sort_keys=True))
        jwt.decode(assertion, key, algorithms=list(algorithms), options=_SIGNATURE_ONLY)
    except (jwt.PyJWTError, ValueError, TypeError):
        return False
    return True


def hook_decision(client_id: str, assertion: str, scopes: Iterable[str]) -> HookDecision:
    """May this client exchange this assertion (which Hydra has verified against some trust)? One query: the
    live trusts of the client's tenant for the assertion's issuer, subject and kid."""
    try:
        unverified = jwt.api_jwt.decode_complete(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return _deny("unreadable_assertion", client_id)
    kid, claims = unverified["header"].get("kid"), unverified["payload"]
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not isinstance(issuer, str) or not isinstance(subject, str):
        return _deny("unreadable_assertion", client_id)
    owner = owner_of(client_id)
    if not owner.startswith(Tenant.OWNER_PREFIX):
        return _deny("client_of_no_tenant", client_id, issuer)
    found = TrustRecord.objects.filter(
        tenant__slug=owner.removeprefix(Tenant.OWNER_PREFIX),
        issuer=issuer,
        removed_at=None,
        expires_at__gt=timezone.now(),
    ).filter(Q(allow_any_subject=True) | Q(subject=subject, allow_any_subject=False))
    if isinstance(kid, str):
        found = found.filter(kid=kid)
    wanted = set(scopes)
    for scope, jwk in found.values_list("scope", "public_jwk"):
        if all(scope_allows(scope, s) for s in wanted) and _signed_with(assertion, jwk):
            return _ALLOW
    return _deny("no_trust_of_the_clients_tenant", client_id, issuer)


def workbench_data(trust: Trust) -> dict[str, Any]:
    """What the assertion workbench checks against, rendered into the page (public data only)."""
    r = trust.record
    try:  # the URL Hydra checks "aud" against; discovery knows Hydra's configured one
        token_url = hydra.discovery().token_endpoint
    except hydra.HydraError:
        token_url = f"{settings.HYDRA_PUBLIC_URL}/oauth2/token"
    return {
        "issuer": r.issuer,
        "subject": r.subject or None,
        "allow_any_subject": r.allow_any_subject,
        "scope": r.scope,
        "expires_at": r.expires_at.isoformat(),
        "public_jwk": r.public_jwk,
        "token_url": token_url,
        "rules": JWT_GRANT_RULES,
        "example_exp_seconds": int(timedelta(minutes=5).total_seconds()),
    }
