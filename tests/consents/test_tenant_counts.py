"""The tenant's consent counters (TenantScopeCount): kept in step with the client counters, so the overview reads
a handful of rows whatever the number of clients."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import LedgerEntry, ScopeCount, TenantScopeCount
from oauth2_admin.overview import service
from truss import audit


def _decide(tenant, subject, client, scopes):
    audit.record(
        None,
        "bridge.consent.accept",
        tenant=tenant,
        target=client,
        actor=f"identity:{subject}",
        after={"grant_scope": scopes, "audience": []},
    )


def _kept(tenant) -> dict[str, int]:
    return dict(TenantScopeCount.objects.filter(tenant=tenant, people__gt=0).values_list("scope", "people"))


def _summed(tenant) -> dict[str, int]:
    rows = ScopeCount.objects.filter(tenant=tenant).values_list("scope").annotate(n=Sum("people")).order_by()
    return {scope: n for scope, n in rows if n}


def _from_rows(tenant) -> dict[str, int]:
    """Counted from the ledger's active rows themselves."""
    counts: Counter[str] = Counter()
    for scopes in LedgerEntry.objects.filter(tenant=tenant, state="active").values_list("scopes", flat=True):
        counts[ledger.PEOPLE] += 1
        counts.update(set(scopes))
    return dict(counts)


@pytest.mark.django_db
def test_it_moves_the_tenant_counters_with_every_decision_revocation_and_rebuild(tenant, other_tenant):
    _decide(tenant, "s1", "app-1", ["openid", "email"])
    _decide(tenant, "s2", "app-1", ["openid"])
    _decide(tenant, "s1", "app-2", ["openid", "payments"])
    _decide(other_tenant, "s9", "x", ["openid"])
    assert _kept(tenant) == {"": 3, "openid": 3, "email": 1, "payments": 1}
    _decide(tenant, "s2", "app-1", ["openid", "email"])  # scopes changed: openid stays, email joins
    assert _kept(tenant) == {"": 3, "openid": 3, "email": 2, "payments": 1}
    ledger.mark_revoked(tenant, "s1", ["app-1", "app-2"])
    assert _kept(tenant) == {"": 1, "openid": 1, "email": 1} == _summed(tenant) == _from_rows(tenant)
    # Rows imported in bulk (no counters moved), then the client's counters rebuilt from its rows.
    now = timezone.now()
    LedgerEntry.objects.create(
        tenant=tenant,
        client_id="app-2",
        subject="s3",
        state="active",
        scopes=["openid"],
        first_at=now,
        last_at=now,
    )
    ledger.rebuild_counts(tenant, "app-2")
    ledger.rebuild_counts(tenant, "app-1")  # already right: nothing moves
    assert _kept(tenant) == _summed(tenant) == _from_rows(tenant) == {"": 2, "openid": 2, "email": 1}
    assert _kept(other_tenant) == {"": 1, "openid": 1}
    grants = service.scope_grants(tenant)
    assert grants.consents == 2 and [(s.scope, s.grants) for s in grants.scopes] == [
        ("openid", 2),
        ("email", 1),
    ]


@pytest.mark.django_db
def test_it_recounts_the_tenant_counters_from_the_client_counters(tenant):
    ScopeCount.objects.create(tenant=tenant, client_id="a", scope="", people=4)
    ScopeCount.objects.create(tenant=tenant, client_id="b", scope="", people=2)
    ScopeCount.objects.create(tenant=tenant, client_id="b", scope="openid", people=2)
    TenantScopeCount.objects.create(tenant=tenant, scope="stale", people=5)
    ledger.recount_tenant(tenant)
    assert _kept(tenant) == {"": 6, "openid": 2}


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_tenant_counters_exact_under_concurrent_decisions_and_revocations(tenant):
    subjects = [f"s{i:02}" for i in range(24)]
    for subject in subjects[:12]:
        _decide(tenant, subject, f"app-{int(subject[1:]) % 3}", ["openid", "email"])

    def work(subject: str) -> None:
        try:
            n = int(subject[1:])
            if n < 12:
                ledger.mark_revoked(tenant, subject, [f"app-{n % 3}"])
            else:
                _decide(tenant, subject, f"app-{n % 3}", ["openid", f"scope-{n % 2}"])
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, subjects))
    assert LedgerEntry.objects.filter(tenant=tenant, state="revoked").count() == 12
    expected = {"": 12, "openid": 12, "scope-0": 6, "scope-1": 6}
    assert _kept(tenant) == _summed(tenant) == _from_rows(tenant) == expected
