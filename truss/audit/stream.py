"""Audit streaming: every chained event delivered at least once, in order per tenant, to the configured sinks.

Sinks: a file of JSON lines (appended, then fsynced: for a log shipper) and an HTTPS webhook (a JSON body
``{"events": [...]}`` signed with HMAC-SHA256). Each sink has its own cursor in the database
(``AuditStreamCursor``), moved only once the sink acknowledged a batch (file: written and fsynced; webhook: a
2xx), so a restart resumes where it stopped and a batch that was not acknowledged is sent again: receivers drop
repeats by the event's ``id``. A failing sink is retried with exponential backoff (with jitter, capped) and
holds back only itself: the streamer runs in its own process (``manage.py stream_audit``), never in a request.

Order: events are read in id order. Ids are taken when an event is chained, under its chain's head lock, so a
tenant's events are numbered (and committed) in their order. Tenants do not wait for each other, so an id can
become visible after a higher one of another tenant (its transaction was still open): such an id is a "hole"
the cursor remembers and delivers when it appears; one that never appears (a rolled-back append) is given up
after AUDIT_STREAM_HOLE_TIMEOUT.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import close_old_connections
from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from truss import urls_check
from truss.audit.events import logger
from truss.models import AuditEvent, AuditOutbox, AuditStreamCursor

FILE, WEBHOOK = "file", "webhook"
SINKS = (FILE, WEBHOOK)
SIGNATURE_HEADER = "X-Truss-Signature"
TIMESTAMP_HEADER = "X-Truss-Timestamp"
SIGNATURE_TOLERANCE = 300  # seconds a receiver should accept a timestamp away from its clock
MAX_NEW_HOLES = 10_000  # ids remembered per batch as not yet visible; a larger jump is not waited for
_ERROR_LENGTH = 500
_PROCESS = uuid.uuid4().hex[:8]  # this process, in a lease's owner (a pid is reused across restarts)


class SinkError(Exception):
    """The sink did not acknowledge the batch (the message names what happened, never the payload)."""


# --- What is sent -----------------------------------------------------------------------------------------


def serialize(event: AuditEvent) -> dict[str, Any]:
    """One event as it is streamed: the stored (already redacted) fields, its chain and hashes, so a receiver
    can drop repeats by ``id`` and check the chain."""
    return {
        "id": event.pk,
        "chain": event.chain,
        "tenant": event.tenant_id,
        "created_at": event.created_at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "ip": event.ip,
        "before": event.before,
        "after": event.after,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _dumps(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<raw body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signature_ok(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None
) -> bool:
    """What a receiver checks: the signature over the timestamp and the raw body, and a timestamp within
    SIGNATURE_TOLERANCE of its clock (a captured request replayed later is refused)."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= SIGNATURE_TOLERANCE and hmac.compare_digest(sign(secret, timestamp, body), signature)


# --- Sinks ------------------------------------------------------------------------------------------------


class Sink(Protocol):
    kind: str

    def deliver(self, events: list[dict[str, Any]]) -> None:
        """Return once the sink has the events durably; raise SinkError otherwise."""

    def describe(self) -> str:
        """Where it delivers, safe to show (no credentials)."""


class FileSink:
    """JSON lines appended to a file, flushed and fsynced before the cursor moves."""

    kind = FILE

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return str(self.path)

    def deliver(self, events: list[dict[str, Any]]) -> None:
        data = b"".join(_dumps(e) + b"\n" for e in events)
        try:
            with self.path.open("ab") as out:
                if out.tell() > 0 and not _ends_with_newline(self.path):
                    out.write(b"\n")  # a line cut short by an earlier failure (disk full) stays alone
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            raise SinkError(f"cannot append to {self.path}: {exc.strerror or exc}") from exc


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


class WebhookSink:
    """One signed POST per batch; any 2xx acknowledges it. Redirects are not followed and no proxy from the
    environment is used: the events go to exactly the configured URL."""

    kind = WEBHOOK

    def __init__(self, url: str, secret: str, timeout: float) -> None:
        self.url, self.secret, self.timeout = url, secret, timeout
        self._session = requests.Session()
        self._session.trust_env = False

    def describe(self) -> str:
        return _shown(self.url)

    def deliver(self, events: list[dict[str, Any]]) -> None:
        body = _dumps({"events": events})
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            "User-Agent": "truss-audit-stream",
        }
        try:
            response = self._session.post(
                self.url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
            )
        except requests.Timeout as exc:
            raise SinkError("webhook timed out") from exc
        except requests.RequestException as exc:
            raise SinkError(f"webhook unreachable ({type(exc).__name__})") from exc
        if not 200 <= response.status_code < 300:
            raise SinkError(f"webhook answered HTTP {response.status_code}")


