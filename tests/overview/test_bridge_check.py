"""The operators' bridge check on the console overview: a real walk through Hydra, rate-limited, audited,
and leaving no session behind for the probe subject."""

from __future__ import annotations

import uuid

import pytest

from truss import bridge_check
from truss.models import AuditEvent
from truss.ory import hydra

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(ory, live_server, settings, tenant, make_hydra_client):
    """Truss live where the test Hydra sends browsers, and one authorization-code client of the tenant."""
    settings.TRUSS_PUBLIC_URL = live_server.url
    bridge_check.clear_cache()
    make_hydra_client(
        client_name=f"Probe target {uuid.uuid4().hex[:4]}",
        grant_types=["authorization_code"],
        response_types=["code"],
        redirect_uris=["http://127.0.0.1:65531/callback"],
        token_endpoint_auth_method="none",
        owner=tenant.hydra_owner,
    )
    yield
    bridge_check.clear_cache()


def test_it_walks_the_flow_for_operators_and_leaves_no_sessions_behind(world, console, tenant):
    member = console("member")
    response = member.post("/console/bridge-check/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200 and 'id="bridge-check"' in body and "<html" not in body
    assert "all checks passed" in body, body
    result = bridge_check.last_deep(tenant)
    assert result is not None and result["ok"] is True
    assert {name: check["ok"] for name, check in result["hydra_urls"].items()} == {
        "login": True,
        "consent": True,
        "logout": True,
        "error": True,
        "post_logout_redirect": True,
        "cleanup": True,
    }
    assert hydra.list_consent_sessions(bridge_check.PROBE_SUBJECT) == []
    event = AuditEvent.objects.get(tenant=tenant, action="bridge.check.run")
    assert (event.outcome, event.after) == ("success", {"ok": True}) and event.actor.startswith("user:op-")


def test_it_runs_at_most_once_per_window_and_shows_the_last_result(world, console, tenant):
    admin = console("admin")
    admin.post("/console/bridge-check/", HTTP_HX_REQUEST="true")
    again = admin.post("/console/bridge-check/", HTTP_HX_REQUEST="true").content.decode()
    assert "showing the last result" in again and "all checks passed" in again
    assert AuditEvent.objects.filter(action="bridge.check.run").count() == 1
    overview = admin.get("/console/").content.decode()
    assert "all checks passed" in overview and "Check the bridge now" in overview


def test_it_is_for_operators_only(world, console, client):
    assert console("viewer").post("/console/bridge-check/").status_code == 403
    anonymous = client.post("/console/bridge-check/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert "Check the bridge now" not in console("viewer").get("/console/").content.decode()
    assert not AuditEvent.objects.filter(action="bridge.check.run", outcome="success").exists()


def test_it_notices_hydra_sending_browsers_elsewhere(world, settings, tenant):
    settings.TRUSS_PUBLIC_URL = "http://127.0.0.1:9"  # what Truss thinks its URL is; Hydra disagrees
    result = bridge_check.compute_deep(tenant)
    login = result["hydra_urls"]["login"]
    assert result["ok"] is False and login["ok"] is False and "instead" in login["detail"]
    assert result["hydra_urls"]["cleanup"]["ok"] is True
