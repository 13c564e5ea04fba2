"""A consent moves the client's idle clock in the findings snapshot: one written-out UPDATE per consent, leaving
the rows exactly as the ORM statement it replaced did."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oauth2_admin.hygiene import service as hygiene
from oauth2_admin.hygiene import snapshot
from oauth2_admin.hygiene.models import FindingsSnapshot
from truss.models import AuditEvent, Tenant

pytestmark = pytest.mark.django_db

AT = timezone.now().replace(microsecond=654321)
# client id -> last_consent_at before the consent
BEFORE = {
    "never": None,
    "older": AT - dt.timedelta(days=1),
    "same": AT,
    "newer": AT + dt.timedelta(microseconds=1),
}


def consent(tenant: Tenant, client_id: str, action: str = hygiene.CONSENT_ACTION) -> AuditEvent:
    return AuditEvent(
        tenant_id=tenant.pk,
        action=action,
        outcome=AuditEvent.Outcome.SUCCESS,
        actor="identity:someone",
        target=client_id,
        created_at=AT,
    )


def seed(tenant: Tenant) -> None:
    for client_id, last in BEFORE.items():
        FindingsSnapshot.objects.create(
            tenant=tenant, client_id=client_id, name=client_id, computed_at=AT, last_consent_at=last
        )


def raw_rows(tenant: Tenant) -> dict[str, tuple[Any, ...]]:
    """client id -> the row as the database holds it (datetimes as stored), without its id and tenant."""
    q, meta = connection.ops.quote_name, FindingsSnapshot._meta
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {q(meta.db_table)} WHERE tenant_id = %s", [tenant.pk])
        names = [c[0] for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return {r["client_id"]: tuple(v for n, v in r.items() if n not in ("id", "tenant_id")) for r in rows}


def orm_update(event: AuditEvent) -> None:
    """The ORM statement the written-out one replaced."""
    assert event.tenant_id is not None
    FindingsSnapshot.objects.filter(tenant_id=event.tenant_id, client_id=event.target).filter(
        Q(last_consent_at__isnull=True) | Q(last_consent_at__lt=event.created_at)
    ).update(last_consent_at=event.created_at)


def test_it_moves_the_idle_clock_forward_never_back_in_one_statement(
    tenant, other_tenant, make_tenant, django_assert_num_queries
):
    bystander = make_tenant()
    for t in (tenant, other_tenant, bystander):
        seed(t)
    for client_id in BEFORE:
        with django_assert_num_queries(1):
            snapshot.apply_event(consent(tenant, client_id))
        orm_update(consent(other_tenant, client_id))
    assert raw_rows(tenant) == raw_rows(other_tenant)  # byte for byte what the ORM wrote
    got = dict(FindingsSnapshot.objects.filter(tenant=tenant).values_list("client_id", "last_consent_at"))
    assert got == {"never": AT, "older": AT, "same": AT, "newer": BEFORE["newer"]}
    untouched = FindingsSnapshot.objects.filter(tenant=bystander).values_list("client_id", "last_consent_at")
    assert dict(untouched) == BEFORE  # same client ids, another tenant


def test_it_moves_the_clock_through_the_audit_receiver_inside_a_savepoint(tenant):
    seed(tenant)
    with CaptureQueriesContext(connection) as queries:
        snapshot.on_audit_event(AuditEvent, instance=consent(tenant, "never"), created=True)
    assert [(q["sql"] or "").split()[0] for q in queries.captured_queries] == [
        "SAVEPOINT",
        "UPDATE",
        "RELEASE",
    ]
    assert FindingsSnapshot.objects.get(tenant=tenant, client_id="never").last_consent_at == AT


def test_it_logs_a_failing_update_without_undoing_the_audit_event(tenant, monkeypatch, caplog):
    seed(tenant)
    monkeypatch.setattr(
        snapshot, "_consent_sql", lambda vendor: "UPDATE nowhere SET a = %s, b = %s, c = %s, d = %s"
    )
    with (
        caplog.at_level(logging.ERROR, logger=snapshot.log.name),
        CaptureQueriesContext(connection) as queries,
    ):
        snapshot.on_audit_event(AuditEvent, instance=consent(tenant, "never"), created=True)
    assert "could not apply audit event" in caplog.text
    # Rolled back to the receiver's savepoint: the enclosing transaction (the drain's) goes on.
    assert any((q["sql"] or "").startswith("ROLLBACK TO SAVEPOINT") for q in queries.captured_queries)
    assert FindingsSnapshot.objects.get(tenant=tenant, client_id="never").last_consent_at is None


def test_it_still_drops_the_row_of_a_deleted_client(tenant):
    seed(tenant)
    snapshot.apply_event(consent(tenant, "older", action=snapshot.DELETE))
    assert sorted(FindingsSnapshot.objects.filter(tenant=tenant).values_list("client_id", flat=True)) == [
        "never",
        "newer",
        "same",
    ]
