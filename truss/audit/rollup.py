"""The audit log's daily rollup: events per (tenant, UTC day, action, outcome) in AuditDailyCount.

Added to in the transaction that chains the events (``add``, called by truss/audit/chain.py's ``append_all``
under the chain's head lock), one upsert statement per batch with one row per group, so a chart of 14 days
reads at most 14 × actions × outcomes rows however many events there were. Events without a tenant are not
counted (no page charts them).

``rebuild`` recounts a tenant's rollup from AuditEvent (``manage.py audit_rollup --rebuild``): for data chained
before the rollup existed, or a repair. It holds the tenant's chain head locked while it recounts, so events
chained meanwhile wait and are counted once. Days whose events were partly archived by retention (up to the
chain's last AuditCut) are left as they are: the rollup still counts what the live table no longer holds.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Count
from django.db.models.functions import TruncDate

from truss import sql
from truss.audit.events import GENESIS, chain_for
from truss.models import AuditChainHead, AuditCut, AuditDailyCount, AuditEvent, Tenant


class Group(NamedTuple):
    tenant_id: int
    day: date
    action: str
    outcome: str


def day_of(moment: datetime) -> date:
    """The UTC day of an aware datetime (the day the overview charts an event on)."""
    return moment.astimezone(UTC).date()


def groups(events: Iterable[AuditEvent]) -> Counter[Group]:
    """How many of ``events`` fall in each (tenant, UTC day, action, outcome); events without a tenant left out."""
    return Counter(
        Group(e.tenant_id, day_of(e.created_at), e.action, e.outcome)
        for e in events
        if e.tenant_id is not None
    )


@functools.lru_cache(maxsize=256)
def _upsert(n: int) -> str:
    """One INSERT … ON CONFLICT DO UPDATE for n groups (PostgreSQL, SQLite ≥ 3.24): a group's row is created with
    its count or has the count added, atomically, whoever else appends."""
    r = sql.names(AuditDailyCount)
    columns = [r.c["tenant"], r.c["day"], r.c["action"], r.c["outcome"], r.c["events"]]
    row = f"({sql.marks(len(columns))})"
    return (
        f"INSERT INTO {r.table} ({', '.join(columns)}) VALUES {', '.join([row] * n)} "
        f"ON CONFLICT ({', '.join(columns[:4])}) DO UPDATE SET {r.c['events']} = "
        f"{r.table}.{r.c['events']} + excluded.{r.c['events']}"
    )


# Upserts of many groups at once are split so a statement's parameters stay under SQLite's limit.
_CHUNK = 500


def add(counts: Mapping[Group, int]) -> None:
    """Add ``counts`` to the rollup in the caller's transaction: one statement per batch of groups, in one
    order (so two writers never wait on each other's rows in opposite orders)."""
    items = sorted((g, n) for g, n in counts.items() if n)
    for start in range(0, len(items), _CHUNK):
        chunk = items[start : start + _CHUNK]
        params: list[object] = []
        for group, n in chunk:
            day = connection.ops.adapt_datefield_value(group.day)
            params += [group.tenant_id, day, group.action, group.outcome, n]
        sql.run(_upsert(len(chunk)), params)


def add_events(events: Iterable[AuditEvent]) -> None:
    """Count freshly chained events (their created_at set) into the rollup."""
    counted = groups(events)
    if counted:
        add(counted)


# --- reading ----------------------------------------------------------------------------------------------------


def daily(tenant: Tenant, start: date, *, prefix: str = "") -> list[tuple[date, str, str, int]]:
    """The tenant's rollup rows from ``start`` on, as (day, action, outcome, events); ``prefix`` narrows the
    actions (``"bridge."``). Reads at most days × actions × outcomes rows."""
    rows = AuditDailyCount.objects.filter(tenant=tenant, day__gte=start, events__gt=0)
    if prefix:
        rows = rows.filter(action__startswith=prefix)
    return list(rows.values_list("day", "action", "outcome", "events"))


def counted_from_events(tenant: Tenant, since: date | None = None) -> Counter[Group]:
    """The same counts grouped from AuditEvent (what the rollup must equal): the rebuild and the tests."""
    events = AuditEvent.objects.filter(tenant=tenant)
    if since is not None:
        events = events.filter(created_at__gte=datetime.combine(since, datetime.min.time(), tzinfo=UTC))
    rows = (
        events.annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values_list("day", "action", "outcome")
        .annotate(n=Count("id"))
        .order_by()
    )
    return Counter({Group(tenant.pk, day, action, outcome): n for day, action, outcome, n in rows})


# --- rebuilding ---------------------------------------------------------------------------------------------


def first_whole_day(tenant: Tenant) -> date | None:
    """The first day whose events are all still in AuditEvent: the day after the tenant chain's last retention
    cut, or None (every day) when nothing was cut."""
    cut = AuditCut.objects.filter(chain=chain_for(tenant.pk)).order_by("-last_id").first()
    return day_of(cut.last_created_at) + timedelta(days=1) if cut else None


def rebuild(tenant: Tenant) -> int:
    """Recount the tenant's rollup from AuditEvent (days archived in part by retention left alone); returns the
    number of groups written. Idempotent; safe while events are being chained (the chain's head is held)."""
    chain = chain_for(tenant.pk)
    with transaction.atomic():
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=chain, last_hash=GENESIS)], ignore_conflicts=True
        )
        list(AuditChainHead.objects.select_for_update().filter(chain=chain))  # appends wait until we are done
        since = first_whole_day(tenant)
        stale = AuditDailyCount.objects.filter(tenant=tenant)
        if since is not None:
            stale = stale.filter(day__gte=since)
        stale.delete()
        counted = counted_from_events(tenant, since)
        add(counted)
    return len(counted)


def rebuild_all(tenants: Iterable[Tenant] | None = None) -> dict[str, int]:
    """``rebuild`` for every tenant (or the given ones), each in its own transaction: slug -> groups."""
    chosen = Tenant.objects.order_by("pk") if tenants is None else tenants
    return {tenant.slug: rebuild(tenant) for tenant in chosen}


def differences(tenant: Tenant) -> dict[Group, tuple[int, int]]:
    """Where the tenant's rollup and a GROUP BY over its events disagree (days archived in part by retention
    left out): group -> (rollup, events)."""
    since = first_whole_day(tenant)
    counted = counted_from_events(tenant, since)
    rows = AuditDailyCount.objects.filter(tenant=tenant, events__gt=0)
    if since is not None:
        rows = rows.filter(day__gte=since)
    rolled = Counter(
        {
            Group(tenant.pk, day, action, outcome): n
            for day, action, outcome, n in rows.values_list("day", "action", "outcome", "events")
        }
    )
    return {g: (rolled[g], counted[g]) for g in set(rolled) | set(counted) if rolled[g] != counted[g]}
