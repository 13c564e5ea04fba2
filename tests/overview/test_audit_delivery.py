"""The overview's audit delivery card: the outbox and each audit sink (delivered up to, lag, last error), the
same numbers /metrics exports, for platform admins only (they cover every tenant)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from truss import audit, metrics
from truss.audit import Action, stream
from truss.models import AuditOutbox, Tenant

pytestmark = pytest.mark.django_db


def test_it_shows_each_sinks_state_as_metrics_reads_it(
    settings: Any, tmp_path: Path, tenant: Tenant, make_operator: Any
) -> None:
    settings.AUDIT_STREAM_FILE = str(tmp_path / "audit.jsonl")
    settings.AUDIT_STREAM_WEBHOOK_URL = "http://127.0.0.1:9/hook"  # nothing listens there
    settings.AUDIT_STREAM_WEBHOOK_SECRET = "stream-secret-0123456789abcdef"
    settings.AUDIT_STREAM_WEBHOOK_HTTP_LOOPBACK = True
    for _ in range(3):
        audit.record(None, Action.CLIENT_UPDATE, tenant=tenant)
    AuditOutbox.objects.create(chain="global", event={})
    stream.Streamer(stream.configured_sinks()).run_once()
    admin = make_operator(tenant, "viewer")
    admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    body = client.get(reverse("console:overview")).content.decode()
    card = body[body.index('data-testid="audit-delivery"') :]
    assert "Waiting in the outbox</dt><dd>1" in card
    webhook = card[card.index('data-sink="webhook"') :]
    assert (
        "failing" in webhook and "3 events" in webhook and "webhook unreachable (ConnectionError)" in webhook
    )
    file = card[card.index('data-sink="file"') : card.index('data-sink="webhook"')]
    assert "ok" in file and "0 events" in file
    text = metrics.exposition().decode()
    assert (
        'truss_audit_stream_lag_events{sink="webhook"} 3.0' in text
        and "truss_audit_outbox_events 1.0" in text
    )


def test_a_tenants_operator_does_not_see_the_installations_delivery(console: Any) -> None:
    body = console("admin").get(reverse("console:overview")).content.decode()
    assert 'data-testid="audit-delivery"' not in body