def webhook_problem(url: str, *, http_loopback: bool) -> str | None:
    """Why ``url`` cannot be the audit webhook, or None. https only; plain http only to a loopback host and only
    with AUDIT_STREAM_WEBHOOK_HTTP_LOOPBACK (DEBUG by default). Internal hosts are allowed on purpose: the URL is
    the operator's own setting (a SIEM inside the network), never anyone's input."""
    if "\\" in url or any(c.isspace() for c in url):
        return "contains a backslash or whitespace"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (a malformed port raises)
    except ValueError:
        return "is not a valid URL"
    if not host:
        return "has no host"
    if parts.username or parts.password:
        return "must not carry credentials (the HMAC secret authenticates Truss)"
    try:
        urls_check.literal_address(urls_check.normalized(host))
    except urls_check.NotAHost:
        return "has a malformed host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and urls_check.is_loopback_host(host):
        return None if http_loopback else "must be https (http only to loopback with DEBUG)"
    return "must be https"


def _shown(url: str) -> str:
    """The URL without credentials, query or fragment: safe to show."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _webhook_misconfigured() -> str | None:
    url = settings.AUDIT_STREAM_WEBHOOK_URL
    problem = webhook_problem(url, http_loopback=settings.AUDIT_STREAM_WEBHOOK_HTTP_LOOPBACK)
    if problem:
        return f"AUDIT_STREAM_WEBHOOK_URL {problem}"
    if len(settings.AUDIT_STREAM_WEBHOOK_SECRET) < 16:
        return "AUDIT_STREAM_WEBHOOK_SECRET must be set (at least 16 characters)"
    return None


def configured_sinks() -> list[Sink]:
    """The sinks the settings turn on. A webhook without a secret or with a URL it refuses stops the streamer."""
    sinks: list[Sink] = []
    if settings.AUDIT_STREAM_FILE:
        sinks.append(FileSink(settings.AUDIT_STREAM_FILE))
    if settings.AUDIT_STREAM_WEBHOOK_URL:
        problem = _webhook_misconfigured()
        if problem:
            raise ImproperlyConfigured(problem)
        sinks.append(
            WebhookSink(
                settings.AUDIT_STREAM_WEBHOOK_URL,
                settings.AUDIT_STREAM_WEBHOOK_SECRET,
                settings.AUDIT_STREAM_WEBHOOK_TIMEOUT,
            )
        )
    return sinks


# --- The cursor -------------------------------------------------------------------------------------------


def _pending(cursor: AuditStreamCursor) -> Q:
    """The events not yet delivered to the cursor's sink: above ``top``, and the holes below it."""
    found = Q(id__gt=cursor.top)
    if cursor.holes:
        found |= Q(id__in=[int(h) for h in cursor.holes])
    return found


def _advance(cursor: AuditStreamCursor, ids: list[int], now: datetime) -> None:
    """Move the cursor past the acknowledged ``ids``: ids skipped between them become holes; holes that stayed
    empty for AUDIT_STREAM_HOLE_TIMEOUT are given up."""
    holes = {k: v for k, v in cursor.holes.items() if int(k) not in ids}
    delivered = set(ids)
    new_top = max([cursor.top, *ids])
    low = cursor.top + 1 if cursor.top else min([new_top, *ids])  # a new cursor starts at the oldest event
    missing = [i for i in range(low, new_top) if i not in delivered]
    if len(missing) > MAX_NEW_HOLES:
        logger.warning("audit stream %s: ids jumped by %s; not waiting for them", cursor.sink, len(missing))
        missing = []
    for i in missing:
        holes.setdefault(str(i), now.isoformat())
    cursor.top = new_top
    cursor.holes = holes
    _expire_holes(cursor, now)


def _expire_holes(cursor: AuditStreamCursor, now: datetime) -> None:
    limit = timedelta(seconds=settings.AUDIT_STREAM_HOLE_TIMEOUT)
    expired = [k for k, seen in cursor.holes.items() if now - datetime.fromisoformat(seen) > limit]
    for k in expired:
        del cursor.holes[k]
    if expired:
        logger.info(
            "audit stream %s: %s id(s) never appeared (rolled back); moving on", cursor.sink, len(expired)
        )
    cursor.position = min(int(h) for h in cursor.holes) - 1 if cursor.holes else cursor.top


def start_at_end(kind: str) -> bool:
    """Make a sink that has delivered nothing yet start after the newest event (its history is not sent).
    False when the sink already delivered something: its cursor is kept."""
    newest = AuditEvent.objects.aggregate(m=Max("id"))["m"] or 0
    cursor, _ = AuditStreamCursor.objects.get_or_create(sink=kind)
    return bool(
        AuditStreamCursor.objects.filter(pk=cursor.pk, delivered=0, top=0).update(position=newest, top=newest)
    )


