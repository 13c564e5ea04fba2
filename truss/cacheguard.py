"""Read-through cache entries that writes invalidate, without the stale-read race.

A reader that loaded a row just before a write committed could put the old row back into the cache after the
write deleted it, and it would live until it expires (a revoked key, a removed membership). So a write does
not just delete: it leaves a short-lived tombstone, now and again once it commits. A reader that finds a
tombstone loads from the database and caches nothing; ``cache.add`` cannot replace a tombstone either. The
reader's load-then-add takes milliseconds; the tombstone stays TOMBSTONE_TTL seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

TOMBSTONE = "truss:cache:forgotten"
TOMBSTONE_TTL = 2  # seconds (Redis counts whole seconds)


def read_through(key: str, load: Callable[[], T | None], ttl: int) -> T | None:
    """The cached value, else `load()` (cached unless None or a write just left a tombstone)."""
    hit = cache.get(key)
    if hit is not None and not (isinstance(hit, str) and hit == TOMBSTONE):
        return hit  # type: ignore[no-any-return]
    value = load()
    if value is not None and hit is None:
        cache.add(key, value, ttl)  # add: never overwrite a newer value (or a tombstone) another process put
    return value


def forget(keys: Iterable[str]) -> None:
    """Tombstone the entries now and again once the write commits."""
    keys = list(keys)
    if not keys:
        return
    _bury(keys)
    transaction.on_commit(lambda: _bury(keys))


def _bury(keys: list[str]) -> None:
    cache.set_many(dict.fromkeys(keys, TOMBSTONE), TOMBSTONE_TTL)
