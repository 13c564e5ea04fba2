"""Audit events written ahead (audit.record with soon=True): off the redirect's critical path, never lost.

The bridge's accepts write one outbox row before answering and chain it right after the answer
(request_finished). A process that dies in between leaves the row, and the next drain in any process chains
it exactly once; the hash chain still verifies."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from tests.fixtures.second_process import child_env
from truss import audit
from truss.audit import Action, outbox
from truss.models import AuditEvent, AuditOutbox

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_the_answer_is_followed_by_the_chained_event(tenant):
    audit.record(
        None,
        "bridge.login.accept",
        tenant=tenant,
        target="app",
        actor="identity:u1",
        after={"client_secret": "s3cret", "amr": ["pwd"]},
        soon=True,
    )
    assert AuditOutbox.objects.count() == 1 and not AuditEvent.objects.exists()  # durable, not yet chained
    # What the WSGI server sends once the response is written. Django's own close_old_connections listener
    # is kept out, as the test client does: it would close the test transaction's connection on PostgreSQL.
    request_finished.disconnect(close_old_connections)
    try:
        request_finished.send(sender=None)
    finally:
        request_finished.connect(close_old_connections)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.target, event.chain) == (
        "bridge.login.accept",
        "identity:u1",
        "app",
        f"tenant:{tenant.pk}",
    )
    assert event.after["client_secret"] != "s3cret" and event.after["amr"] == ["pwd"]  # redacted as ever
    assert not AuditOutbox.objects.exists()
    assert audit.verify_chain().ok


@pytest.mark.django_db
def test_drained_events_and_direct_ones_share_one_verifiable_chain(tenant, other_tenant):
    audit.record(None, Action.CLIENT_CREATE, tenant=tenant)  # direct
    audit.record(None, Action.LOGIN_ACCEPT, tenant=tenant, soon=True)
    audit.record(None, Action.CONSENT_ACCEPT, tenant=other_tenant, soon=True)
    audit.record(None, Action.LOGOUT_ACCEPT, tenant=None, soon=True)
    audit.record(None, Action.CLIENT_DELETE, tenant=tenant)  # direct
    assert audit.drain_outbox() == 3 and audit.drain_outbox() == 0  # never twice
    assert list(AuditEvent.objects.filter(tenant=tenant).order_by("id").values_list("action", flat=True)) == [
        Action.CLIENT_CREATE,
        Action.CLIENT_DELETE,
        Action.LOGIN_ACCEPT,
    ]
    report = audit.verify_chain()
    assert report.ok and report.checked == 5


# A real process: migrates its own SQLite file, writes an event ahead, then dies (os._exit) before the
# request_finished that would chain it. A second process drains and verifies.
_SCRIPT = """
import json, os, sys, django
django.setup()
from django.core.management import call_command
from truss import audit
from truss.models import AuditEvent, AuditOutbox, Tenant
if sys.argv[1] == "answer-then-die":
    call_command("migrate", verbosity=0)
    tenant = Tenant.objects.create(slug="durable", name="Durable")
    audit.record(None, "oauth2.client.create", tenant=tenant)
    audit.record(None, "bridge.consent.accept", tenant=tenant, target="app", actor="identity:u1",
                      after={"grant_scope": ["openid"]}, soon=True)
    os._exit(0)  # killed after answering: request_finished never comes
else:
    pending = AuditOutbox.objects.count()
    drained = audit.drain_outbox()
    report = audit.verify_chain()
    print(json.dumps({"pending": pending, "drained": drained, "again": audit.drain_outbox(), "ok": report.ok,
                      "checked": report.checked,
                      "actions": list(AuditEvent.objects.order_by("id").values_list("action", flat=True))}))
