"""Fleet sweeps at scale: the drift sweep and the snapshot refresh walk Hydra's listing page by page (memory does
not grow with the fleet), resume a stopped walk where it stopped (every client handled once, no audit event
twice), say how far they are, and a report view never walks more than a page."""

from __future__ import annotations

import threading
import tracemalloc
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from oauth2_admin.hygiene import drift, fleet, snapshot
from oauth2_admin.hygiene.models import FindingsSnapshot, SnapshotRefresh, SweepRun
from tests.hygiene.conftest import change_in_hydra
from truss import audit
from truss.audit import Action
from truss.models import AuditEvent, ClientCount, Tenant
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PAGE = 50


def fleet_of(ory: Any, tenant: Tenant, n: int) -> list[str]:
    """`n` public clients of the tenant, straight in Hydra (no secret to hash: quick to make)."""

    def make(i: int) -> str:
        body = {
            "client_name": f"fleet-{i}-{uuid.uuid4().hex[:6]}",
            "owner": tenant.hydra_owner,
            "grant_types": ["authorization_code"] if i % 2 else ["client_credentials"],
            "response_types": ["code"] if i % 2 else ["token"],
            "redirect_uris": ["https://app.example.com/cb"],
            "token_endpoint_auth_method": "none" if i % 2 else "private_key_jwt",
            "jwks_uri": None if i % 2 else "https://app.example.com/jwks.json",
            "scope": "openid",
        }
        body = {k: v for k, v in body.items() if v is not None}
        resp = requests.post(f"{ory.hydra_admin_url}/admin/clients", json=body, timeout=30)
        assert resp.status_code == 201, resp.text
        return str(resp.json()["client_id"])

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(make, range(n)))


