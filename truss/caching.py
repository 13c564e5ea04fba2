"""The cache policy: every entry Truss keeps in Django's cache, how long it lives and what removes it.

One rule for what a write must invalidate: such entries are cached only when the cache is shared by every process
(``settings.SHARED_CACHE``: Redis or a file cache); with the default per-process cache an entry in one worker's
memory could not be removed by a write in another, so those reads go to the database every time
(``through_cache``). Counters, locks and results that expire on their own may live in any cache.

| key | holds | lifetime | removed by |
|---|---|---|---|
| ``tenant_key(slug)`` | a tenant and its claims configuration (bridge hops, API keys, client owners) | TENANT_TTL | tenant or claims save/delete; a slug change (``truss.authcache``) |
| ``user_key(pk)`` | the signed-in operator (``CachedModelBackend``) | AUTH_TTL | user save/delete, except a ``last_login`` update |
| ``tenants_key(pk)`` | an operator's (tenant, role) pairs | AUTH_TTL | membership save/delete (old and new user); tenant save/delete |
| ``api_key_key(prefix)`` | an API key's row with its tenant | API_KEY_TTL | key save/delete (revocation); its tenant's or claims' save/delete |
| ``api_key_used_key(pk)`` | marker: ``last_used_at`` was written this minute | API_KEY_LAST_USED_RESOLUTION | expiry |
| ``hydra_version_key(url)`` | Hydra's version | truss.ory.hydra.VERSION_CACHE_SECONDS | expiry; ``hydra.clear_version_cache`` |
| ``bridge_check_*`` | the bridge check's public probe, its lock and last deep result | 30 s / 24 h | expiry; ``bridge_check.reset`` |
| ``login_failures_key(kind, value)`` | failed operator sign-ins per account and address | LOGIN_FAILURE_WINDOW | expiry; a successful sign-in (account) |
| ``device_failures_key(kind, value)`` | wrong device codes per challenge and address | bridge.flows.device.WINDOW | expiry |
| ``hygiene_refresh_lock_key(tenant_pk)`` | a tenant's hygiene report refresh under way | 60 s | the refresh's end; expiry |
| ``login_pass_key(key)`` | the login hop's Kratos answer for the consent hop | LOGIN_PASS_MAX_AGE | expiry; read once |
| ``bridge_request_url_key(digest)`` | a login/consent challenge's authorization request URL (to restart it once it expired) | bridge.flows.common.RESTART_WINDOW | expiry |
| ``bridge_restarted_key(digest)`` | marker: this authorization request was restarted once already | bridge.flows.common.RESTART_WINDOW | expiry |
| ``client_name_key(client_id)`` | a client's owner and name, or that Hydra has no such client (``truss.names``) | CLIENT_NAME_TTL | Truss's writes of the client (``oauth2_admin.clients.counts``) |
| ``demo_client_key(tenant_pk)`` | the tenant's demo client id, or "" (the overview's demo sign-in) | DEMO_CLIENT_TTL | Truss's writes of any of the tenant's clients |
| ``client_count_lock_key(tenant_pk)`` | a first count of the tenant's clients under way | 300 s | the count's end; expiry |
| ``caches["process"]``: ``token_owner_key(client_id)``, ``TOKEN_JWKS_KEY`` | a client's owner, Hydra's token keys (introspection) | 60 s | expiry only: per process by design |

Writes invalidate by tombstone (``forget``): a reader that loaded a row just before a write committed could
put the old row back after the write deleted it, and it would live until it expires (a revoked key, a removed
membership). So a write leaves a short-lived tombstone, now and again once it commits. A reader that finds a
tombstone loads from the database and caches nothing; ``cache.add`` cannot replace a tombstone either. The
reader's load-then-add takes milliseconds; the tombstone stays TOMBSTONE_TTL seconds. TTLs only bound what a
write bypassing the ORM's signals (``queryset.update()``, raw SQL) could leave behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

TENANT_TTL = 300  # seconds
AUTH_TTL = 300
API_KEY_TTL = 10
CLIENT_NAME_TTL = 300  # a rename or removal outside Truss shows at most this late
DEMO_CLIENT_TTL = 300
TOMBSTONE = "truss:cache:forgotten"
TOMBSTONE_TTL = 2  # seconds (Redis counts whole seconds)


def tenant_key(slug: str) -> str:
    return f"truss:tenant:v1:{slug}"


def user_key(user_pk: Any) -> str:
    return f"truss:user:v1:{user_pk}"


def tenants_key(user_pk: Any) -> str:
    return f"truss:tenants:v1:{user_pk}"


def api_key_key(prefix: str) -> str:
    return f"truss:apikey:v1:{prefix}"


def api_key_used_key(pk: Any) -> str:
    return f"truss:apikey:used:{pk}"


def hydra_version_key(admin_url: str) -> str:
    return "truss:hydra:version:" + hashlib.sha256(admin_url.encode()).hexdigest()[:32]


BRIDGE_CHECK_PUBLIC = "truss:bridge-check:public:"
BRIDGE_CHECK_LOCK = "truss:bridge-check:deep-lock"
BRIDGE_CHECK_LAST = "truss:bridge-check:deep-last:"


def login_failures_key(kind: str, value: str) -> str:
    return f"truss:login-failures:{kind}:{value}"


def device_failures_key(kind: str, value: str) -> str:
    return f"truss:device-failures:{kind}:{value}"


def hygiene_refresh_lock_key(tenant_pk: Any) -> str:
    return f"truss:hygiene:refresh-lock:{tenant_pk}"


def login_pass_key(key: str) -> str:
    return f"truss:bridge:login-pass:{key}"


def bridge_request_url_key(digest: str) -> str:
    return f"truss:bridge:request-url:{digest}"


def bridge_restarted_key(digest: str) -> str:
    return f"truss:bridge:restarted:{digest}"


def token_owner_key(client_id: str) -> str:
    return f"truss:tokens:owner:{client_id}"


TOKEN_JWKS_KEY = "truss:tokens:jwks"


def client_name_key(client_id: str) -> str:
    return "truss:client:name:v1:" + hashlib.sha256(client_id.encode()).hexdigest()[:32]


def demo_client_key(tenant_pk: Any) -> str:
    return f"truss:client:demo:v1:{tenant_pk}"


def client_count_lock_key(tenant_pk: Any) -> str:
    return f"truss:client:count-lock:{tenant_pk}"


def through_cache(key: str, load: Callable[[], T | None], ttl: int) -> T | None:
    """`load()` through the shared cache, invalidated by `forget`; straight from `load` without one."""
    if not settings.SHARED_CACHE:
        return load()
    return read_through(key, load, ttl)


def read_through(key: str, load: Callable[[], T | None], ttl: int) -> T | None:
    """The cached value, else `load()` (cached unless None or a write just left a tombstone)."""
    hit = cache.get(key)
    if hit is not None and not (isinstance(hit, str) and hit == TOMBSTONE):
        return hit  # type: ignore[no-any-return]
    value = load()
    if value is not None and hit is None:
        cache.add(key, value, ttl)  # add: never overwrite a newer value (or a tombstone) another process put
    return value


def through_cache_many(
    keys: Mapping[str, str], load: Callable[[list[str]], Mapping[str, T]], ttl: int
) -> dict[str, T]:
    """``through_cache`` for many items at once: ``keys`` maps each item to its cache key, ``load`` loads the
    items the cache does not hold (one cache round trip for all hits). Items ``load`` leaves out are not cached."""
    if not settings.SHARED_CACHE:
        return dict(load(list(keys)))
    hits = cache.get_many(list(keys.values()))
    out: dict[str, T] = {}
    missing, buried = [], set()
    for item, key in keys.items():
        hit = hits.get(key)
        if isinstance(hit, str) and hit == TOMBSTONE:
            buried.add(item)
        if hit is None or item in buried:
            missing.append(item)
        else:
            out[item] = hit
    for item, value in (load(missing) if missing else {}).items():
        out[item] = value
        if item not in buried and value is not None:
            cache.add(keys[item], value, ttl)
    return out


def forget(keys: Iterable[str]) -> None:
    """Tombstone the entries now and again once the write commits."""
    keys = list(keys)
    if not keys:
        return
    _bury(keys)
    transaction.on_commit(lambda: _bury(keys))


def _bury(keys: list[str]) -> None:
    cache.set_many(dict.fromkeys(keys, TOMBSTONE), TOMBSTONE_TTL)
