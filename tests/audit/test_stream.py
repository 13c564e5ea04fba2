"""Audit streaming (truss/audit/stream.py, manage.py stream_audit): every event delivered at least once, in order
per tenant, to a JSON-lines file and a signed webhook; a cursor in the database so a restart resumes; a failing
sink retried with backoff, visible in its state and in /metrics."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from truss import audit, metrics
from truss.audit import Action, stream
from truss.models import AuditEvent, AuditStreamCursor, Tenant

SECRET = "stream-secret-0123456789abcdef"

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 500 to its first ``fail`` POSTs, then 200; it keeps what it
    accepted (with the signature check's verdict) and counts what it refused."""

    def __init__(self, fail: int = 0, delay: float = 0.0) -> None:
        self.fail, self.refused, self.delay = fail, 0, delay
        self.accepted: list[dict[str, Any]] = []
        self.signatures_ok: list[bool] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                if receiver.refused < receiver.fail:
                    receiver.refused += 1
                    self.send_response(500)
                else:
                    ok = stream.signature_ok(
                        SECRET,
                        self.headers[stream.TIMESTAMP_HEADER],
                        body,
                        self.headers[stream.SIGNATURE_HEADER],
                    )
                    receiver.signatures_ok.append(ok)
                    receiver.accepted += json.loads(body)["events"]
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/audit"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings: Any) -> Iterator[Callable[[int], Receiver]]:
    started: list[Receiver] = []

    def start(fail: int = 0) -> Receiver:
        r = Receiver(fail)
        started.append(r)
        settings.AUDIT_STREAM_WEBHOOK_URL = r.url
        settings.AUDIT_STREAM_WEBHOOK_SECRET = SECRET
        settings.AUDIT_STREAM_WEBHOOK_HTTP_LOOPBACK = True
        return r

    settings.AUDIT_STREAM_FILE = ""
    settings.AUDIT_STREAM_RETRY_BASE = 0.0  # retry at once: the tests call the streamer in a loop
    yield start
    for r in started:
        r.close()


def _events(tenant: Tenant, other: Tenant, n: int) -> list[AuditEvent]:
    for i in range(n):
        audit.record(None, Action.CLIENT_UPDATE, tenant=(tenant, other, None)[i % 3], target=f"client-{i}")
    return list(AuditEvent.objects.order_by("id"))


def _per_chain(items: list[dict[str, Any]]) -> dict[str, list[int]]:
    chains: dict[str, list[int]] = {}
    for item in items:
        chains.setdefault(item["chain"], []).append(item["id"])
    return chains


def test_it_delivers_every_event_once_in_order_to_a_receiver_that_fails_then_recovers(
    settings: Any, receiver: Callable[[int], Receiver], tenant: Tenant, other_tenant: Tenant
) -> None:
    settings.AUDIT_STREAM_BATCH = 4
    r = receiver(3)
    written = _events(tenant, other_tenant, 10)
    streamer = stream.Streamer(stream.configured_sinks())
    for _ in range(20):
        streamer.run_once()
        if len(r.accepted) == len(written):
            break
    assert r.refused == 3
    assert [e["id"] for e in r.accepted] == [e.pk for e in written]  # each once, in order
    assert _per_chain(r.accepted) == _per_chain([stream.serialize(e) for e in written])
    assert r.signatures_ok and all(r.signatures_ok)
    first = r.accepted[0]
    assert (first["action"], first["target"], first["hash"]) == (
        Action.CLIENT_UPDATE,
        "client-0",
        written[0].hash,
    )
    cursor = AuditStreamCursor.objects.get(sink=stream.WEBHOOK)
    assert (cursor.position, cursor.delivered, cursor.failures, cursor.consecutive_failures) == (
        written[-1].pk,
        10,
        3,
        0,
    )
    assert cursor.last_error == "webhook answered HTTP 500" and cursor.retry_at is None


