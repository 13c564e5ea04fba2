"""The audit log's daily rollup (truss/audit/rollup.py): written in the transaction that chains events, equal to
a GROUP BY over AuditEvent (tenant, UTC day, action, outcome) on random data, exact under concurrent appends,
rebuilt idempotently from the events, and what the overview's chart reads."""

from __future__ import annotations

import importlib
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from truss import audit
from truss.audit import Action, rollup
from truss.models import AuditCut, AuditDailyCount, AuditEvent, Tenant

ACTIONS = [
    Action.LOGIN_ACCEPT,
    Action.CLIENT_CREATE,
    Action.CLIENT_DELETE,
    "bridge.consent.accept",
    "bridge.consent.reject",
]
OUTCOMES = ["success", "failure", "denied"]


def _stored() -> Counter[rollup.Group]:
    return Counter(
        {
            rollup.Group(t, d, a, o): n
            for t, d, a, o, n in AuditDailyCount.objects.values_list(
                "tenant_id", "day", "action", "outcome", "events"
            )
            if n
        }
    )


def _grouped() -> Counter[rollup.Group]:
    """A GROUP BY over every tenant's events, as the overview used to read them."""
    out: Counter[rollup.Group] = Counter()
    for tenant in Tenant.objects.all():
        out += rollup.counted_from_events(tenant)
    return out


