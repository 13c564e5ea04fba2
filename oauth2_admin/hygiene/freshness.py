"""Keeping the fleet report honest. The findings snapshot follows every write Truss makes, but a change made in
Hydra directly is only seen by a full refresh. So:

- a report view never walks Hydra: it shows the stored rows at once. When they are older than
  HYGIENE_REPORT_MAX_AGE seconds (default 120), counted from the end of the last walk, or a walk is under way,
  they are marked as not current and the page polls a progress fragment; each poll (`advance`) walks the next
  small page of Hydra's listing (POLL_PAGE clients; hygiene.fleet resumes the walk where it stands) and says how
  far it got, and the poll that ends the walk tells the page to reload its results. `manage.py sweep_drift`
  walks to the end. Only a tenant's very first view (no snapshot, no walk) walks one page before answering, so
  a small fleet is shown at once. One poll walks at a time per tenant (a lock in the cache that expires on its
  own): a poll that finds another one under way only reports the progress. If Hydra cannot be reached the old
  rows stay, and the poll says so and tries again later;
- any page that reads a client from Hydra anyway (its findings, history, drift) compares it with the stored row
  and, if the client changed since the row was computed, re-lints and stores it with its drift, so the report
  never disagrees with the client page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from oauth2_admin.clients import service as clients
from oauth2_admin.hygiene import drift, fleet, history, snapshot
from oauth2_admin.hygiene.models import FindingsSnapshot, SnapshotRefresh, SweepRun
from truss import caching
from truss.models import Tenant
from truss.ory import hydra
from truss.ory.http import OryError

LOCK_SECONDS = 60  # longer than a poll's page of a walk takes; a crashed holder's lock expires
POLL_PAGE = 100  # clients of Hydra's listing one progress poll walks, so a poll stays short


def _lock_key(tenant: Tenant) -> str:
    return caching.hygiene_refresh_lock_key(tenant.pk)


def max_age() -> timedelta:
    return timedelta(seconds=settings.HYGIENE_REPORT_MAX_AGE)


@dataclass(frozen=True)
class Freshness:
    state: SnapshotRefresh
    refreshed: bool  # refreshed from Hydra for this view (a first view's page, or the poll that ended a walk)
    stale: bool  # older than the maximum age, or a walk is under way: not current
    refreshing: bool = False  # a walk over Hydra's listing is under way or due: the page polls its progress
    walk: SweepRun | None = None  # the walk under way, for its progress
    unreachable: bool = False  # Hydra could not be reached to go on with the walk

    @property
    def as_of(self) -> datetime:
        return self.state.refreshed_at


def checked_at(state: SnapshotRefresh, last: SweepRun | None) -> datetime:
    """When the rows were last confirmed: the end of the last finished walk (its rows date from its start,
    which `as_of` shows), so a walk longer than the maximum age is not followed by another one at once."""
    if last is not None and not last.running and last.finished_at is not None:
        return max(state.refreshed_at, last.finished_at)
    return state.refreshed_at


def current(tenant: Tenant, *, now: datetime | None = None) -> Freshness:
    """The tenant's snapshot state, read only (no Hydra call), except on the tenant's very first view: with no
    snapshot and no walk yet, the first page of Hydra's listing is walked now."""
    now = now or timezone.now()
    state = SnapshotRefresh.objects.filter(tenant=tenant).first()
    last = SweepRun.objects.filter(tenant=tenant).first()
    under_way = last if last is not None and last.running else None
    if state is None and under_way is None:
        return _first_view(tenant, now)
    if state is None:
        assert under_way is not None
        return Freshness(
            snapshot.partial(under_way), refreshed=False, stale=True, refreshing=True, walk=under_way
        )
    if under_way is None and now - checked_at(state, last) <= max_age():
        return Freshness(state, refreshed=False, stale=False)
    return Freshness(state, refreshed=False, stale=True, refreshing=True, walk=under_way)


def _first_view(tenant: Tenant, now: datetime) -> Freshness:
    if not cache.add(_lock_key(tenant), 1, LOCK_SECONDS):  # another first view is walking
        shown = SnapshotRefresh(tenant=tenant, refreshed_at=now, source="first view", clients=0)
        return Freshness(shown, refreshed=False, stale=True, refreshing=True, walk=fleet.running(tenant))
    try:
        run = snapshot.refresh(tenant, source="first view", max_pages=snapshot.VIEW_PAGES)
    finally:
        cache.delete(_lock_key(tenant))
    if not run.running:
        return Freshness(SnapshotRefresh.objects.get(tenant=tenant), refreshed=True, stale=False)
    return Freshness(snapshot.partial(run), refreshed=False, stale=True, refreshing=True, walk=run)


def advance(tenant: Tenant, *, now: datetime | None = None) -> Freshness:
    """One progress poll: if the report is due a check (or a walk is under way), walk the next POLL_PAGE clients
    of Hydra's listing, unless another poll holds the tenant's lock; then the state as `current` reads it,
    `refreshed` when this poll ended the walk, `unreachable` when Hydra could not be reached."""
    now = now or timezone.now()
    seen = current(tenant, now=now)
    if not seen.refreshing or seen.refreshed:
        return seen
    if not cache.add(_lock_key(tenant), 1, LOCK_SECONDS):
        return seen
    try:
        run = snapshot.refresh(tenant, source="view", max_pages=1, page_size=POLL_PAGE)
    except OryError:
        return Freshness(
            seen.state,
            refreshed=False,
            stale=True,
            refreshing=True,
            walk=fleet.running(tenant),
            unreachable=True,
        )
    finally:
        cache.delete(_lock_key(tenant))
    if not run.running:
        return Freshness(SnapshotRefresh.objects.get(tenant=tenant), refreshed=True, stale=False)
    state = SnapshotRefresh.objects.filter(tenant=tenant).first() or snapshot.partial(run)
    return Freshness(state, refreshed=False, stale=True, refreshing=True, walk=run)


def reconcile(tenant: Tenant, client: hydra.OAuth2Client) -> bool:
    """Bring the client's stored row up to date with `client` as just read from Hydra; True if it had to be
    (the row's client differed, or there was none)."""
    view = clients.public_view(client)
    stored = (
        FindingsSnapshot.objects.filter(tenant=tenant, client_id=client.client_id)
        .values_list("client", flat=True)
        .first()
    )
    if stored is not None and history.comparable(stored) == history.comparable(view):
        return False
    known = history.latest_by_client(tenant, [client.client_id]).get(client.client_id)
    fields = [c.field for c in drift.compare(client, known).changes]
    snapshot.store(tenant, client)
    FindingsSnapshot.objects.filter(tenant=tenant, client_id=client.client_id).update(
        drifted=bool(fields), drift_fields=fields, drift_seen_at=timezone.now() if fields else None
    )
    return True