def test_it_backs_off_exponentially_up_to_the_cap(settings: Any) -> None:
    settings.AUDIT_STREAM_RETRY_BASE, settings.AUDIT_STREAM_RETRY_MAX = 1.0, 300.0
    delays = [stream.backoff(n) for n in (1, 2, 3, 9, 20)]
    assert 0.75 <= delays[0] <= 1 and 1.5 <= delays[1] <= 2 and 3 <= delays[2] <= 4
    assert 192 <= delays[3] <= 256 and 225 <= delays[4] <= 300


def test_a_failing_sink_waits_for_its_backoff_and_shows_as_failing(
    settings: Any, receiver: Callable[[int], Receiver], tenant: Tenant, other_tenant: Tenant
) -> None:
    r = receiver(100)
    settings.AUDIT_STREAM_RETRY_BASE = 60.0
    _events(tenant, other_tenant, 3)
    streamer = stream.Streamer(stream.configured_sinks())
    assert streamer.run_once()[stream.WEBHOOK].failed
    assert streamer.run_once()[stream.WEBHOOK].waiting and r.refused == 1  # not retried before its time
    (state,) = stream.status()
    assert (state.kind, state.state, state.lag, state.consecutive_failures) == ("webhook", "failing", 3, 1)
    assert state.last_error == "webhook answered HTTP 500" and state.oldest_undelivered_age >= 0
    assert state.target == r.url  # no credentials in the URL to hide


def test_it_exports_each_sinks_delivery_in_metrics(
    settings: Any, receiver: Callable[[int], Receiver], tenant: Tenant, other_tenant: Tenant, tmp_path: Path
) -> None:
    receiver(1)
    settings.AUDIT_STREAM_FILE = str(tmp_path / "audit.jsonl")
    _events(tenant, other_tenant, 2)
    stream.Streamer(stream.configured_sinks()).run_once()
    text = metrics.exposition().decode()
    assert 'truss_audit_stream_delivered_total{sink="file"} 2.0' in text
    assert 'truss_audit_stream_delivered_total{sink="webhook"} 0.0' in text
    assert 'truss_audit_stream_failures_total{sink="webhook"} 1.0' in text
    assert 'truss_audit_stream_consecutive_failures{sink="webhook"} 1.0' in text
    assert 'truss_audit_stream_lag_events{sink="webhook"} 2.0' in text
    assert 'truss_audit_stream_lag_events{sink="file"} 0.0' in text
    assert 'truss_audit_stream_oldest_undelivered_age_seconds{sink="file"} 0.0' in text


