"""Keeping the fleet report honest. The findings snapshot follows every write Truss makes, but a change made in
Hydra directly is only seen by a full refresh. So:

- a report view finds the snapshot older than HYGIENE_REPORT_MAX_AGE seconds (default 120) and walks the next
  page of Hydra's listing first (snapshot.VIEW_PAGES; hygiene.fleet resumes the walk where it stands): a fleet
  of one page is current at once, a larger one is shown with the walk's progress, marked as being checked
  again, and each view takes it a page further (`manage.py sweep_drift` walks it to the end). No view lists a
  whole fleet. If Hydra cannot be reached the old rows are shown, marked as not current. One view walks at a
  time per tenant (a lock in the cache that expires on its own): a view that finds another one under way shows
  the old rows marked as being checked again;
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

LOCK_SECONDS = 60  # longer than a view's pages of a walk take; a crashed holder's lock expires


def _lock_key(tenant: Tenant) -> str:
    return caching.hygiene_refresh_lock_key(tenant.pk)


def max_age() -> timedelta:
    return timedelta(seconds=settings.HYGIENE_REPORT_MAX_AGE)


@dataclass(frozen=True)
class Freshness:
    state: SnapshotRefresh
    refreshed: bool  # refreshed from Hydra for this view
    stale: bool  # older than the maximum age and not refreshed: not current
    refreshing: bool = False  # stale because a walk over Hydra's listing is under way
    walk: SweepRun | None = None  # the walk under way, for its progress

    @property
    def as_of(self) -> datetime:
        return self.state.refreshed_at


def current(tenant: Tenant, *, now: datetime | None = None) -> Freshness:
    """The tenant's snapshot state; if it is older than max_age(), Hydra's listing walked a page further first."""
    now = now or timezone.now()
    state = SnapshotRefresh.objects.filter(tenant=tenant).first()
    under_way = fleet.running(tenant)
    if state is not None and now - state.refreshed_at <= max_age():
        return Freshness(state, refreshed=False, stale=False, walk=under_way)
    if not cache.add(_lock_key(tenant), 1, LOCK_SECONDS):
        shown = state or (snapshot.partial(under_way) if under_way else None)
        if shown is None:  # the tenant's very first view, while another view starts its walk
            shown = SnapshotRefresh(tenant=tenant, refreshed_at=now, source="first view", clients=0)
        return Freshness(shown, refreshed=False, stale=True, refreshing=True, walk=under_way)
    try:
        source = "view" if state is not None else "first view"
        run = snapshot.refresh(tenant, source=source, max_pages=snapshot.VIEW_PAGES)
    except OryError:
        if state is None:
            raise
        return Freshness(state, refreshed=False, stale=True, walk=fleet.running(tenant))
    finally:
        cache.delete(_lock_key(tenant))
    if not run.running:
        return Freshness(SnapshotRefresh.objects.get(tenant=tenant), refreshed=True, stale=False)
    return Freshness(state or snapshot.partial(run), refreshed=False, stale=True, refreshing=True, walk=run)


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
