"""The walk over a tenant's fleet in Hydra: the drift sweep and the findings snapshot's refresh, one page at a time.

A walk holds one page of clients (Hydra's listing, streamed with its page token), never the fleet. Each page is
checked for drift (audited once per new drift when the walk `records`, which the drift sweep does), linted into
the snapshot and counted per grant type; the rows, the counts so far and the token of the next page are written
in one short transaction on the walk's own row (SweepRun), so a walk that was stopped (killed, Hydra down)
resumes where it stopped and handles every client once. A page handled again after a crash between its audit
events and that transaction records no drift twice (hygiene.drift.detect looks for the same drift first).

Audit events are appended before the page's transaction, each in its own, so a walk never holds an audit chain's
head while it writes rows; the rows it upserts (the page's clients in the snapshot) are locked only for that
transaction. One process walks a tenant at a time: a lease on the walk's row, renewed with each page.

When the listing is done, the snapshot rows the walk did not see are checked one by one with Hydra (gone: the
row is removed; there after all, because Hydra's offset pages shifted under a deletion: handled like a listed
one), the tenant's client counts are reconciled with what the walk counted, and the report's state
(SnapshotRefresh) says when the walk started.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta
from types import ModuleType
from typing import Any

from django.db import transaction
from django.utils import timezone

from oauth2_admin.hygiene import drift, snapshot
from oauth2_admin.hygiene import service as hygiene
from oauth2_admin.hygiene.models import FindingsSnapshot, SnapshotRefresh, SweepRun
from truss import leases
from truss.models import ClientCount, Tenant
from truss.ory import hydra
from truss.ory.http import OryError

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # renewed with every page; a killed walker's lease runs out on its own
FINISH_BATCH = 200  # unseen rows checked with Hydra per query

Progress = Callable[[SweepRun], None]
Found = Callable[[Sequence[drift.SweepResult]], None]


class Lost(Exception):
    """Another process took the walk over (this one's lease ran out): stop without writing."""


def counts_module() -> ModuleType | None:
    """oauth2_admin.clients.counts (the tenant's pre-aggregated client counts), imported when first needed."""
    try:
        return importlib.import_module("oauth2_admin.clients.counts")
    except ModuleNotFoundError:
        return None


def _counted(
    by_grant: dict[str, int], clients: Sequence[hydra.OAuth2Client], sign: int = 1
) -> dict[str, int]:
    out = dict(by_grant)
    for client in clients:
        for grant in set(client.grant_types):
            out[grant] = out.get(grant, 0) + sign
    return out


# --- the walk's row ------------------------------------------------------------------------------------------


def _expected(tenant: Tenant, run: SweepRun | None) -> int:
    """The walk's estimate of the fleet (Hydra v2 counts only the whole fleet, v25+ nothing): the last walk's
    count, else the larger of the snapshot's rows and the tenant's client count."""
    if run is not None and not run.running and run.done:
        return run.done
    counted = ClientCount.objects.filter(tenant=tenant).values_list("total", flat=True).first() or 0
    return max(FindingsSnapshot.objects.filter(tenant=tenant).count(), counted)


def _claim(run: SweepRun, me: str) -> bool:
    """Take (or renew) the walk's lease."""
    return leases.take(SweepRun.objects.filter(pk=run.pk), me, LEASE, updated_at=timezone.now())


def _release(run: SweepRun, me: str) -> None:
    leases.release(SweepRun.objects.filter(pk=run.pk), me)


def _begin(tenant: Tenant, *, source: str, records: bool, me: str) -> tuple[SweepRun, bool]:
    """The tenant's walk, leased to `me`: the one under way continued (a drift sweep restarts a refresh's walk,
    which audited no drift), else a new one. (run, False) if another process holds it."""
    now = timezone.now()
    run = SweepRun.objects.filter(tenant=tenant).first()
    if run is None:
        SweepRun.objects.bulk_create(
            [
                SweepRun(
                    tenant=tenant,
                    source=source,
                    records=records,
                    expected=_expected(tenant, None),
                    started_at=now,
                    updated_at=now,
                )
            ],
            ignore_conflicts=True,
        )
        run = SweepRun.objects.get(tenant=tenant)
    if not _claim(run, me):
        run.refresh_from_db()
        return run, False
    run.refresh_from_db()
    if not run.running or (records and not run.records):
        fields: dict[str, Any] = {
            "state": SweepRun.State.RUNNING,
            "source": source,
            "records": records,
            "page_token": "",
            "walked": False,
            "pages": 0,
            "done": 0,
            "drifted": 0,
            "by_grant": {},
            "expected": _expected(tenant, run),
            "started_at": now,
            "updated_at": now,
            "finished_at": None,
            "last_error": "",
        }
        SweepRun.objects.filter(pk=run.pk, lease_owner=me).update(**fields)
        run.refresh_from_db()
    return run, True


# --- one page ------------------------------------------------------------------------------------------------


def _handle(
    run: SweepRun, me: str, clients: Sequence[hydra.OAuth2Client], *, next_token: str, walked: bool
) -> tuple[SweepRun, list[drift.SweepResult]]:
    """Drift, snapshot rows and counts of `clients` (a page, or a client the listing missed), then the walk's
    position moved on: rows, counts and position in one transaction, guarded by the position it started from."""
    tenant = run.tenant
    found = drift.detect(
        tenant, clients, record=run.records
    )  # audit events first, each in its own transaction
    facts = hygiene.facts_for(tenant, [c.client_id for c in clients], now=timezone.now())
    now = timezone.now()
    by_grant = _counted(run.by_grant, clients)
    moved = {
        "page_token": next_token,
        "walked": walked,
        "pages": run.pages + (0 if run.walked else 1),
        "done": run.done + len(clients),
        "drifted": run.drifted + len(found),
        "by_grant": by_grant,
        "expected": max(run.expected, run.done + len(clients)),
        "updated_at": now,
        "lease_until": now + LEASE,
        "last_error": "",
    }
    with transaction.atomic():
        guard = {"pk": run.pk, "lease_owner": me, "page_token": run.page_token, "walked": run.walked}
        if not SweepRun.objects.filter(state=SweepRun.State.RUNNING, **guard).update(**moved):
            raise Lost(f"the walk of {tenant.slug} was taken over")
        stored = snapshot.store_page(tenant, clients, {f.client_id: f.fields for f in found}, facts)
        _count_changes(tenant, stored)
    for name, value in moved.items():
        setattr(run, name, value)
    return run, found


def _count_changes(tenant: Tenant, stored: snapshot.Stored) -> None:
    """Clients the walk saw appear, or change grant types, outside Truss (Truss's own writes reach the snapshot
    and the counts through their audit events, so their rows are never new to a walk): the tenant's counts
    follow at once, and the walk's own count replaces them when it ends. A client is new only if a walk went
    all the way before: in a tenant's first walk, every client has no row yet."""
    counts = counts_module()
    if counts is None or not (stored.appeared or stored.regranted):
        return
    if stored.appeared and SnapshotRefresh.objects.filter(tenant=tenant).exists():
        for client in stored.appeared:
            counts.added(tenant, client)
    for before, client in stored.regranted:
        counts.changed(tenant, before, client)


# --- the end of the listing ----------------------------------------------------------------------------------


def _unseen(run: SweepRun, me: str, *, limit: int | None) -> tuple[SweepRun, bool]:
    """Rows older than the walk: their clients were not in the listing. Each is asked for with Hydra, at most
    `limit` now (None: all); True when none is left. A row handled is removed or newer than the walk, so the
    next call goes on with the rest."""
    tenant, last, handled = run.tenant, "", 0
    while True:
        batch = list(
            FindingsSnapshot.objects.filter(tenant=tenant, computed_at__lt=run.started_at, client_id__gt=last)
            .order_by("client_id")
            .values_list("client_id", flat=True)[:FINISH_BATCH]
        )
        if not batch:
            return run, True
        if limit is not None and handled >= limit:
            return run, False
        handled += len(batch)
        last = batch[-1]
        if not _claim(run, me):
            raise Lost(f"the walk of {tenant.slug} was taken over")
        for client_id in batch:
            try:
                client: hydra.OAuth2Client | None = hydra.get_client(client_id)
            except hydra.HydraNotFound:
                client = None
            if client is not None and client.owner == tenant.hydra_owner:
                run, _ = _handle(run, me, [client], next_token="", walked=True)
                continue
            with transaction.atomic():
                row = (
                    FindingsSnapshot.objects.filter(
                        tenant=tenant, client_id=client_id, computed_at__lt=run.started_at
                    )
                    .only("client")
                    .first()
                )
                if row is None:
                    continue
                row.delete()
                counts = counts_module()
                if counts is not None:
                    grants = row.client.get("grant_types") if isinstance(row.client, dict) else None
                    counts.removed(tenant, list(grants or []))


def _finish(run: SweepRun, me: str) -> SweepRun:
    tenant, now = run.tenant, timezone.now()
    with transaction.atomic():
        done = {"state": SweepRun.State.DONE, "finished_at": now, "updated_at": now, "expected": run.done}
        if not SweepRun.objects.filter(pk=run.pk, lease_owner=me, state=SweepRun.State.RUNNING).update(
            **done
        ):
            raise Lost(f"the walk of {tenant.slug} was taken over")
        SnapshotRefresh.objects.update_or_create(
            tenant=tenant,
            defaults={"refreshed_at": run.started_at, "source": run.source[:20], "clients": run.done},
        )
        counts = counts_module()
        if counts is not None:
            counts.reconcile(tenant, run.done, dict(run.by_grant))
    for name, value in done.items():
        setattr(run, name, value)
    return run


# --- the walk --------------------------------------------------------------------------------------------------


def walk(
    tenant: Tenant,
    *,
    source: str,
    records: bool,
    max_pages: int | None = None,
    page_size: int = hydra.FLEET_PAGE,
    progress: Progress | None = None,
    found: Found | None = None,
) -> SweepRun:
    """Walk the tenant's fleet from where its walk stands (or from the start), at most `max_pages` pages now
    (None: to the end, then finish it). `progress` is called after each page with the walk's row, `found` with
    each page's drifted clients. Returns the walk's row; unchanged if another process is walking it. Hydra
    errors are raised (OryError) after the walk's row has noted them: the next walk resumes at that page."""
    me = uuid.uuid4().hex
    run, mine = _begin(tenant, source=source, records=records, me=me)
    if not mine:
        return run
    try:
        if not run.walked:
            token = run.page_token or None
            listing = hydra.iter_clients(owner=tenant.hydra_owner, page_size=page_size, page_token=token)
            for pages, page in enumerate(listing, start=1):
                end = not page.next_page_token or not page.items
                run, drifted = _handle(run, me, page.items, next_token=page.next_page_token or "", walked=end)
                if found is not None and drifted:
                    found(drifted)
                if progress is not None:
                    progress(run)
                if end:
                    break
                if max_pages is not None and pages >= max_pages:
                    return run
        run, complete = _unseen(run, me, limit=None if max_pages is None else FINISH_BATCH * max_pages)
        if not complete:
            return run
        run = _finish(run, me)
        if progress is not None:
            progress(run)
        return run
    except OryError as exc:
        SweepRun.objects.filter(pk=run.pk, lease_owner=me).update(last_error=str(exc)[:500])
        raise
    finally:
        _release(run, me)


def running(tenant: Tenant) -> SweepRun | None:
    return SweepRun.objects.filter(tenant=tenant, state=SweepRun.State.RUNNING).first()
