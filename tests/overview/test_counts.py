"""The overview's numbers stay flat as data grows: clients from the tenant's stored counts (counted in Hydra once,
then kept by Truss's writes and the sweeps), never by listing the fleet on a page view; consents per scope summed
from the ledger's counters, titled from the tenant's scope catalogue."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from oauth2_admin.clients import counts
from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import ScopeCount
from oauth2_admin.overview import service
from oauth2_admin.scopes.models import Scope
from tests.fixtures.ory import client_lists
from truss import caching
from truss.models import ClientCount

pytestmark = [pytest.mark.django_db]


@pytest.mark.integration
def test_it_counts_a_tenant_in_hydra_once_then_never_lists_its_clients_on_a_page_view(
    ory, tenant, other_tenant, make_hydra_client, console, ory_sent, settings
):
    for i in range(7):
        make_hydra_client(owner=tenant.hydra_owner, client_name=f"m{i}")
    make_hydra_client(
        owner=tenant.hydra_owner,
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        redirect_uris=["https://a.example.com/cb"],
    )
    make_hydra_client(owner=other_tenant.hydra_owner)
    monkeypatched = counts.FIRST_COUNT_PAGE
    counts.FIRST_COUNT_PAGE = 3  # several pages, streamed
    try:
        body = console("viewer").get(reverse("console:overview")).content.decode()
    finally:
        counts.FIRST_COUNT_PAGE = monkeypatched
    first = client_lists(ory_sent)
    assert len(first) == 3 and all(p["owner"] == tenant.hydra_owner for p in first)  # 8 clients, 3 a page
    assert 'data-testid="client-count">8<' in body and "Counted in Hydra" in body
    row = ClientCount.objects.get(tenant=tenant)
    assert (row.total, row.by_grant) == (
        8,
        {"authorization_code": 1, "client_credentials": 7, "refresh_token": 1},
    )
    assert row.reconciled_at is not None

    ory_sent.clear()
    settings.SHARED_CACHE = True  # the demo client's lookup is cached (Redis in production)
    cache.clear()  # no tombstone left by an earlier test's write for a tenant with the same id
    for role in ("viewer", "member", "member"):
        body = console(role).get(reverse("console:overview")).content.decode()
        assert 'data-testid="client-count">8<' in body
    assert client_lists(ory_sent) == []  # no demo client to look for outside the demo tenant; nothing listed


@pytest.mark.integration
def test_it_never_lists_the_fleet_on_a_page_view_without_a_shared_cache(
    ory, tenant, console, ory_sent, settings
):
    settings.SHARED_CACHE = False
    counts.reconcile(tenant, 10_000, {"client_credentials": 10_000})
    for role in ("viewer", "member"):
        body = console(role).get(reverse("console:overview")).content.decode()
        assert 'data-testid="client-count">10000<' in body
    # At most the demo client's lookup: filtered by exact name, one short page.
    assert all(p.get("client_name") == "Demo web app" and p["page_size"] <= 5 for p in client_lists(ory_sent))
    assert len(client_lists(ory_sent)) <= 1


def test_it_shows_the_stored_counts_while_hydra_is_down(tenant, console, hydra_down):
    counts.reconcile(tenant, 12, {"client_credentials": 12})
    body = console("viewer").get(reverse("console:overview")).content.decode()
    assert 'data-testid="client-count">12<' in body and "client counts return with it" not in body
    assert 'data-testid="client-counted">Counted in Hydra <time' in body


def test_it_says_no_data_for_a_tenant_never_counted_while_hydra_is_down(tenant, console, hydra_down):
    body = console("viewer").get(reverse("console:overview")).content.decode()
    assert "client counts return with it" in body and not ClientCount.objects.exists()


def test_it_shows_counting_while_another_request_counts_first(tenant, console):
    cache.add(caching.client_count_lock_key(tenant.pk), 1, 60)
    try:
        stats = service.client_stats(tenant)
        body = console("viewer").get(reverse("console:overview")).content.decode()
    finally:
        cache.delete(caching.client_count_lock_key(tenant.pk))
    assert stats is not None and stats.counting
    assert 'data-testid="client-counting"' in body and not ClientCount.objects.exists()


def test_it_sums_consents_per_scope_over_the_tenants_clients(tenant, other_tenant, console):
    Scope.objects.create(tenant=tenant, name="payments", title_en="Make payments", description_en="Pay.")
    rows = [
        ("app-1", "", 5),
        ("app-1", "openid", 5),
        ("app-1", "payments", 2),
        ("app-2", "", 3),
        ("app-2", "openid", 3),
        ("app-2", "payments", 1),
        ("app-2", "email", 0),  # no one any more
    ]
    for client_id, scope, people in rows:
        ScopeCount.objects.create(tenant=tenant, client_id=client_id, scope=scope, people=people)
    ScopeCount.objects.create(tenant=other_tenant, client_id="x", scope="openid", people=99)
    ledger.recount_tenant(tenant)
    ledger.recount_tenant(other_tenant)
    grants = service.scope_grants(tenant)
    assert grants.consents == 8 and grants.more == 0
    assert [(s.scope, s.title, s.grants) for s in grants.scopes] == [
        ("openid", "", 8),
        ("payments", "Make payments", 3),
    ]
    body = console("viewer").get(reverse("console:overview")).content.decode()
    card = body[body.index('data-testid="scope-grants"') :]
    assert '<code>payments</code> <span class="muted">Make payments</span></th><td>3</td>' in card
    assert "99" not in card[: card.index("</section>")]


def test_it_shows_at_most_the_most_granted_scopes(tenant):
    for i in range(service.MAX_SCOPES + 3):
        ScopeCount.objects.create(tenant=tenant, client_id="app", scope=f"s{i:02}", people=100 - i)
    ledger.recount_tenant(tenant)
    grants = service.scope_grants(tenant)
    assert len(grants.scopes) == service.MAX_SCOPES and grants.more == 3
    assert grants.scopes[0].scope == "s00"
