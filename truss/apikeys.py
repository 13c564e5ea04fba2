"""Tenant API keys: `truss_sk_<8 visible chars><40 secret chars>`, stored as a SHA-256 digest.

The keys carry 240 bits of randomness, so a fast digest is enough (no password hashing needed) and lets
every API request authenticate with one indexed lookup by prefix plus a constant-time compare.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import string
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.utils import timezone

from truss import caching, sql
from truss.models import ApiKey, Tenant

KEY_PREFIX = "truss_sk_"
_VISIBLE = 8
_ALPHABET = string.ascii_letters + string.digits
_KEY_RE = re.compile(rf"^{KEY_PREFIX}[A-Za-z0-9]{{{_VISIBLE + 40}}}$")


# The lookup every API request makes, written out once (truss/sql.py): the ORM compiled its version anew on every
# request, which took longer than running it (bench/RESULTS.md, introspection). With a shared cache the row (and
# its tenant) is read from there instead (truss/caching.py); every revocation deletes the entry for every process.
_KEY_FIELDS = ("id", "tenant", "name", "role", "prefix", "digest", "last_used_at", "revoked_at")


@functools.cache
def _lookup() -> tuple[str, sql.Converted]:
    k, t = sql.names(ApiKey), sql.names(Tenant)
    statement = (
        f"SELECT {', '.join('k.' + k.c[f] for f in _KEY_FIELDS)}, t.{t.c['slug']} "
        f"FROM {k.table} k JOIN {t.table} t ON t.{t.c['id']} = k.{k.c['tenant']} WHERE k.{k.c['prefix']} = %s"
    )
    return statement, sql.Converted(ApiKey, _KEY_FIELDS)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def generate(
    tenant: Tenant, role: str, *, name: str = "", created_by: User | None = None
) -> tuple[ApiKey, str]:
    """Create a key; returns the stored row and the plaintext key, which is never retrievable again."""
    raw = KEY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(_VISIBLE + 40))
    key = ApiKey.objects.create(
        tenant=tenant,
        role=role,
        name=name,
        prefix=raw[: len(KEY_PREFIX) + _VISIBLE],
        digest=_digest(raw),
        created_by=created_by if created_by is not None and created_by.pk else None,
    )
    return key, raw


def authenticate(raw: str | None) -> ApiKey | None:
    """The active key matching `raw`, or None. Records the last-use time at a coarse resolution."""
    if not raw or not _KEY_RE.match(raw):
        return None
    prefix = raw[: len(KEY_PREFIX) + _VISIBLE]
    key = caching.through_cache(caching.api_key_key(prefix), lambda: _load(prefix), caching.API_KEY_TTL)
    if key is None or not hmac.compare_digest(key.digest, _digest(raw)) or not key.is_active:
        return None
    now = timezone.now()
    resolution = settings.API_KEY_LAST_USED_RESOLUTION
    # One write per key per minute at most, not one per request. A cached row keeps its old last_used_at (its
    # entry is never rewritten: that could undo a revocation), so with a shared cache a marker gates the write.
    if (key.last_used_at is None or now - key.last_used_at > timedelta(seconds=resolution)) and (
        not settings.SHARED_CACHE or cache.add(caching.api_key_used_key(key.pk), True, resolution)
    ):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def _load(prefix: str) -> ApiKey | None:
    """The key row with its tenant (and the tenant's claims configuration): one query, then the tenant cache."""
    statement, converted = _lookup()
    row = sql.first(statement, [prefix])
    if row is None:
        return None
    tenant = Tenant.cached(row[-1])
    if tenant is None:
        return None
    key: ApiKey = converted.instance(row[:-1])
    key.tenant = tenant
    return key


def revoke(key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
