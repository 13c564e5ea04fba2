"""The fleet report never looks current when it is not: a client changed in Hydra behind Truss's back shows
with its new name and score once the snapshot, older than its maximum age, has been checked again by the
report's progress polls, or as soon as a page that reads the client from Hydra has seen it; until then, and
when Hydra cannot be reached to check again, the report says it is old."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from oauth2_admin.clients import service as clients
from oauth2_admin.hygiene import service as hygiene
from oauth2_admin.hygiene.models import SnapshotRefresh, SweepRun
from tests.hygiene.conftest import change_in_hydra
from truss.devstack import free_port

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def report(console: Any) -> str:
    page = console("viewer").get("/console/hygiene/")
    assert page.status_code == 200
    return str(page.content.decode())


def row_of(html: str, client_id: str) -> str:
    """The report's table row of one client."""
    rows = re.findall(r"<tr>.*?</tr>", html, flags=re.S)
    found = [r for r in rows if client_id in r]
    assert len(found) == 1, html
    return str(found[0])


def age_snapshot(tenant: Any, minutes: int = 10) -> None:
    """The snapshot and its last walk, checked `minutes` ago."""
    then = timezone.now() - timedelta(minutes=minutes)
    SnapshotRefresh.objects.filter(tenant=tenant).update(refreshed_at=then)
    SweepRun.objects.filter(tenant=tenant).update(started_at=then, finished_at=then)


def go_bad(ory: Any, client_id: str) -> dict[str, Any]:
    """Renamed and given a plain-http redirect (a high finding) in Hydra directly."""
    return change_in_hydra(
        ory,
        client_id,
        client_name="renamed-behind-truss",
        redirect_uris=["https://app.example.com/cb", "http://app.example.com/cb"],
    )


def test_it_refreshes_a_report_older_than_its_maximum_age(console, make_client, ory, tenant):
    client = make_client()
    assert client.client_name in row_of(report(console), client.client_id)
    go_bad(ory, client.client_id)
    age_snapshot(tenant)
    old = report(console)
    assert "Not current" in old and client.client_name in row_of(old, client.client_id)
    done = console("viewer").get("/console/hygiene/progress", headers={"HX-Request": "true"})
    assert done.status_code == 200 and done["HX-Trigger"] == "hygiene-refreshed"
    row = row_of(report(console), client.client_id)
    assert "renamed-behind-truss" in row and client.client_name not in row
    assert "Plain http redirect URI" in row
    assert "changed outside Truss" in row
    assert SnapshotRefresh.objects.get(tenant=tenant).refreshed_at > timezone.now() - timedelta(minutes=1)


def test_it_updates_the_row_once_the_client_page_has_read_the_changed_client(
    console, make_client, ory, tenant
):
    client = make_client()
    before = report(console)
    assert client.client_name in row_of(before, client.client_id)
    assert "0 high" in before
    go_bad(ory, client.client_id)
    page = console("viewer").get(f"/console/hygiene/clients/{client.client_id}/findings")
    assert page.status_code == 200 and "Plain http redirect URI" in page.content.decode()
    live = hygiene.findings_for(tenant, clients.get_for(tenant, client.client_id))
    html = report(console)  # the snapshot is fresh: no refresh, the client page's read updated the row
    row = row_of(html, client.client_id)
    assert "renamed-behind-truss" in row and client.client_name not in row
    assert f">{hygiene.score(live)}</span>" in row
    assert "changed outside Truss" in row
    assert "1 high" in html


def test_it_says_the_report_is_not_current_when_it_cannot_be_checked(
    console, make_client, ory, tenant, settings
):
    client = make_client()
    report(console)
    age_snapshot(tenant)
    settings.HYDRA_ADMIN_URL = f"http://127.0.0.1:{free_port()}"
    html = report(console)
    assert client.client_name in html
    assert "Not current" in html
    down = console("viewer").get("/console/hygiene/progress", headers={"HX-Request": "true"})
    assert down.status_code == 200 and "Hydra cannot be reached" in down.content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_refreshes_once_when_parallel_polls_find_the_report_old(make_client, tenant, monkeypatch):
    from django.db import connection

    from oauth2_admin.hygiene import freshness, snapshot

    make_client()
    snapshot.refresh(tenant)
    age_snapshot(tenant)
    real, calls = snapshot.refresh, []

    def slow_refresh(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        time.sleep(0.5)  # every other poll arrives while this one lists Hydra
        return real(*args, **kwargs)

    monkeypatch.setattr(snapshot, "refresh", slow_refresh)

    def view(_: int) -> freshness.Freshness:
        try:
            return freshness.advance(tenant)
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        seen = list(pool.map(view, range(6)))
    assert len(calls) == 1
    assert sum(f.refreshed for f in seen) == 1
    assert all(f.refreshing and f.stale for f in seen if not f.refreshed)
    assert freshness.current(tenant).stale is False  # the refresh landed; the lock is gone