def peak_of(job: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        job()
        peak = tracemalloc.get_traced_memory()[1]
        print(f"peak {peak} bytes")
        return peak
    finally:
        tracemalloc.stop()


def test_it_sweeps_a_fleet_in_memory_that_does_not_grow_with_it(ory, make_tenant):
    small, large = make_tenant(), make_tenant()
    fleet_of(ory, small, 200)
    fleet_of(ory, large, 800)
    for tenant in (
        small,
        large,
    ):  # a first walk each: both snapshots exist, so both walks below do the same work
        fleet.walk(tenant, source="sweep", records=True, page_size=PAGE)
    peaks = {}
    for tenant in (small, large):
        peaks[tenant.slug] = peak_of(
            lambda t=tenant: fleet.walk(t, source="sweep", records=True, page_size=PAGE)  # type: ignore[misc]
        )
    assert SweepRun.objects.get(tenant=large).done == 800
    assert FindingsSnapshot.objects.filter(tenant=large).count() == 800
    # Four times the fleet; the peak is one page's worth either way.
    assert peaks[large.slug] < 1.5 * peaks[small.slug], peaks


def test_it_resumes_a_stopped_sweep_and_handles_every_client_once(ory, tenant, make_client, monkeypatch):
    drifted = [make_client() for _ in range(3)]
    for client in drifted:
        change_in_hydra(ory, client.client_id, client_name=f"changed-{client.client_id[:6]}")
    ids = fleet_of(ory, tenant, 237) + [c.client_id for c in drifted]
    real_store = snapshot.store_page
    crashed: list[set[str]] = []

    def crash_on_a_drifted_page(tenant: Tenant, page: Any, drifted: Any, facts: Any) -> Any:
        if drifted and not crashed:  # after the page's drift events, before its rows and position are written
            crashed.append(set(drifted))
            raise RuntimeError("killed")
        return real_store(tenant, page, drifted, facts)

    monkeypatch.setattr(snapshot, "store_page", crash_on_a_drifted_page)
    with pytest.raises(RuntimeError):
        fleet.walk(tenant, source="sweep", records=True, page_size=PAGE)
    run = SweepRun.objects.get(tenant=tenant)
    assert run.running and run.done == run.pages * PAGE
    assert not run.lease_owner  # released: the next sweep resumes at once
    events = AuditEvent.objects.filter(tenant=tenant, action=Action.CLIENT_DRIFT_DETECTED)
    assert set(events.values_list("target", flat=True)) >= crashed[0]  # recorded before the crash

    calls: list[str | None] = []
    real_list = hydra.list_clients

    def listing(**kwargs: Any) -> hydra.ClientPage:
        calls.append(kwargs.get("page_token"))
        return real_list(**kwargs)

    monkeypatch.setattr(hydra, "list_clients", listing)
    out = StringIO()
    call_command("sweep_drift", "--tenant", tenant.slug, "--page-size", str(PAGE), stdout=out)
    assert calls[0] == (run.page_token or None)  # resumed at the page that was stopped
    assert len(calls) == 5 - run.pages  # the pages not yet handled, each once (the last one short)
    run.refresh_from_db()
    assert not run.running and run.done == len(ids) == 240 and run.pages == 5
    assert sum(run.by_grant.values()) == 240 + 3  # the three Truss clients have two grant types each
    rows = set(FindingsSnapshot.objects.filter(tenant=tenant).values_list("client_id", flat=True))
    assert rows == set(ids)
    assert sorted(events.values_list("target", flat=True)) == sorted(c.client_id for c in drifted)
    assert SnapshotRefresh.objects.get(tenant=tenant).clients == 240
    counted = ClientCount.objects.filter(tenant=tenant).first()
    assert counted is None or counted.total == 240  # (the counts module may not be there yet)
    assert f"progress\t{tenant.slug}\tresuming at client {(5 - len(calls)) * PAGE}" in out.getvalue()


def test_it_resumes_after_hydra_went_away_in_the_middle(ory, tenant, monkeypatch):
    fleet_of(ory, tenant, 120)
    real_list, calls = hydra.list_clients, []

    def flaky(**kwargs: Any) -> hydra.ClientPage:
        calls.append(1)
        if len(calls) == 2:
            raise hydra.HydraUnavailable(status=503, error="unavailable", description="Hydra went away")
        return real_list(**kwargs)

    monkeypatch.setattr(hydra, "list_clients", flaky)
    with pytest.raises(hydra.HydraError):
        snapshot.refresh(tenant, page_size=PAGE)
    run = SweepRun.objects.get(tenant=tenant)
    assert run.running and run.done == PAGE and "went away" in run.last_error
    snapshot.refresh(tenant, page_size=PAGE)
    run.refresh_from_db()
    assert not run.running and run.done == 120 and run.last_error == ""
    assert FindingsSnapshot.objects.filter(tenant=tenant).count() == 120


def test_it_prints_progress_page_by_page(ory, tenant):
    fleet_of(ory, tenant, 120)
    out = StringIO()
    call_command("sweep_drift", "--tenant", tenant.slug, "--page-size", str(PAGE), stdout=out)
    lines = [line.split("\t") for line in out.getvalue().splitlines() if line.startswith("progress\t")]
    assert [line[2] for line in lines] == [
        "50 of about 50 clients",
        "100 of about 100 clients",
        "120 of about 120 clients",
        "120 clients, done",
    ]
    assert all(line[4].endswith("drifted") and line[5].endswith("clients/s") for line in lines)
    # The next sweep knows the fleet's size up front.
    out = StringIO()
    call_command("sweep_drift", "--tenant", tenant.slug, "--page-size", str(PAGE), stdout=out)
    assert "\t50 of about 120 clients\t" in out.getvalue()


def test_it_lets_one_process_walk_a_tenant_at_a_time(ory, tenant):
    fleet_of(ory, tenant, 60)
    SweepRun.objects.create(
        tenant=tenant,
        source="sweep",
        records=True,
        started_at=timezone.now(),
        updated_at=timezone.now(),
        lease_owner="someone-else",
        lease_until=timezone.now() + fleet.LEASE,
    )
    run = snapshot.refresh(tenant, page_size=PAGE)
    assert run.running and run.done == 0  # left alone
    SweepRun.objects.filter(tenant=tenant).update(lease_until=timezone.now())  # its holder died
    run = snapshot.refresh(tenant, page_size=PAGE)
    assert not run.running and run.done == 60


def test_it_walks_a_page_on_the_first_report_view_only(ory, tenant, console, monkeypatch):
    fleet_of(ory, tenant, 120)
    monkeypatch.setattr(snapshot, "PAGE_SIZE", PAGE)
    real_list, calls = hydra.list_clients, []

    def listing(**kwargs: Any) -> hydra.ClientPage:
        calls.append(1)
        return real_list(**kwargs)

    monkeypatch.setattr(hydra, "list_clients", listing)
    viewer = console("viewer")
    seen = []
    for _ in range(3):
        seen.append(viewer.get("/console/hygiene/").content.decode())
    assert len(calls) == 1  # the later views leave the walk to the progress polls
    assert all("Checking against Hydra (first view): 50 of about 50 clients" in html for html in seen)
    assert not SnapshotRefresh.objects.filter(tenant=tenant).exists()


def test_it_keeps_the_drift_sweep_function_streaming(ory, tenant, make_client):
    client = make_client()
    change_in_hydra(ory, client.client_id, client_name="behind Truss's back")
    fleet_of(ory, tenant, 10)
    found = drift.sweep(tenant)
    assert [f.client_id for f in found] == [client.client_id] and found[0].recorded
    assert drift.sweep(tenant)[0].recorded is False  # the same drift is recorded once


def test_it_counts_the_fleet_and_follows_what_it_sees_change_outside_truss(ory, tenant, monkeypatch):
    counts = pytest.importorskip("oauth2_admin.clients.counts")
    ids = fleet_of(ory, tenant, 60)  # 30 client_credentials, 30 authorization_code
    fleet.walk(tenant, source="sweep", records=True, page_size=PAGE)
    row = counts.read(tenant)
    assert row.total == 60 and row.by_grant == {"authorization_code": 30, "client_credentials": 30}

    # Outside Truss: one client appears, one gains a grant type, one is deleted.
    [new] = fleet_of(ory, tenant, 1)  # client_credentials (i = 0)
    regranted = next(i for i in ids if in_grants(ory, i) == ["authorization_code"])
    change_in_hydra(ory, regranted, grant_types=["authorization_code", "refresh_token"])
    gone = next(i for i in ids if i != regranted)
    assert requests.delete(f"{ory.hydra_admin_url}/admin/clients/{gone}", timeout=10).status_code == 204
    gone_grants = FindingsSnapshot.objects.get(tenant=tenant, client_id=gone).client["grant_types"]

    monkeypatch.setattr(counts, "reconcile", lambda *a, **k: None)  # the moves alone, not the walk's count
    fleet.walk(tenant, source="sweep", records=True, page_size=PAGE)
    row = counts.read(tenant)
    expected = {"authorization_code": 30, "client_credentials": 31, "refresh_token": 1}
    expected[gone_grants[0]] -= 1
    assert row.total == 60 and row.by_grant == expected
    monkeypatch.undo()
    fleet.walk(tenant, source="sweep", records=True, page_size=PAGE)  # its own count agrees with the moves
    again = counts.read(tenant)
    assert (again.total, again.by_grant) == (row.total, row.by_grant)
    assert new in set(FindingsSnapshot.objects.filter(tenant=tenant).values_list("client_id", flat=True))


def in_grants(ory: Any, client_id: str) -> list[str]:
    response = requests.get(f"{ory.hydra_admin_url}/admin/clients/{client_id}", timeout=10)
    return list(response.json()["grant_types"])


@pytest.mark.django_db(transaction=True)
def test_it_holds_no_lock_a_sign_in_needs_while_it_reads_hydra(ory, tenant, monkeypatch):
    ids = fleet_of(ory, tenant, 120)
    real_list, signed_in = hydra.list_clients, []

    def sign_in_meanwhile(**kwargs: Any) -> hydra.ClientPage:
        def consent() -> (
            None
        ):  # what a sign-in writes: its audit event, the ledger row and the snapshot's clock
            try:
                audit.record(
                    None,
                    Action.CONSENT_ACCEPT,
                    tenant=tenant,
                    target=ids[0],
                    actor="identity:someone",
                    after={"grant_scope": ["openid"], "audience": [], "remember_for": 0},
                )
                signed_in.append(1)
            finally:
                connection.close()

        worker = threading.Thread(target=consent)
        worker.start()
        worker.join(timeout=20)
        assert not worker.is_alive(), "a sign-in waited for the sweep"
        return real_list(**kwargs)

    monkeypatch.setattr(hydra, "list_clients", sign_in_meanwhile)
    run = fleet.walk(tenant, source="sweep", records=True, page_size=PAGE)
    assert not run.running and run.done == 120 and len(signed_in) == 3
    assert FindingsSnapshot.objects.get(tenant=tenant, client_id=ids[0]).last_consent_at is not None