"""


def test_an_event_written_ahead_survives_a_process_that_dies_after_answering(tmp_path):
    env = child_env(
        DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    )
    died = subprocess.run(
        [sys.executable, "-c", _SCRIPT, "answer-then-die"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert died.returncode == 0, died.stderr
    after = subprocess.run(
        [sys.executable, "-c", _SCRIPT, "next-process"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert after.returncode == 0, after.stderr
    result = json.loads(after.stdout.strip().splitlines()[-1])
    assert result == {
        "pending": 1,
        "drained": 1,
        "again": 0,
        "ok": True,
        "checked": 2,
        "actions": ["oauth2.client.create", "bridge.consent.accept"],
    }


@pytest.mark.django_db
def test_verify_audit_chains_what_waits_in_the_outbox_first(tenant, capsys):
    from django.core.management import call_command

    audit.record(None, "bridge.consent.accept", tenant=tenant, target="app", actor="identity:u1", soon=True)
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "Chained 1 event(s) waiting in the audit outbox first." in out and "intact: 1 events" in out
    assert not AuditOutbox.objects.exists() and AuditEvent.objects.get().action == "bridge.consent.accept"


def _drain_statements(count: int, tenant) -> int:
    for i in range(count):
        audit.record(
            None, Action.LOGIN_ACCEPT, tenant=tenant, target=f"app-{i}", actor="identity:u1", soon=True
        )
    with CaptureQueriesContext(connection) as queries:
        assert audit.drain_outbox() == count
    return len(queries)


@pytest.mark.django_db
def test_it_chains_a_batch_with_as_many_statements_as_one_event(tenant, settings):
    # One head lock, one INSERT, one rollup upsert, one head update and one DELETE per batch: ten events cost
    # what one does.
    # Without this, an id divisible by 100 (PostgreSQL's sequence goes on across tests) adds a checkpoint's queries.
    settings.AUDIT_CHECKPOINT_EVERY = 0
    _drain_statements(1, tenant)  # the chain's first event also creates its head row
    one, ten = _drain_statements(1, tenant), _drain_statements(10, tenant)
    assert ten == one <= 10, (one, ten)
    targets = list(AuditEvent.objects.order_by("id").values_list("target", flat=True))
    assert targets == [f"app-{i}" for i in (0, 0, *range(10))]
    report = audit.verify_chain()
    assert report.ok and report.checked == 12


@pytest.mark.django_db(transaction=True)
def test_the_drainer_thread_chains_what_requests_queue_each_event_exactly_once(
    tenant, other_tenant, settings, monkeypatch
):
    # Production's mode: the request's thread only kicks the per-process drainer, which chains shortly after
    # (AUDIT_DRAIN_DELAY) what every request queued meanwhile. Eight concurrent "requests" here.
    settings.AUDIT_DRAIN_DELAY = 0.01
    monkeypatch.setattr(outbox, "DRAINER_IDLE_CLOSE", 0.2)  # and it lets go of its connection when idle

    def answer(i: int) -> None:
        try:
            audit.record(
                None,
                "bridge.consent.accept",
                tenant=(tenant, other_tenant)[i % 2],
                target=f"app-{i}",
                actor=f"identity:u{i}",
                soon=True,
            )
            request_finished.send(sender=None)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(answer, range(40)))
    deadline = time.monotonic() + 10
    while (AuditOutbox.objects.exists() or AuditEvent.objects.count() < 40) and time.monotonic() < deadline:
        time.sleep(0.02)
    targets = sorted(AuditEvent.objects.values_list("target", flat=True))
    assert targets == sorted(f"app-{i}" for i in range(40))  # every event, none twice
    assert not AuditOutbox.objects.exists()
    assert audit.verify_chain().ok
    time.sleep(
        0.5
    )  # idle: the drainer has closed its connection (else PostgreSQL refuses to drop the test DB)


@pytest.mark.django_db
def test_an_event_that_cannot_be_chained_holds_back_its_own_chain_only(tenant, other_tenant, caplog):
    audit.record(None, "bridge.login.accept", tenant=tenant, target="a", actor="identity:u1", soon=True)
    # A row another release wrote with a field this one does not know (a rolling deploy), in the other tenant.
    AuditOutbox.objects.create(
        chain=audit.chain_for(other_tenant.pk), event={"action": "x", "no_such_field": 1}
    )
    audit.record(None, "bridge.consent.accept", tenant=tenant, target="a", actor="identity:u1", soon=True)
    with pytest.raises(audit.OutboxStuck, match=f"tenant:{other_tenant.pk}"):
        audit.drain_outbox()
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        "bridge.login.accept",
        "bridge.consent.accept",
    ]
    assert AuditOutbox.objects.get().chain == audit.chain_for(other_tenant.pk)  # it waits, nothing is lost
    assert "could not be chained" in caplog.text and audit.verify_chain().ok


@pytest.mark.django_db
def test_it_stores_every_field_as_a_save_would_and_hands_out_ids_in_order(tenant):
    # The drain writes events with one written-out INSERT: what it stores must read back exactly as chained
    # (the hashes are recomputed from the stored rows), ids ascending in chain order.
    after = {"ü": "naïve ☃", "n": 1.5, "nested": {"list": [None, True, 0], "empty": {}}, "big": 2**53}
    audit.record(
        None,
        "bridge.consent.accept",
        tenant=tenant,
        target="app",
        actor="identity:u1",
        before=None,
        after=after,
        detail="line one\nline 'two'",
        soon=True,
    )
    audit.record(
        None,
        "bridge.login.accept",
        tenant=tenant,
        target="",
        actor="identity:u2",
        before=["a"],
        after=None,
        soon=True,
    )
    assert audit.drain_outbox() == 2
    first, second = AuditEvent.objects.order_by("id")
    assert (first.action, first.before, first.after, first.detail) == (
        "bridge.consent.accept",
        None,
        after,
        "line one\nline 'two'",
    )
    assert (second.actor, second.target, second.before, second.after) == ("identity:u2", "", ["a"], None)
    assert second.prev_hash == first.hash and second.hash == audit.compute_hash(second)
    assert first.hash == audit.compute_hash(first) and audit.verify_chain().ok


def test_a_test_ends_only_once_requests_on_other_threads_and_their_after_response_drains_are_done():
    # What keeps a live-server test's database flush from deadlocking (PostgreSQL) with its last request's
    # drain: the autouse fixture tracks every request up to the end of its request_finished receivers.
    from tests.conftest import _in_flight

    inside, leave = threading.Event(), threading.Event()

    def request() -> None:
        request_started.send(sender=None)
        inside.set()
        leave.wait(5)
        request_finished.send(sender=None)  # the drain, then the tracker: in the order they were connected

    thread = threading.Thread(target=request)
    thread.start()
    try:
        assert inside.wait(5)
        assert not _in_flight.wait_idle(timeout=0.2)  # still in its request: the flush must wait
    finally:
        leave.set()
    assert _in_flight.wait_idle(timeout=5)
    thread.join(5)