def _moments(rng: random.Random, n: int) -> list[datetime]:
    """n increasing moments over 16 days, a third of them within a second of a UTC midnight."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    out = []
    for _ in range(n):
        day = start + timedelta(days=rng.randrange(16))
        if rng.random() < 0.33:
            out.append(day + timedelta(microseconds=rng.choice([0, 1, 999_999, -1, -999_999])))
        else:
            out.append(day + timedelta(seconds=rng.randrange(86400)))
    return sorted(out)


def _record_at(moment: datetime, tenant: Tenant | None, action: str, outcome: str, soon: bool) -> None:
    with mock.patch("django.utils.timezone.now", return_value=moment):
        audit.record(None, action, tenant=tenant, outcome=outcome, target="x", soon=soon)
        if soon:
            audit.drain_outbox()


@pytest.mark.django_db
def test_it_equals_a_group_by_over_the_events_on_random_data(make_tenant):
    rng = random.Random(20261207)
    tenants = [make_tenant(f"roll-{i}") for i in range(3)]
    expected: Counter[rollup.Group] = Counter()
    for moment in _moments(rng, 300):
        tenant = rng.choice([*tenants, None])
        action, outcome = rng.choice(ACTIONS), rng.choice(OUTCOMES)
        _record_at(
            moment, tenant, action, outcome, soon=rng.random() < 0.5
        )  # directly, or through the outbox
        if tenant is not None:
            expected[rollup.Group(tenant.pk, moment.astimezone(UTC).date(), action, outcome)] += 1
    assert AuditEvent.objects.filter(
        tenant=None
    ).exists()  # events without a tenant were written, not counted
    assert _stored() == expected
    assert _grouped() == expected  # the database's own UTC days agree with Python's
    assert all(rollup.differences(t) == {} for t in tenants)
    assert audit.verify_chain().ok


@pytest.mark.django_db
def test_it_counts_a_midnight_event_on_its_own_utc_day(tenant):
    midnight = datetime(2026, 3, 5, tzinfo=UTC)
    _record_at(midnight - timedelta(microseconds=1), tenant, Action.LOGIN_ACCEPT, "success", soon=False)
    _record_at(midnight, tenant, Action.LOGIN_ACCEPT, "success", soon=True)
    days = dict(AuditDailyCount.objects.values_list("day", "events"))
    assert days == {date(2026, 3, 4): 1, date(2026, 3, 5): 1}


@pytest.mark.django_db
def test_it_writes_one_upsert_per_batch_whatever_its_size(tenant):
    for i in range(30):
        audit.record(None, ACTIONS[i % 3], tenant=tenant, outcome=OUTCOMES[i % 2], soon=True)
    with CaptureQueriesContext(connection) as queries:
        assert audit.drain_outbox() == 30
    upserts = [q["sql"] for q in queries if "truss_auditdailycount" in q["sql"].lower()]
    assert len(upserts) == 1 and "ON CONFLICT" in upserts[0]
    assert sum(_stored().values()) == 30


@pytest.mark.django_db
def test_it_rolls_back_with_the_append(tenant):
    from django.db import transaction

    audit.record(None, Action.LOGIN_ACCEPT, tenant=tenant)
    with pytest.raises(RuntimeError), transaction.atomic():
        audit.record(None, Action.LOGIN_ACCEPT, tenant=tenant)
        raise RuntimeError("the caller's block fails")
    assert list(AuditDailyCount.objects.values_list("events", flat=True)) == [1]


@pytest.mark.django_db(transaction=True)
def test_it_stays_exact_under_concurrent_appends(make_tenant):
    tenants = [make_tenant("busy-a"), make_tenant("busy-b")]

    def append(i: int) -> None:
        try:
            tenant = tenants[i % 2]
            audit.record(None, ACTIONS[i % 2], tenant=tenant, outcome="success", soon=i % 3 == 0)
            if i % 3 == 0:
                audit.drain_outbox()
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(append, range(120)))
    audit.drain_outbox()
    assert AuditEvent.objects.count() == 120
    assert _stored() == _grouped() and sum(_stored().values()) == 120
    assert [sum(rollup.counted_from_events(t).values()) for t in tenants] == [60, 60]


@pytest.mark.django_db(transaction=True)
def test_it_rebuilds_while_events_are_chained_without_losing_or_doubling_one(tenant):
    def append(i: int) -> None:
        try:
            if i % 10 == 0:
                rollup.rebuild(tenant)
            else:
                audit.record(None, ACTIONS[i % 3], tenant=tenant, outcome="success")
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(append, range(100)))
    assert sum(_stored().values()) == 90 and _stored() == _grouped()


@pytest.mark.django_db
def test_it_rebuilds_from_the_events_idempotently(make_tenant, capsys):
    rng = random.Random(7)
    tenants = [make_tenant("re-a"), make_tenant("re-b")]
    for moment in _moments(rng, 80):
        _record_at(moment, rng.choice(tenants), rng.choice(ACTIONS), rng.choice(OUTCOMES), soon=False)
    expected = _stored()
    AuditDailyCount.objects.all().delete()  # as before the rollup existed
    AuditDailyCount.objects.create(
        tenant=tenants[0], day=date(2020, 1, 1), action="x", outcome="success", events=9
    )
    call_command("audit_rollup", "--rebuild")
    assert _stored() == expected
    call_command("audit_rollup", "--rebuild")
    assert _stored() == expected
    call_command("audit_rollup", "--check")
    assert "matches the events of 2 tenant(s)" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_checks_and_names_what_differs(tenant, capsys):
    audit.record(None, Action.LOGIN_ACCEPT, tenant=tenant)
    AuditDailyCount.objects.update(events=5)
    with pytest.raises(CommandError, match="1 group"):
        call_command("audit_rollup", "--check", "--tenant", tenant.slug)
    assert "bridge.login.accept success: rollup 5, events 1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No such tenant: nope"):
        call_command("audit_rollup", "--check", "--tenant", "nope")


@pytest.mark.django_db
def test_it_leaves_days_retention_archived_alone_on_rebuild(tenant):
    for day in (3, 4, 5):
        _record_at(datetime(2026, 3, day, 12, tzinfo=UTC), tenant, Action.LOGIN_ACCEPT, "success", soon=False)
    first = AuditEvent.objects.order_by("id").first()
    assert first is not None
    # Retention archived and removed the first event (its cut row is what it leaves behind).
    AuditCut.objects.create(
        chain=first.chain,
        last_id=first.pk,
        last_hash=first.hash,
        last_created_at=first.created_at,
        events=1,
        archive="a",
        archive_sha256="0" * 64,
        signature="0" * 64,
    )
    AuditEvent.objects.filter(pk=first.pk).delete()
    rollup.rebuild(tenant)
    days = dict(AuditDailyCount.objects.values_list("day", "events"))
    assert days == {date(2026, 3, 3): 1, date(2026, 3, 4): 1, date(2026, 3, 5): 1}


@pytest.mark.django_db
def test_it_is_filled_by_the_migration_from_existing_events(make_tenant):
    fill = importlib.import_module("truss.migrations.0008_audit_rollup_fill").fill
    rng = random.Random(3)
    tenants = [make_tenant("mig-a"), make_tenant("mig-b")]
    for moment in _moments(rng, 60):
        _record_at(moment, rng.choice([*tenants, None]), rng.choice(ACTIONS), "success", soon=False)
    expected = _stored()
    AuditDailyCount.objects.all().delete()
    fill(apps, mock.Mock(connection=connection))
    assert _stored() == expected


@pytest.mark.django_db
def test_it_is_all_the_overview_chart_reads(tenant):
    from oauth2_admin.overview import service

    today = datetime.now(UTC).date()
    for _ in range(40):
        audit.record(None, Action.LOGIN_ACCEPT, tenant=tenant)
    audit.record(None, "bridge.consent.reject", tenant=tenant)
    with CaptureQueriesContext(connection) as queries:
        data = service.activity(tenant, today)
    assert len(queries) == 1 and "truss_auditdailycount" in queries[0]["sql"].lower()
    assert "truss_auditevent" not in queries[0]["sql"].lower()
    assert data["totals"] == {"sign-ins": 40, "consents given": 0, "consents refused": 1}