class _CrashingFile(stream.FileSink):
    """Appends its first batch, then the process 'dies' (raises out of the streamer) on the next."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.calls = 0

    def deliver(self, events: list[dict[str, Any]]) -> None:
        self.calls += 1
        if self.calls > 1:
            raise KeyboardInterrupt  # not a delivery failure: nothing of the streamer's runs after it
        super().deliver(events)


def test_a_restart_mid_stream_resumes_where_the_file_sink_stopped(
    settings: Any, tenant: Tenant, other_tenant: Tenant, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    settings.AUDIT_STREAM_FILE, settings.AUDIT_STREAM_BATCH = str(path), 3
    written = _events(tenant, other_tenant, 8)
    with pytest.raises(KeyboardInterrupt):
        stream.Streamer([_CrashingFile(str(path))]).run_once()
    assert len(path.read_text().splitlines()) == 3
    AuditStreamCursor.objects.update(lease_owner="", lease_until=None)  # a dead process's lease has run out
    call_command("stream_audit", "--once")  # the restart
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["id"] for e in lines] == [e.pk for e in written]
    more = _events(tenant, other_tenant, 2)[-2:]
    call_command("stream_audit", "--once")
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()][-3:] == [
        written[-1].pk,
        *[e.pk for e in more],
    ]


def test_from_now_skips_the_history_of_a_new_sink_only(settings: Any, tmp_path: Path, tenant: Tenant) -> None:
    path = tmp_path / "audit.jsonl"
    settings.AUDIT_STREAM_FILE = str(path)
    audit.record(None, Action.CLIENT_UPDATE, tenant=tenant, target="history")
    call_command("stream_audit", "--once", "--from-now")
    assert not path.exists() or path.read_text() == ""
    audit.record(None, Action.CLIENT_UPDATE, tenant=tenant, target="new")
    call_command("stream_audit", "--once", "--from-now")  # the sink has delivered: its cursor is kept
    assert [json.loads(line)["target"] for line in path.read_text().splitlines()] == ["new"]


def test_a_second_streamer_waits_for_the_first_ones_lease(
    settings: Any, tmp_path: Path, tenant: Tenant
) -> None:
    settings.AUDIT_STREAM_FILE = str(tmp_path / "audit.jsonl")
    audit.record(None, Action.CLIENT_UPDATE, tenant=tenant)
    first, second = stream.Streamer(stream.configured_sinks()), stream.Streamer(stream.configured_sinks())
    assert first.step(first.sinks[0]).delivered == 1  # holds the lease while it runs
    audit.record(None, Action.CLIENT_UPDATE, tenant=tenant)
    assert second.step(second.sinks[0]).busy
    first.release()
    assert second.step(second.sinks[0]).delivered == 1


def test_it_streams_in_a_loop_until_stopped(
    settings: Any, tmp_path: Path, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        stream, "close_old_connections", lambda: None
    )  # it would close the test's transaction
    path = tmp_path / "audit.jsonl"
    settings.AUDIT_STREAM_FILE, settings.AUDIT_STREAM_POLL = str(path), 0.05
    audit.record(None, Action.CLIENT_UPDATE, tenant=tenant)
    stop = threading.Event()
    streamer = stream.Streamer(stream.configured_sinks())
    # The loop runs on this thread (the test's database connection); a timer stops it once the line is there.
    deadline = time.monotonic() + 10

    def watch() -> None:
        while time.monotonic() < deadline and not (path.exists() and path.read_text()):
            time.sleep(0.02)
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    streamer.run(stop)
    assert len(path.read_text().splitlines()) == 1
    assert AuditStreamCursor.objects.get().lease_owner == ""  # released on the way out


def _row(pk: int, tenant: Tenant) -> AuditEvent:
    return AuditEvent.objects.create(
        pk=pk,
        tenant=tenant,
        chain=f"tenant:{tenant.pk}",
        action=Action.CLIENT_UPDATE,
        outcome="success",
        actor="system",
        created_at=datetime.now(UTC),
        hash=uuid.uuid4().hex,
    )


def test_an_id_that_becomes_visible_late_is_delivered_and_one_that_never_does_is_given_up(
    settings: Any, tmp_path: Path, tenant: Tenant
) -> None:
    # Another tenant's append still open (id 1003) while 1004 is committed: 1003 is a hole, waited for.
    path = tmp_path / "audit.jsonl"
    settings.AUDIT_STREAM_FILE = str(path)
    for pk in (1001, 1002, 1004, 1006):
        _row(pk, tenant)
    streamer = stream.Streamer(stream.configured_sinks())
    streamer.run_once()
    cursor = AuditStreamCursor.objects.get()
    assert (cursor.position, cursor.top, sorted(cursor.holes)) == (1002, 1006, ["1003", "1005"])
    _row(1003, tenant)  # it commits
    streamer.run_once()
    assert [json.loads(line)["id"] for line in path.read_text().splitlines()] == [
        1001,
        1002,
        1004,
        1006,
        1003,
    ]
    cursor.refresh_from_db()
    assert (cursor.position, list(cursor.holes)) == (1004, ["1005"])
    settings.AUDIT_STREAM_HOLE_TIMEOUT = 0  # 1005 was rolled back: given up
    AuditStreamCursor.objects.update(holes={"1005": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()})
    streamer.run_once()
    cursor.refresh_from_db()
    assert (cursor.position, cursor.holes) == (1006, {})


def test_the_signature_covers_timestamp_and_body_and_refuses_old_timestamps() -> None:
    body = b'{"events":[]}'
    now = int(time.time())
    signature = stream.sign(SECRET, str(now), body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert stream.signature_ok(SECRET, str(now), body, signature)
    assert not stream.signature_ok(SECRET, str(now), body + b" ", signature)
    assert not stream.signature_ok("another-secret-0123456789", str(now), body, signature)
    assert not stream.signature_ok(SECRET, str(now + 1), body, signature)  # the timestamp is signed
    old = str(now - 3600)
    assert not stream.signature_ok(SECRET, old, body, stream.sign(SECRET, old, body))  # a replay


@pytest.mark.parametrize(
    ("url", "http_loopback", "problem"),
    [
        ("https://siem.example.com/hook", False, None),
        ("https://10.1.2.3/hook", False, None),  # an internal sink, on purpose: the operator's own setting
        ("http://siem.example.com/hook", True, "must be https"),
        ("http://127.0.0.1:8080/hook", False, "must be https (http only to loopback with DEBUG)"),
        ("http://127.0.0.1:8080/hook", True, None),
        ("http://localhost/hook", True, None),
        ("ftp://siem.example.com/", True, "must be https"),
        (
            "https://user:pw@siem.example.com/",
            False,
            "must not carry credentials (the HMAC secret authenticates Truss)",
        ),
        ("https:///nohost", False, "has no host"),
        ("https://256.1.1.1/", False, "has a malformed host"),
        ("https://siem.example.com\\@evil/", False, "contains a backslash or whitespace"),
        ("https://siem.example.com:99999/", False, "is not a valid URL"),
    ],
)
def test_it_accepts_only_an_https_webhook_or_loopback_http_when_allowed(
    url: str, http_loopback: bool, problem: str | None
) -> None:
    assert stream.webhook_problem(url, http_loopback=http_loopback) == problem


def test_it_refuses_to_start_misconfigured(settings: Any) -> None:
    settings.AUDIT_STREAM_FILE, settings.AUDIT_STREAM_WEBHOOK_URL = "", ""
    with pytest.raises(CommandError, match="no audit sink configured"):
        call_command("stream_audit", "--once")
    settings.AUDIT_STREAM_WEBHOOK_URL, settings.AUDIT_STREAM_WEBHOOK_SECRET = "https://siem.example.com/", ""
    with pytest.raises(ImproperlyConfigured, match="SECRET"):
        stream.configured_sinks()
    (state,) = stream.status()
    assert state.state == "misconfigured" and "SECRET" in state.target


def test_a_dead_sink_never_blocks_a_console_write(
    settings: Any, receiver: Callable[[int], Receiver], tenant: Tenant, console: Callable[..., Any]
) -> None:
    receiver(1000).close()  # nothing listens any more
    started = time.monotonic()
    audit.record(None, Action.CLIENT_UPDATE, tenant=tenant)
    assert time.monotonic() - started < 1 and AuditEvent.objects.count() == 1
    assert console("admin").get("/").status_code in (200, 302)


@pytest.mark.django_db(transaction=True)
def test_it_delivers_every_event_once_in_order_per_tenant_while_tenants_append_concurrently(
    settings: Any, tmp_path: Path, tenant: Tenant, other_tenant: Tenant
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    path = tmp_path / "audit.jsonl"
    settings.AUDIT_STREAM_FILE, settings.AUDIT_STREAM_BATCH, settings.AUDIT_STREAM_POLL = str(path), 5, 0.01
    stop = threading.Event()

    def streaming() -> None:
        try:
            stream.Streamer(stream.configured_sinks()).run(stop)
        finally:
            connection.close()

    def append(i: int) -> None:
        try:
            audit.record(
                None, Action.CLIENT_UPDATE, tenant=(tenant, other_tenant, None)[i % 3], target=f"c-{i}"
            )
        finally:
            connection.close()

    streamer = threading.Thread(target=streaming)
    streamer.start()
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(append, range(60)))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (not path.exists() or len(path.read_text().splitlines()) < 60):
            time.sleep(0.05)
    finally:
        stop.set()
        streamer.join(10)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    written = list(AuditEvent.objects.order_by("id"))
    assert sorted(e["id"] for e in lines) == [e.pk for e in written]  # every event, none twice
    assert _per_chain(lines) == _per_chain([stream.serialize(e) for e in written])  # each chain in its order
    assert AuditStreamCursor.objects.get().position == written[-1].pk


_SEED = """
import django
django.setup()
from django.core.management import call_command
from truss import audit
from truss.audit import Action
from truss.models import Tenant
call_command("migrate", verbosity=0)
tenants = [Tenant.objects.create(slug=f"t{i}", name=f"T{i}") for i in range(2)]
for i in range(40):
    audit.record(None, Action.CLIENT_UPDATE, tenant=tenants[i % 2], target=f"c-{i}")