def backoff(consecutive_failures: int) -> float:
    """Seconds until the next attempt: base * 2^(n-1), capped, with up to a quarter of jitter."""
    base, cap = settings.AUDIT_STREAM_RETRY_BASE, settings.AUDIT_STREAM_RETRY_MAX
    delay = min(base * 2 ** max(consecutive_failures - 1, 0), cap)
    return float(delay * (1 - random.random() / 4))


# --- The streamer -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    delivered: int
    failed: bool = False
    busy: bool = False  # another streamer holds this sink
    waiting: bool = False  # backing off after a failure


_STATE_FIELDS = [
    "position",
    "top",
    "holes",
    "delivered",
    "failures",
    "consecutive_failures",
    "last_delivered_at",
    "last_error",
    "last_error_at",
    "retry_at",
    "lease_until",
]


class Streamer:
    """Delivers the audit log to ``sinks``. Each sink is leased in the database while this streamer works on
    it, so two streamers never deliver the same sink at once (a second one waits for the lease)."""

    def __init__(self, sinks: list[Sink], owner: str | None = None) -> None:
        self.sinks = sinks
        self.owner = owner or f"{socket.gethostname()[:30]}:{os.getpid()}:{_PROCESS}:{uuid.uuid4().hex[:8]}"

    def _dead_here(self, holder: str) -> bool:
        """Whether ``holder`` was a streamer process on this host that no longer runs: its pid is gone, or is
        this process's while it was another process (a restarted container's pid 1)."""
        parts = holder.split(":")
        if len(parts) != 4 or parts[0] != socket.gethostname()[:30] or parts[2] == _PROCESS:
            return False
        try:
            pid = int(parts[1])
        except ValueError:
            return False
        if pid == os.getpid():
            return True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # it runs, as another user
            return False
        return False

    def _lease_seconds(self) -> float:
        return max(60.0, 3 * float(settings.AUDIT_STREAM_WEBHOOK_TIMEOUT))

    def _lease(self, kind: str, now: datetime) -> AuditStreamCursor | None:
        AuditStreamCursor.objects.get_or_create(sink=kind)
        until = now + timedelta(seconds=self._lease_seconds())
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=self.owner)
        holder = AuditStreamCursor.objects.filter(sink=kind).values_list("lease_owner", flat=True).first()
        if holder and self._dead_here(
            holder
        ):  # a streamer on this host that died: no need to wait out its lease
            free |= Q(lease_owner=holder)
        if not AuditStreamCursor.objects.filter(free, sink=kind).update(
            lease_owner=self.owner, lease_until=until
        ):
            return None
        return AuditStreamCursor.objects.get(sink=kind)

    def _save(self, cursor: AuditStreamCursor, now: datetime) -> None:
        cursor.lease_until = now + timedelta(seconds=self._lease_seconds())
        values = {f: getattr(cursor, f) for f in _STATE_FIELDS}
        if not AuditStreamCursor.objects.filter(pk=cursor.pk, lease_owner=self.owner).update(**values):
            logger.warning("audit stream %s: lease lost to another streamer; its cursor wins", cursor.sink)

    def release(self) -> None:
        AuditStreamCursor.objects.filter(lease_owner=self.owner).update(lease_owner="", lease_until=None)

    def step(self, sink: Sink) -> StepResult:
        """One batch to ``sink``: read what is pending, deliver it, move the cursor once it is acknowledged."""
        now = timezone.now()
        cursor = self._lease(sink.kind, now)
        if cursor is None:
            return StepResult(0, busy=True)
        if cursor.retry_at is not None and cursor.retry_at > now:
            return StepResult(0, waiting=True)
        events = list(
            AuditEvent.objects.filter(_pending(cursor)).order_by("id")[: settings.AUDIT_STREAM_BATCH]
        )
        if not events:
            _expire_holes(cursor, now)
            self._save(cursor, now)
            return StepResult(0)
        try:
            sink.deliver([serialize(e) for e in events])
        except Exception as exc:  # a sink's bug is a failed delivery too: the events stay pending
            message = (
                str(exc) if isinstance(exc, SinkError) else f"{type(exc).__name__} in the {sink.kind} sink"
            )
            if not isinstance(exc, SinkError):
                logger.exception("audit stream %s: delivery raised", sink.kind)
            cursor.failures += 1
            cursor.consecutive_failures += 1
            cursor.last_error, cursor.last_error_at = message[:_ERROR_LENGTH], now
            delay = backoff(cursor.consecutive_failures)
            cursor.retry_at = now + timedelta(seconds=delay)
            self._save(cursor, now)
            logger.warning("audit stream %s: %s; retrying in %.1f s", sink.kind, message, delay)
            return StepResult(0, failed=True)
        done = timezone.now()
        _advance(cursor, [e.pk for e in events], done)
        cursor.delivered += len(events)
        cursor.consecutive_failures, cursor.retry_at, cursor.last_delivered_at = 0, None, done
        self._save(cursor, done)
        return StepResult(len(events))

    def drain(self, sink: Sink) -> StepResult:
        """Batches to ``sink`` until it is caught up, fails, waits or is busy."""
        total = 0
        while True:
            result = self.step(sink)
            total += result.delivered
            if result.delivered < settings.AUDIT_STREAM_BATCH:
                return StepResult(total, result.failed, result.busy, result.waiting)

    def run_once(self) -> dict[str, StepResult]:
        """Every sink caught up once (cron, tests); a sink backing off is skipped. Leases are released."""
        try:
            return {sink.kind: self.drain(sink) for sink in self.sinks}
        finally:
            self.release()

    def run(self, stop: threading.Event) -> None:
        """Until ``stop``: each sink drained when due, then a pause (AUDIT_STREAM_POLL, or until the earliest
        retry). Errors of the database are logged and retried; nothing stops the loop but ``stop``."""
        try:
            while not stop.is_set():
                pause = settings.AUDIT_STREAM_POLL
                for sink in self.sinks:
                    try:
                        result = self.drain(sink)
                        if result.waiting or result.failed:
                            pause = min(pause, self._until_retry(sink.kind))
                    except Exception:
                        logger.exception("audit stream %s: step failed; retrying", sink.kind)
                    finally:
                        close_old_connections()
                stop.wait(max(pause, 0.05))
        finally:
            self.release()

    def _until_retry(self, kind: str) -> float:
        retry_at = AuditStreamCursor.objects.filter(sink=kind).values_list("retry_at", flat=True).first()
        if retry_at is None:
            return float(settings.AUDIT_STREAM_POLL)
        return max((retry_at - timezone.now()).total_seconds(), 0.0)


