"""A tenant's OAuth2 clients counted, in total and per grant type (truss.models.ClientCount), so no page lists
the tenant's fleet from Hydra to count it.

Kept by the events Truss sees: its own client writes (``added``, ``removed``, ``changed``, called by
oauth2_admin/clients/service.py once Hydra did the write) and the drift sweep's findings; set whole by a full
count (``reconcile``: the fleet sweep's, or ``first_count`` for a tenant never counted). Until a tenant's first
full count there is no row, and the moves are not applied (nothing to move from); the first count includes them.

Moves are exact under concurrent writes: each locks the tenant's row (an UPDATE first, which every database
serialises) before it reads and rewrites the per-grant counts, in one transaction. A count can still be off
by what changed outside Truss since the last full count (a client created straight in Hydra): the overview says
when that was ("counted <time>").
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime

from django.core.cache import cache
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from truss import caching
from truss.models import ClientCount, Tenant
from truss.ory import hydra

log = logging.getLogger(__name__)

# A client, or its grant types (the drift sweep passes what it stored).
ClientLike = hydra.OAuth2Client | Iterable[str]

FIRST_COUNT_PAGE = 500  # Hydra v25+ answers at most 500 clients a page
FIRST_COUNT_MAX = 200_000  # clients a first count reads at most; the sweeps count beyond
FIRST_COUNT_LOCK_SECONDS = 300


def _grants(client: ClientLike) -> set[str]:
    if isinstance(client, hydra.OAuth2Client):
        return set(client.grant_types)
    return {str(g) for g in client}


def _forget(tenant: Tenant, client: ClientLike) -> None:
    """A client Truss wrote: its cached name goes (truss/names.py), and the tenant's demo-client lookup."""
    if isinstance(client, hydra.OAuth2Client):
        caching.forget([caching.client_name_key(client.client_id), caching.demo_client_key(tenant.pk)])


def _move(tenant: Tenant, total: int, grants: Mapping[str, int]) -> None:
    """Add ``total`` and ``grants`` to the tenant's counts, if it was counted; never below zero."""
    with transaction.atomic():
        # The UPDATE locks the row (PostgreSQL) or the database (SQLite) before the counts are read: two moves
        # never both read the same by_grant.
        locked = ClientCount.objects.filter(tenant=tenant).update(
            total=F("total") + total, updated_at=timezone.now()
        )
        if not locked:
            return
        row = ClientCount.objects.get(tenant=tenant)
        by_grant = Counter({str(k): int(v) for k, v in (row.by_grant or {}).items()})
        by_grant.update(grants)
        row.by_grant = {g: n for g, n in sorted(by_grant.items()) if n > 0}
        fields = ["by_grant"]
        if row.total < 0:
            row.total = 0
            fields.append("total")
        row.save(update_fields=fields)


def _safely(tenant: Tenant, total: int, grants: Mapping[str, int]) -> None:
    """A move after a write Hydra already made: it must not fail the write (the sweep reconciles)."""
    try:
        _move(tenant, total, grants)
    except DatabaseError:
        if transaction.get_connection().in_atomic_block:
            raise
        log.warning("client counts of %s not moved; the next sweep recounts them", tenant.slug, exc_info=True)


def added(tenant: Tenant, client: ClientLike) -> None:
    """A client of the tenant was created (by Truss, or seen by the drift sweep)."""
    _forget(tenant, client)
    _safely(tenant, 1, dict.fromkeys(_grants(client), 1))


def removed(tenant: Tenant, client: ClientLike) -> None:
    """A client of the tenant was deleted."""
    _forget(tenant, client)
    _safely(tenant, -1, dict.fromkeys(_grants(client), -1))


def changed(tenant: Tenant, before: ClientLike, after: ClientLike) -> None:
    """A client of the tenant was updated: its grant types may have changed (its name too: cache forgotten)."""
    _forget(tenant, after)
    old, new = _grants(before), _grants(after)
    moves = dict.fromkeys(new - old, 1) | dict.fromkeys(old - new, -1)
    if moves:
        _safely(tenant, 0, moves)


def reconcile(tenant: Tenant, total: int, by_grant: Mapping[str, int]) -> None:
    """Set the tenant's counts from a full count of its clients in Hydra, and stamp when."""
    now = timezone.now()
    clean = {str(g): int(n) for g, n in sorted(by_grant.items()) if int(n) > 0}
    ClientCount.objects.update_or_create(
        tenant=tenant,
        defaults={"total": max(int(total), 0), "by_grant": clean, "reconciled_at": now},
    )


# --- reading ---------------------------------------------------------------------------------------------------


def read(tenant: Tenant) -> ClientCount | None:
    """The tenant's counts, or None if it was never counted."""
    return ClientCount.objects.filter(tenant=tenant).first()


class Counting(Exception):
    """Another request is counting the tenant's clients for the first time right now."""


def first_count(tenant: Tenant) -> ClientCount:
    """Count the tenant's clients in Hydra once (page by page, at most FIRST_COUNT_MAX clients) and store the
    counts; what the overview does for a tenant never counted. One request counts, others get Counting.
    Raises hydra.HydraError while Hydra is unavailable (nothing stored)."""
    lock = caching.client_count_lock_key(tenant.pk)
    if not cache.add(lock, 1, FIRST_COUNT_LOCK_SECONDS):
        raise Counting(tenant.slug)
    try:
        started = timezone.now()
        total, by_grant = _count_in_hydra(tenant)
        return _store_first(tenant, total, by_grant, started)
    finally:
        cache.delete(lock)


def _count_in_hydra(tenant: Tenant) -> tuple[int, Counter[str]]:
    """The tenant's clients counted page by page (only the page in hand is held)."""
    total, by_grant, token = 0, Counter[str](), None
    while total < FIRST_COUNT_MAX:
        page = hydra.list_clients(owner=tenant.hydra_owner, page_size=FIRST_COUNT_PAGE, page_token=token)
        for client in page.items:
            total += 1
            by_grant.update(set(client.grant_types))
        token = page.next_page_token
        if not token or not page.items:
            return total, by_grant
    log.warning("first count of %s stopped at %s clients; the sweep counts the rest", tenant.slug, total)
    return total, by_grant


def _store_first(tenant: Tenant, total: int, by_grant: Mapping[str, int], started: datetime) -> ClientCount:
    """Stored unless a full count finished meanwhile (a sweep's), which is as new or newer."""
    with transaction.atomic():
        row, _ = ClientCount.objects.get_or_create(
            tenant=tenant,
            defaults={
                "total": total,
                "by_grant": {g: n for g, n in sorted(by_grant.items()) if n > 0},
                "reconciled_at": started,
            },
        )
    return row
