"""The findings snapshot behind the report: Truss's writes show at once (no Hydra listing), thresholds re-score,
deletions disappear, changes made in Hydra directly show after the drift sweep or "Refresh now", and the
time-dependent rules are judged when the report is read."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from oauth2_admin.hygiene import service as hygiene
from oauth2_admin.hygiene import snapshot
from oauth2_admin.hygiene.models import FindingsSnapshot, SnapshotRefresh
from tests.hygiene.conftest import change_in_hydra
from truss import audit
from truss.devstack import free_port
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

THRESHOLDS = {
    "secret_max_age_days": "180",
    "idle_days": "90",
    "max_access_token_seconds": "3600",
    "max_jwt_access_token_seconds": "900",
    "max_refresh_token_seconds": "2592000",
    "own_hosts_text": "",
}


@pytest.fixture
def no_listing(monkeypatch: pytest.MonkeyPatch, tenant: Any) -> None:
    """The snapshot built once (empty); from here on, any full Hydra listing fails the test: clients made later
    reach the report through the audit receiver only."""
    snapshot.refresh(tenant)

    def refuse(**params: Any) -> Any:
        raise AssertionError("the report listed every client in Hydra")

    monkeypatch.setattr(hydra, "list_clients", refuse)


def report(console: Any, **params: str) -> str:
    page = console("viewer").get("/console/hygiene/", params)
    assert page.status_code == 200
    return str(page.content.decode())


def test_it_shows_a_write_through_the_client_api_at_once(console, make_client, api, monkeypatch):
    first = make_client()
    assert first.client_name in report(console)  # the first view builds the snapshot from Hydra, once
    assert SnapshotRefresh.objects.count() == 1
    monkeypatch.setattr(hydra, "list_clients", lambda **params: pytest.fail("listed Hydra"))
    second = make_client()  # created after the snapshot: the audit receiver adds it
    patch = [{"op": "replace", "path": "/token_endpoint_auth_method", "value": "client_secret_post"}]
    response = api.call(
        "PATCH", f"/clients/{first.client_id}", patch, headers={"Content-Type": "application/json-patch+json"}
    )
    assert response.status_code == 200, response.content
    flagged = report(console, rule="client-secret-post")
    assert first.client_name in flagged and second.client_name not in flagged
    assert second.client_name in report(console)
    row = next(r for r in api.call("GET", "/findings").json()["items"] if r["client_id"] == first.client_id)
    assert row["score"] == 96 and [f["rule"] for f in row["findings"]] == ["client-secret-post"]


def test_it_rescores_when_the_thresholds_change(console, make_client, no_listing):
    clean = make_client()  # 1800 s access tokens
    assert clean.client_name not in report(console, rule="access-token-lifespan")
    saved = console("admin").post(
        "/console/hygiene/thresholds", {**THRESHOLDS, "max_access_token_seconds": "600"}
    )
    assert saved.status_code == 302
    assert clean.client_name in report(console, rule="access-token-lifespan")
    console("admin").post("/console/hygiene/thresholds", THRESHOLDS)
    assert clean.client_name not in report(console, rule="access-token-lifespan")


def test_it_drops_a_deleted_client(console, make_client, api, no_listing):
    gone, kept = make_client(), make_client()
    assert api.call("DELETE", f"/clients/{gone.client_id}").status_code in (200, 204)
    html = report(console)
    assert gone.client_name not in html and kept.client_name in html
    assert gone.client_id not in api.call("GET", "/findings").content.decode()
    assert not FindingsSnapshot.objects.filter(client_id=gone.client_id).exists()


def test_it_shows_a_change_made_in_hydra_after_the_sweep_or_a_refresh(console, make_client, ory, tenant):
    client = make_client()
    assert client.client_name in report(console)
    change_in_hydra(ory, client.client_id, token_endpoint_auth_method="client_secret_post")
    assert client.client_name not in report(
        console, rule="client-secret-post"
    )  # not seen yet: as of the snapshot
    call_command("sweep_drift", "--tenant", tenant.slug, stdout=StringIO())
    html = report(console, rule="client-secret-post")
    assert client.client_name in html and "changed outside Truss" in html
    change_in_hydra(
        ory,
        client.client_id,
        skip_consent=True,
        redirect_uris=["https://app.example.com/cb", "https://elsewhere.example/cb"],
    )
    assert client.client_name not in report(console, rule="skip-consent-foreign")
    assert console("viewer").post("/console/hygiene/refresh").status_code == 403
    assert console("member").post("/console/hygiene/refresh").status_code == 302
    assert client.client_name in report(console, rule="skip-consent-foreign")


def test_it_judges_secret_age_and_idle_when_read(make_client, tenant):
    client = make_client()
    snapshot.refresh(tenant)
    now = timezone.now()

    def hits(rule: str, at: Any) -> list[str]:
        return [r.client_id for r in snapshot.select(snapshot.read_time(tenant, now=at), rule=rule)]

    assert client.client_id not in hits("secret-age", now) and client.client_id not in hits(
        "idle-client", now
    )
    later = now + timedelta(days=200)  # the same stored row, read 200 days on
    assert client.client_id in hits("secret-age", later) and client.client_id in hits("idle-client", later)
    row = snapshot.rows(tenant, snapshot.select(snapshot.read_time(tenant, now=later)), now=later)
    mine = next(r for r in row if r.client_id == client.client_id)
    assert {f.rule for f in mine.findings} == {"secret-age", "idle-client"} and mine.score == 100 - 12 - 4


def test_it_follows_consents_and_rotations_also_through_the_outbox(make_client, tenant):
    client = make_client()
    snapshot.refresh(tenant)
    audit.record(
        None, hygiene.CONSENT_ACTION, tenant=tenant, target=client.client_id, actor="identity:x", soon=True
    )
    assert FindingsSnapshot.objects.get(client_id=client.client_id).last_consent_at is None
    audit.drain_outbox()
    assert FindingsSnapshot.objects.get(client_id=client.client_id).last_consent_at is not None


def test_it_serves_the_report_from_the_snapshot_while_hydra_is_down(console, make_client, tenant, settings):
    client = make_client()
    snapshot.refresh(tenant)
    settings.HYDRA_ADMIN_URL = f"http://127.0.0.1:{free_port()}"
    assert client.client_name in report(console)
    assert console("member").post("/console/hygiene/refresh").status_code == 503


def test_it_never_breaks_the_audit_write(make_client, tenant, monkeypatch):
    client = make_client()
    monkeypatch.setattr(snapshot, "store", lambda *a, **k: 1 / 0)
    event = audit.record(
        None,
        "oauth2.client.update",
        tenant=tenant,
        target=client.client_id,
        after={"client_id": client.client_id, "grant_types": []},
    )
    assert event.pk is not None  # the receiver logged and swallowed the error
