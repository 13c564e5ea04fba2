"""The overview dashboard: client counts per grant, sign-in activity per day from one grouped audit query,
failed flows, recent events; charts as server-rendered SVG with a table; Hydra down is a card state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from oauth2_admin.overview import service
from truss import audit

pytestmark = [pytest.mark.django_db]


def _event(tenant, action, outcome="success", days_ago=0):
    """An event chained through the normal path (which writes the daily rollup the chart reads)."""
    at = datetime.now(UTC) - timedelta(days=days_ago)
    with mock.patch("django.utils.timezone.now", return_value=at):
        return audit.record(None, action, tenant=tenant, outcome=outcome, actor="system", target="c1")


def test_it_counts_sign_ins_and_consent_decisions_per_utc_day_in_one_query_of_the_rollup(
    tenant, other_tenant
):
    for _ in range(3):
        _event(tenant, "bridge.login.accept")
    _event(tenant, "bridge.consent.accept", days_ago=2)
    _event(tenant, "bridge.consent.reject", days_ago=2)
    _event(tenant, "bridge.login.accept", outcome="failure")
    _event(tenant, "bridge.login.accept", days_ago=20)  # outside the window
    _event(other_tenant, "bridge.login.accept")  # another tenant's
    with CaptureQueriesContext(connection) as queries:
        data = service.activity(tenant)
    assert len(queries) == 1
    assert data["totals"] == {"sign-ins": 3, "consents given": 1, "consents refused": 1}
    assert data["failed"] == 1 and len(data["table"]) == service.DAYS
    assert data["table"][-1]["values"] == [3, 0, 0] and data["table"][-3]["values"] == [0, 1, 1]
    tallest = max(data["bars"], key=lambda b: b["h"])
    assert tallest["h"] == 100 and tallest["value"] == 3


def test_it_counts_what_the_metrics_count_as_bridge_steps(tenant):
    _event(tenant, "bridge.consent.view", outcome="denied")  # a refused consent screen: a consent refused
    _event(tenant, "bridge.login.reject")  # the person was not signed in (prompt=none): denied, not a sign-in
    _event(tenant, "bridge.device.accept", outcome="denied")
    _event(tenant, "bridge.consent.accept", outcome="failure")
    _event(
        tenant, "bridge.claims.update", outcome="failure"
    )  # an operator's action, not a step of the bridge
    _event(tenant, "bridge.check.run", outcome="failure")
    data = service.activity(tenant)
    assert data["totals"] == {"sign-ins": 0, "consents given": 0, "consents refused": 1}
    assert data["failed"] == 1 and data["denied"] == 2


def test_it_says_clients_are_unavailable_when_hydra_is_down_and_still_renders(console, tenant, hydra_down):
    _event(tenant, "bridge.login.accept")
    response = console("viewer").get(reverse("console:overview"))
    body = response.content.decode()
    assert response.status_code == 200 and "client counts return with it" in body
    assert (
        'data-testid="activity-chart"' in body and '<desc id="activity-desc">Bar chart of 1 sign-ins' in body
    )
    assert "bridge.login.accept" in body  # recent events


@pytest.mark.integration
def test_it_counts_the_tenants_clients_per_grant(ory, tenant, other_tenant, make_hydra_client, console):
    make_hydra_client(owner=tenant.hydra_owner)
    make_hydra_client(
        owner=tenant.hydra_owner,
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        redirect_uris=["https://a.example.com/cb"],
    )
    make_hydra_client(owner=other_tenant.hydra_owner)
    stats = service.client_stats(tenant)
    assert stats.total == 2 and dict(stats.by_grant) == {
        "client_credentials": 1,
        "authorization_code": 1,
        "refresh_token": 1,
    }
    body = console("viewer").get(reverse("console:overview")).content.decode()
    assert 'data-testid="client-count">2<' in body


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_overview_and_new_devtools_pages_render_without_csp_violations_and_pass_axe(
    page, ory, signed_in_as, make_operator, tenant, make_hydra_client
):
    from tests.bridge.test_browser import assert_accessible

    make_hydra_client(owner=tenant.hydra_owner)
    _event(tenant, "bridge.login.accept")
    csp: list[str] = []
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
    signed_in_as(make_operator(tenant, "member", username="otto"), landing="[data-testid=activity-chart]")
    assert page.locator("[data-testid=activity-chart] rect.bar").count() == 3 * service.DAYS
    assert page.inner_text("[data-testid=client-count]") == "1"
    assert_accessible(page)
    for label, ready in (
        ("SDK snippets", "#client-snippets"),
        ("Discovery", "#discovery-json"),
        ("Flow tester", "#cc-title"),
    ):
        page.click(f"nav >> text={label}")
        page.wait_for_selector(ready)
        assert_accessible(page)
    assert csp == []


def test_key_status_says_unavailable_when_hydra_is_down(console, hydra_down):
    body = console("viewer").get(reverse("console:overview")).content.decode()
    assert 'data-testid="key-status"' in body and "key status returns with it" in body
    assert service.key_status() is None


@pytest.mark.integration
def test_key_status_shows_signing_key_age_and_the_staged_rotation(ory, console):
    from oauth2_admin.keys import service as keys
    from oauth2_admin.keys.models import KeyRecord, Rotation

    signer = keys.key_set(keys.ID_TOKEN_SET).signer
    record = KeyRecord.objects.create(set_id=keys.ID_TOKEN_SET, kid=signer.kid, algorithm=signer.alg)
    KeyRecord.objects.filter(pk=record.pk).update(created_at=datetime.now(UTC) - timedelta(days=3, hours=1))
    Rotation.objects.create(
        set_id=keys.ID_TOKEN_SET,
        holding_set="truss.next.x",
        next_kid="next-kid-1",
        algorithm="RS256",
        old_kids=[signer.kid],
        cache_window_seconds=3600,
        published_at=datetime.now(UTC),
    )
    status = {s.set_id: s for s in service.key_status()}
    id_set = status[keys.ID_TOKEN_SET]
    assert id_set.kid == signer.kid and id_set.created_at is not None
    assert id_set.rotation is not None and id_set.next_step.startswith("Promote after")
    assert status[keys.ACCESS_TOKEN_SET].rotation is None

    body = console("viewer").get(reverse("console:overview")).content.decode()
    assert signer.kid in body and "3\xa0days" in body
    assert "Published, not signing" in body and "next-kid-1 starts signing" in body
    access = status[keys.ACCESS_TOKEN_SET]  # Hydra made this set itself, before Truss kept a record of it
    assert access.exists and access.created_at is None, access
    assert "created before Truss: age unknown" in body
    assert "none in progress" in body  # the access-token set has no rotation
