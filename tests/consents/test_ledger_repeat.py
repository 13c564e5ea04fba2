"""The ledger's fast path: a consent Hydra skipped on an unchanged active row is two written-out statements, and
leaves every column exactly as the ORM path does; every other decision still takes the ORM path."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import LedgerEntry, ScopeCount
from truss.audit import ConsentDecision
from truss.models import AuditEvent, Tenant

pytestmark = pytest.mark.django_db

CLIENT, SUBJECT = "app-1", "5f0c6a8e-1f7e-4d0b-9a51-2c1d9e0b7a33"
SCOPES = {"grant_scope": ["openid", "email"], "audience": []}
# What the bridge writes into an accept event (after["decision"]); events of the previous release said it in
# their detail only.
ACCEPTED, REMEMBERED, SKIPPED = (
    {**SCOPES, "decision": d}
    for d in (ConsentDecision.ACCEPTED, ConsentDecision.REMEMBERED, ConsentDecision.SKIPPED)
)
LEGACY_REMEMBERED, LEGACY_SKIP_CONSENT = "skipped: remembered", "skipped: client.skip_consent"


def event(
    tenant: Tenant, when: dt.datetime, *, detail: str = "", after: Any = None, reject: bool = False
) -> AuditEvent:
    """A successful bridge consent decision, as the drainer hands it to the receiver."""
    return AuditEvent(
        tenant_id=tenant.pk,
        action=ledger.REJECT if reject else ledger.ACCEPT,
        detail=detail,
        outcome=AuditEvent.Outcome.SUCCESS,
        actor=f"{ledger.IDENTITY_PREFIX}{SUBJECT}",
        target=CLIENT,
        after=(SCOPES if reject else ACCEPTED) if after is None else after,
        created_at=when,
    )


def raw_row(tenant: Tenant) -> dict[str, Any]:
    """The row as the database holds it (JSON text, datetimes as stored), without its id and tenant."""
    q, meta = connection.ops.quote_name, LedgerEntry._meta
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {q(meta.db_table)} WHERE tenant_id = %s", [tenant.pk])
        rows = cursor.fetchall()
        names = [c[0] for c in cursor.description]
    assert len(rows) == 1
    return {n: v for n, v in zip(names, rows[0], strict=True) if n not in ("id", "tenant_id")}


def counters(tenant: Tenant) -> dict[str, int]:
    return dict(ScopeCount.objects.filter(tenant=tenant, client_id=CLIENT).values_list("scope", "people"))


T0 = timezone.now().replace(microsecond=123456)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def grant(**after: Any) -> dict[str, Any]:
    return {"after": {**ACCEPTED, **after}}


def remembered(**after: Any) -> dict[str, Any]:
    return {"after": {**REMEMBERED, **after}}


SKIP, DENY, REVOKE = {"after": SKIPPED}, {"reject": True}, "revoke"
NON_ASCII = {"grant_scope": ["openid", "bücher:lesen"], "audience": ["https://api.example/ü"]}

# (name, steps): each step an event's keyword arguments, or REVOKE (a revocation through Truss).
SEQUENCES = [
    ("remembered repeats", [grant(remember_for=3600), remembered(), remembered()]),
    ("remembered repeats of non-ASCII scopes", [grant(**NON_ASCII, remember_for=0), remembered(**NON_ASCII)]),
    ("skip_consent repeats", [SKIP, SKIP, SKIP]),
    ("skip_consent after a remembered grant", [grant(remember_for=0), SKIP]),
    ("skip_consent after a remember window", [grant(remember_for=60), SKIP]),
    ("remembered with other scopes", [grant(), remembered(grant_scope=["openid", "profile"])]),
    ("remembered with another audience", [grant(), remembered(audience=["api"])]),
    ("remembered after a revocation", [grant(), REVOKE, remembered()]),
    ("remembered after a denial", [grant(), DENY, remembered()]),
    ("remembered with no row yet", [remembered()]),
    ("remembered after only a denial", [DENY, remembered()]),
]


def run(tenant: Tenant, steps: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    for i, step in enumerate(steps):
        if step == REVOKE:
            with monkeypatch.context() as m:  # set_state stamps "now": the same instant in both runs
                m.setattr(ledger, "timezone", SimpleNamespace(now=lambda i=i: at(10 * i)))
                assert ledger.mark_revoked(tenant, SUBJECT, [CLIENT]) == 1
        else:
            ledger.on_audit_event(AuditEvent, instance=event(tenant, at(10 * i), **step), created=True)


@pytest.mark.parametrize("steps", [s for _, s in SEQUENCES], ids=[n for n, _ in SEQUENCES])
def test_it_leaves_the_same_row_and_counters_as_the_orm_path(tenant, other_tenant, monkeypatch, steps):
    with monkeypatch.context() as m:
        m.setattr(ledger, "_record_repeat", lambda *args: False)
        run(other_tenant, steps, monkeypatch)
    run(tenant, steps, monkeypatch)
    assert raw_row(tenant) == raw_row(other_tenant)
    assert counters(tenant) == counters(other_tenant)


def test_it_folds_a_remembered_consent_into_an_unchanged_row_with_one_locking_select_and_one_update(
    tenant, django_assert_num_queries
):
    ledger.record_decision(event(tenant, at(0), after={**ACCEPTED, "remember_for": 3600}))
    with CaptureQueriesContext(connection) as queries:
        ledger.record_decision(event(tenant, at(5), after=REMEMBERED))
    select, update = (q["sql"] for q in queries.captured_queries)
    assert (
        select.startswith("SELECT")
        and select.endswith("FOR UPDATE") == connection.features.has_select_for_update
    )
    assert update.startswith("UPDATE")
    entry = LedgerEntry.objects.get(tenant=tenant)
    assert (
        entry.decision,
        entry.state,
        entry.scopes,
        entry.granted_count,
        entry.last_at,
        entry.first_at,
    ) == (
        "remembered",
        "active",
        ["openid", "email"],
        2,
        at(5),
        at(0),
    )
    assert entry.remembered and entry.remember_until == at(3600)  # the earlier window, unchanged
    with django_assert_num_queries(2):
        ledger.record_decision(event(tenant, at(6), after=REMEMBERED))


def test_it_folds_a_skip_consent_repeat_in_two_statements_but_not_one_that_clears_a_remember_window(
    tenant, django_assert_num_queries
):
    ledger.record_decision(event(tenant, at(0), after=SKIPPED))
    with django_assert_num_queries(2):
        ledger.record_decision(event(tenant, at(1), after=SKIPPED))
    ledger.record_decision(event(tenant, at(2), after={**ACCEPTED, "remember_for": 0}))
    with CaptureQueriesContext(connection) as queries:
        ledger.record_decision(event(tenant, at(3), after=SKIPPED))
    assert len(queries) == 3  # the fast path's SELECT, then the ORM path's SELECT and UPDATE
    entry = LedgerEntry.objects.get(tenant=tenant)
    assert (entry.decision, entry.remembered, entry.remember_until, entry.granted_count) == (
        "skipped",
        False,
        None,
        4,
    )


def test_it_moves_the_counters_when_a_remembered_consent_comes_with_other_scopes(tenant):
    ledger.record_decision(event(tenant, at(0)))
    ledger.record_decision(event(tenant, at(1), after={**REMEMBERED, "grant_scope": ["openid", "profile"]}))
    entry = LedgerEntry.objects.get(tenant=tenant)
    assert (entry.decision, entry.scopes, entry.granted_count) == ("remembered", ["openid", "profile"], 2)
    assert counters(tenant) == {ledger.PEOPLE: 1, "openid": 1, "email": 0, "profile": 1}


def test_it_reactivates_a_revoked_row_when_a_remembered_consent_arrives(tenant):
    ledger.record_decision(event(tenant, at(0)))
    ledger.mark_revoked(tenant, SUBJECT, [CLIENT])
    assert counters(tenant) == {ledger.PEOPLE: 0, "openid": 0, "email": 0}
    ledger.record_decision(event(tenant, at(9), after=REMEMBERED))
    entry = LedgerEntry.objects.get(tenant=tenant)
    assert (entry.state, entry.state_changed_at, entry.decision) == ("active", at(9), "remembered")
    assert counters(tenant) == {ledger.PEOPLE: 1, "openid": 1, "email": 1}


def test_it_counts_a_denial_and_the_remembered_consent_after_it(tenant):
    ledger.record_decision(event(tenant, at(0)))
    ledger.record_decision(event(tenant, at(1), reject=True, after={"requested_scope": ["openid"]}))
    ledger.record_decision(event(tenant, at(2), after=REMEMBERED))
    entry = LedgerEntry.objects.get(tenant=tenant)
    assert (entry.decision, entry.state, entry.granted_count, entry.denied_count) == (
        "remembered",
        "active",
        2,
        1,
    )
    assert counters(tenant) == {ledger.PEOPLE: 1, "openid": 1, "email": 1}


def test_it_logs_a_failing_fast_path_without_undoing_the_audit_event(tenant, monkeypatch, caplog):
    ledger.record_decision(event(tenant, at(0)))
    monkeypatch.setattr(ledger, "_repeat_sql", lambda vendor: ("SELECT %s, %s, %s FROM nowhere", ""))
    with caplog.at_level(logging.ERROR, logger=ledger.log.name), CaptureQueriesContext(connection) as queries:
        ledger.on_audit_event(AuditEvent, instance=event(tenant, at(1), after=REMEMBERED), created=True)
    assert "could not record audit event" in caplog.text
    # Rolled back to the receiver's savepoint: the enclosing transaction (the drain's) goes on.
    assert any((q["sql"] or "").startswith("ROLLBACK TO SAVEPOINT") for q in queries.captured_queries)
    assert LedgerEntry.objects.get(tenant=tenant).granted_count == 1


@pytest.mark.parametrize(
    ("detail", "decision"),
    [(LEGACY_REMEMBERED, "remembered"), (LEGACY_SKIP_CONSENT, "skipped"), ("", "accepted")],
)
def test_it_reads_the_decision_of_an_event_written_before_events_carried_it_from_its_detail(
    tenant, detail, decision
):
    ledger.record_decision(event(tenant, at(0), detail=detail, after=SCOPES))
    assert LedgerEntry.objects.get(tenant=tenant).decision == decision


def test_it_takes_the_decision_from_the_event_not_from_its_detail(tenant):
    ledger.record_decision(event(tenant, at(0), detail=LEGACY_SKIP_CONSENT, after=REMEMBERED))
    assert LedgerEntry.objects.get(tenant=tenant).decision == "remembered"


def test_the_ledger_knows_every_decision_the_bridge_writes():
    assert set(ConsentDecision.values) == set(LedgerEntry.Decision.values)