"""


def test_a_killed_streamer_process_is_resumed_by_the_next_without_losing_or_reordering_events(
    tmp_path: Path,
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.fixtures.second_process import child_env

    root = Path(__file__).resolve().parents[2]
    r = Receiver(delay=0.05)
    env = child_env(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'stream.sqlite3'}",
        AUDIT_STREAM_WEBHOOK_URL=r.url,
        AUDIT_STREAM_WEBHOOK_SECRET=SECRET,
        AUDIT_STREAM_WEBHOOK_HTTP_LOOPBACK="1",
        AUDIT_STREAM_BATCH="4",
        AUDIT_STREAM_POLL="0.05",
    )
    try:
        seeded = subprocess.run(
            [sys.executable, "-c", _SEED], cwd=root, env=env, capture_output=True, text=True, timeout=120
        )
        assert seeded.returncode == 0, seeded.stderr
        first = subprocess.Popen(
            [sys.executable, "manage.py", "stream_audit"],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while len(r.accepted) < 12 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)  # mid-stream: its lease is still held, a batch may be in flight
        first.wait()
        assert 12 <= len(r.accepted) < 40
        again = subprocess.run(
            [sys.executable, "manage.py", "stream_audit", "--once"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert again.returncode == 0, again.stderr
    finally:
        r.close()
    ids = [e["id"] for e in r.accepted]
    once = list(dict.fromkeys(ids))  # a receiver drops repeats by id
    assert once == list(range(1, 41))  # every event, in order
    assert len(ids) - len(once) <= 4  # at most the batch in flight when it died was sent twice
    assert all(r.signatures_ok)


def test_it_takes_over_the_lease_of_a_dead_streamer_on_this_host_only(
    settings: Any, tmp_path: Path, tenant: Tenant
) -> None:
    import os
    import socket
    import subprocess
    import sys

    settings.AUDIT_STREAM_FILE = str(tmp_path / "audit.jsonl")
    audit.record(None, Action.CLIENT_UPDATE, tenant=tenant)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    host = socket.gethostname()[:30]
    until = datetime.now(UTC) + timedelta(minutes=5)
    streamer = stream.Streamer(stream.configured_sinks())
    for holder, taken in (
        (f"elsewhere:{gone.stdout.strip()}:p:i", False),  # another host: its process cannot be checked
        (f"{host}:{os.getppid()}:p:i", False),  # alive
        (f"{host}:{gone.stdout.strip()}:p:i", True),  # died
    ):
        AuditStreamCursor.objects.update_or_create(
            sink=stream.FILE, defaults={"lease_owner": holder, "lease_until": until}
        )
        assert streamer.step(streamer.sinks[0]).busy is not taken