# --- What the overview and /metrics show (one source) -----------------------------------------------------


@dataclass(frozen=True)
class OutboxState:
    waiting: int
    oldest_age: float  # seconds; 0 when empty


def outbox_state() -> OutboxState:
    found = AuditOutbox.objects.aggregate(n=Count("id"), oldest=Min("created_at"))
    oldest = found["oldest"]
    age = max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else 0.0
    return OutboxState(waiting=int(found["n"] or 0), oldest_age=age)


@dataclass(frozen=True)
class SinkState:
    kind: str
    target: str  # where it delivers (no credentials), or why it is misconfigured
    misconfigured: bool
    position: int  # every event up to this id is delivered
    delivered: int
    failures: int
    consecutive_failures: int
    lag: int  # events not delivered yet
    oldest_undelivered_age: float  # seconds; 0 when caught up
    last_delivered_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    retry_at: datetime | None
    streaming: bool  # a streamer holds the sink's lease

    @property
    def state(self) -> str:
        if self.misconfigured:
            return "misconfigured"
        if self.consecutive_failures:
            return "failing"
        if self.lag and not self.streaming:
            return "stopped"
        return "behind" if self.lag else "ok"


def _targets() -> list[tuple[str, str, bool]]:
    """(kind, target, misconfigured) of each sink the settings name."""
    out = []
    if settings.AUDIT_STREAM_FILE:
        out.append((FILE, str(settings.AUDIT_STREAM_FILE), False))
    if settings.AUDIT_STREAM_WEBHOOK_URL:
        problem = _webhook_misconfigured()
        out.append((WEBHOOK, problem or _shown(settings.AUDIT_STREAM_WEBHOOK_URL), problem is not None))
    return out


def status() -> list[SinkState]:
    """Each configured sink's delivery state, read from its cursor and the audit log (two queries a sink)."""
    cursors = {c.sink: c for c in AuditStreamCursor.objects.filter(sink__in=SINKS)}
    now = timezone.now()
    out = []
    for kind, target, misconfigured in _targets():
        cursor = cursors.get(kind) or AuditStreamCursor(sink=kind)
        lag = AuditEvent.objects.filter(_pending(cursor)).aggregate(n=Count("id"), oldest=Min("created_at"))
        oldest = lag["oldest"]
        out.append(
            SinkState(
                kind=kind,
                target=target,
                misconfigured=misconfigured,
                position=cursor.position,
                delivered=cursor.delivered,
                failures=cursor.failures,
                consecutive_failures=cursor.consecutive_failures,
                lag=int(lag["n"] or 0),
                oldest_undelivered_age=max((now - oldest).total_seconds(), 0.0) if oldest else 0.0,
                last_delivered_at=cursor.last_delivered_at,
                last_error=cursor.last_error,
                last_error_at=cursor.last_error_at,
                retry_at=cursor.retry_at,
                streaming=cursor.lease_until is not None and cursor.lease_until > now,
            )
        )
    return out
