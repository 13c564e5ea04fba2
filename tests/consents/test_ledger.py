"""The consent ledger: fed by the bridge's audit events; the client's "People who authorised it" page."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import LedgerEntry, ScopeCount
from truss import audit


def _decide(
    tenant, subject, client="app-1", action="bridge.consent.accept", outcome="success", after=None, detail=""
):
    return audit.record(
        None,
        action,
        tenant=tenant,
        target=client,
        actor=f"identity:{subject}",
        outcome=outcome,
        after=after,
        detail=detail,
    )


def _people(tenant, client="app-1", scope=ledger.PEOPLE):
    row = ScopeCount.objects.filter(tenant=tenant, client_id=client, scope=scope).first()
    return row.people if row else 0


@pytest.mark.django_db
def test_it_records_each_decision_as_one_row_per_person_with_counts(tenant, other_tenant):
    _decide(tenant, "s1", after={"grant_scope": ["openid", "email"], "audience": [], "remember_for": 3600})
    entry = LedgerEntry.objects.get(tenant=tenant, subject="s1")
    assert (entry.decision, entry.state, entry.scopes, entry.remembered) == (
        "accepted",
        "active",
        ["openid", "email"],
        True,
    )
    assert entry.remember_until is not None and entry.remember_until - entry.last_at == dt.timedelta(hours=1)
    _decide(tenant, "s1", after={"decision": "remembered", "grant_scope": ["openid", "email"]})
    _decide(tenant, "s1", action="bridge.consent.reject", after={"requested_scope": ["openid"]})
    entry.refresh_from_db()
    assert (entry.decision, entry.state, entry.granted_count, entry.denied_count) == (
        "denied",
        "active",
        2,
        1,
    )
    assert entry.remembered  # a remembered skip keeps the earlier window

    _decide(
        tenant,
        "s2",
        after={"decision": "skipped", "grant_scope": ["openid"], "remember_for": None},
    )
    _decide(tenant, "s3", action="bridge.consent.reject")
    _decide(tenant, "s4", outcome="failure", after={"grant_scope": ["openid"]})  # failures are not decisions
    audit.record(None, "bridge.consent.accept", tenant=tenant, target="app-1", actor="anonymous")
    _decide(other_tenant, "s1", after={"grant_scope": ["openid"]})
    assert LedgerEntry.objects.filter(tenant=tenant).count() == 3
    assert LedgerEntry.objects.get(subject="s2", tenant=tenant).decision == "skipped"
    assert LedgerEntry.objects.get(subject="s3").state == "denied"
    assert (_people(tenant), _people(tenant, scope="openid"), _people(tenant, scope="email")) == (2, 2, 1)

    assert ledger.mark_revoked(tenant, "s1", ["app-1"]) == 1
    assert (_people(tenant), _people(tenant, scope="email")) == (1, 0)
    _decide(tenant, "s1", after={"grant_scope": ["openid", "profile"]})
    assert (_people(tenant), _people(tenant, scope="profile"), _people(tenant, scope="email")) == (2, 1, 0)
    assert _people(other_tenant) == 1


def seed(tenant, client_id, n, *, scopes=("openid", "email")):
    """n ledger rows straight into the table (what n consents through the bridge would leave)."""
    now = timezone.now()
    rows = [
        LedgerEntry(
            tenant=tenant,
            client_id=client_id,
            subject=str(uuid.uuid4()),
            decision="accepted",
            state="active",
            scopes=list(scopes) if i % 4 else ["openid"],
            first_at=now,
            last_at=now - dt.timedelta(seconds=i),
            granted_count=1,
        )
        for i in range(n)
    ]
    LedgerEntry.objects.bulk_create(rows, batch_size=2000)
    ledger.rebuild_counts(tenant, client_id)
    return rows


@pytest.mark.integration
@pytest.mark.django_db
def test_it_answers_who_authorised_a_client_for_1000_people_in_one_page_load(
    console, tenant, other_tenant, make_app, django_assert_max_num_queries
):
    app = make_app(tenant, client_name="Big App")
    rows = seed(tenant, app["client_id"], 1000)
    seed(other_tenant, app["client_id"], 5)  # same id under another tenant never shows
    viewer = console("viewer")
    with django_assert_max_num_queries(12):
        page = viewer.get(f"/console/consents/clients/{app['client_id']}/?per_page=1000")
    html = page.content.decode()
    assert page.status_code == 200 and "People who authorised Big App" in html
    assert '<span id="people-count">1000</span>' in html
    assert all(r.subject in html for r in rows)
    assert html.count("/console/consents/people/") == 1000
    assert "<td>750</td>" in html  # email: 3 of every 4

    first = viewer.get(f"/console/consents/clients/{app['client_id']}/?per_page=10")
    cursor = first.content.decode().split("cursor=")[1].split('"')[0].replace("&amp;", "&")
    from urllib.parse import unquote

    second = viewer.get(
        f"/console/consents/clients/{app['client_id']}/", {"per_page": 10, "cursor": unquote(cursor)}
    )
    assert rows[10].subject in second.content.decode() and rows[9].subject not in second.content.decode()
    assert viewer.get(f"/console/consents/clients/{app['client_id']}/?cursor=garbage").status_code == 400
    search = viewer.get(f"/console/consents/clients/{app['client_id']}/", {"q": rows[500].subject[:13]})
    assert rows[500].subject in search.content.decode()

    export = viewer.get(f"/console/consents/clients/{app['client_id']}/people.csv")
    assert export.streaming and export["Content-Type"].startswith("text/csv")
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert len(lines) == 1001 and lines[0].startswith("subject,state,decision")

    # Another tenant's client: 404, like a missing one.
    theirs = make_app(other_tenant)
    assert viewer.get(f"/console/consents/clients/{theirs['client_id']}/").status_code == 404
    assert viewer.get(f"/console/consents/clients/{theirs['client_id']}/people.csv").status_code == 404


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_reconciles_the_ledger_with_hydra(tenant, make_app, grant, make_identity, capsys):
    app = make_app(tenant)
    kept = make_identity()
    grant(app, kept["id"])
    seed(tenant, app["client_id"], 3)  # Hydra has none of these
    LedgerEntry.objects.create(
        tenant=tenant,
        client_id=app["client_id"],
        subject=kept["id"],
        decision="accepted",
        state="gone",
        scopes=["openid"],
        first_at=timezone.now(),
        last_at=timezone.now(),
    )
    call_command("reconcile_consents", "--tenant", tenant.slug)
    assert "4 people: 3 consents gone from Hydra, 1 back" in capsys.readouterr().out
    assert LedgerEntry.objects.get(subject=kept["id"]).state == "active"
    assert LedgerEntry.objects.filter(state="gone").count() == 3
    assert _people(tenant, app["client_id"]) == 1
