"""The fleet report and the findings API do not grow with the tenant's fleet: an old report is shown at once,
without listing Hydra, and its progress fragment walks Hydra's listing a small page per poll until the report is
current again (then the page reloads its results); GET /findings reads the snapshot a page at a time."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from oauth2_admin.hygiene import freshness, snapshot
from oauth2_admin.hygiene.models import SnapshotRefresh, SweepRun
from tests.fixtures.ory import client_lists
from tests.hygiene.test_sweep_scale import PAGE, fleet_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HTMX = {"HX-Request": "true"}


def age(tenant: Any, minutes: int = 10) -> None:
    """The snapshot and its last walk, checked `minutes` ago."""
    then = timezone.now() - timedelta(minutes=minutes)
    SnapshotRefresh.objects.filter(tenant=tenant).update(refreshed_at=then)
    SweepRun.objects.filter(tenant=tenant).update(started_at=then, finished_at=then)


def poll(viewer: Any) -> Any:
    response = viewer.get("/console/hygiene/progress", headers=HTMX)
    assert response.status_code == 200
    return response


def test_it_shows_an_old_report_at_once_without_listing_hydra(console, ory, tenant, ory_sent):
    ids = fleet_of(ory, tenant, 3)
    viewer = console("viewer")
    assert viewer.get("/console/hygiene/").status_code == 200  # the first view walks the (one page) fleet
    age(tenant)
    ory_sent.clear()
    html = viewer.get("/console/hygiene/").content.decode()
    assert client_lists(ory_sent) == [] and ory_sent == []
    assert "Not current" in html and all(i in html for i in ids)
    assert 'hx-get="/console/hygiene/progress"' in html and 'hx-trigger="load delay:1s"' in html
    assert SnapshotRefresh.objects.get(tenant=tenant).refreshed_at < timezone.now() - timedelta(minutes=5)


def test_it_walks_a_page_per_progress_poll_and_reloads_the_results_when_done(
    console, ory, tenant, ory_sent, monkeypatch
):
    fleet_of(ory, tenant, 120)
    monkeypatch.setattr(snapshot, "PAGE_SIZE", PAGE)
    monkeypatch.setattr(freshness, "POLL_PAGE", PAGE)
    viewer = console("viewer")
    first = viewer.get("/console/hygiene/").content.decode()  # no snapshot yet: one page walked now
    assert len(client_lists(ory_sent)) == 1
    assert "Checking against Hydra (first view): 50 of about 50 clients" in first
    assert 'hx-get="/console/hygiene/progress"' in first

    ory_sent.clear()
    second = poll(viewer)
    assert [p.get("page_size") for p in client_lists(ory_sent)] == [PAGE]
    assert "100 of about 100 clients" in second.content.decode() and "HX-Trigger" not in second
    assert 'hx-trigger="load delay:1s"' in second.content.decode()

    ory_sent.clear()
    last = poll(viewer)
    assert len(client_lists(ory_sent)) == 1
    assert last["HX-Trigger"] == "hygiene-refreshed"
    body = last.content.decode()
    assert "Checked against Hydra just now: 120 clients" in body and "hx-get" not in body
    assert SnapshotRefresh.objects.get(tenant=tenant).clients == 120

    ory_sent.clear()
    again = poll(viewer)  # current: nothing to walk, no more polling
    assert ory_sent == [] and "hx-get" not in again.content.decode() and "HX-Trigger" not in again

    results = viewer.get("/console/hygiene/", headers={**HTMX, "HX-Target": "hygiene-results"})
    html = results.content.decode()
    assert html.lstrip().startswith('<div id="hygiene-results"') and "<table>" in html
    assert "Not current" not in html and "120 clients" in html and "/console/hygiene/progress" not in html


def test_it_goes_on_with_an_old_report_from_the_polls_and_says_when_hydra_is_down(
    console, ory, tenant, ory_sent, settings
):
    fleet_of(ory, tenant, 3)
    viewer = console("viewer")
    viewer.get("/console/hygiene/")
    age(tenant)
    settings.HYDRA_ADMIN_URL = "http://127.0.0.1:9"  # nothing listens there
    down = poll(viewer).content.decode()
    assert "Hydra cannot be reached" in down and 'hx-trigger="load delay:10s"' in down
    settings.HYDRA_ADMIN_URL = ory.hydra_admin_url
    ory_sent.clear()
    done = poll(viewer)
    assert len(client_lists(ory_sent)) == 1 and done["HX-Trigger"] == "hygiene-refreshed"
    assert SnapshotRefresh.objects.get(tenant=tenant).refreshed_at > timezone.now() - timedelta(minutes=1)


def test_it_walks_a_page_for_a_link_without_htmx_and_shows_the_report(console, ory, tenant, ory_sent):
    fleet_of(ory, tenant, 2)
    viewer = console("viewer")
    viewer.get("/console/hygiene/")
    age(tenant)
    ory_sent.clear()
    response = viewer.get("/console/hygiene/progress")
    assert response.status_code == 302 and response["Location"] == "/console/hygiene/"
    assert len(client_lists(ory_sent)) == 1
    assert "Not current" not in viewer.get("/console/hygiene/").content.decode()


# --- GET /findings, a page at a time -------------------------------------------------------------------------


def pages(api_get: Any, page_size: int) -> list[dict[str, Any]]:
    out, token = [], None
    while True:
        params: dict[str, Any] = {"page_size": page_size, **({"page_token": token} if token else {})}
        response = api_get(params)
        assert response.status_code == 200, response.content
        out.append(response.json())
        token = out[-1]["next_page_token"]
        if token is None:
            return out
        assert len(out) < 20


def getter(tenant: Any, make_api_key: Any) -> Any:
    key = {"apikey": make_api_key(tenant)}
    return lambda params: Client().get("/v1/oauth2/findings", params, headers=key)


def test_it_pages_the_findings_api_over_the_snapshot_only(ory, tenant, make_api_key, ory_sent):
    ids = fleet_of(ory, tenant, 7)
    snapshot.refresh(tenant)
    ory_sent.clear()
    got = pages(getter(tenant, make_api_key), 3)
    assert [len(p["items"]) for p in got] == [3, 3, 1]
    seen = [item["client_id"] for p in got for item in p["items"]]
    assert seen == sorted(ids)  # every client exactly once, in client id order
    assert all(p["total"] == 7 and p["stale"] is False and p["as_of"] for p in got)
    assert got[0]["counts"] == got[-1]["counts"] and sum(got[0]["counts"].values()) > 0
    assert ory_sent == []  # the snapshot only: no Hydra call
    assert len(pages(getter(tenant, make_api_key), 7)) == 1


def test_it_says_the_findings_are_stale_and_never_walks_hydra_for_them(ory, tenant, make_api_key, ory_sent):
    fleet_of(ory, tenant, 2)
    get = getter(tenant, make_api_key)
    never = get({}).json()  # never checked against Hydra: nothing walked now
    assert never["items"] == [] and never["as_of"] is None and never["stale"] is True
    assert client_lists(ory_sent) == []
    snapshot.refresh(tenant)
    age(tenant)
    ory_sent.clear()
    old = get({}).json()
    assert len(old["items"]) == 2 and old["stale"] is True and old["as_of"]
    assert ory_sent == []


def test_it_refuses_bad_and_foreign_page_tokens(ory, tenant, other_tenant, make_api_key):
    fleet_of(ory, tenant, 3)
    fleet_of(ory, other_tenant, 3)
    snapshot.refresh(tenant)
    snapshot.refresh(other_tenant)
    mine, theirs = getter(tenant, make_api_key), getter(other_tenant, make_api_key)
    foreign = theirs({"page_size": 1}).json()["next_page_token"]
    assert foreign
    own = mine({"page_size": 1}).json()["next_page_token"]
    tampered = own[:-2] + ("AA" if not own.endswith("AA") else "BB")
    for bad in (foreign, "garbage", tampered):
        response = mine({"page_token": bad})
        assert response.status_code == 400, bad
        assert response.json()["error"] == "invalid_request" and "page_token" in response.json()["fields"]
    for size in (0, 501, "x"):
        response = mine({"page_size": size})
        assert response.status_code == 400 and "page_size" in str(response.json()["fields"])
    assert len(mine({"page_size": 500}).json()["items"]) == 3


def test_it_pages_the_session_mount_too(console, ory, tenant):
    fleet_of(ory, tenant, 3)
    snapshot.refresh(tenant)
    viewer = console("viewer")
    first = viewer.get("/api/hydra/findings", {"page_size": 2}).json()
    rest = viewer.get("/api/hydra/findings", {"page_token": first["next_page_token"]}).json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1 and rest["next_page_token"] is None
    assert re.fullmatch(r"[\w:.-]+", first["next_page_token"])
