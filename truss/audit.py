"""The audit log: one append-only, hash-chained event per mutation, with secrets redacted.

Each row's hash is SHA-256 over its canonical JSON and the previous row's hash, so editing, deleting or
reordering rows breaks the chain from that point on; `manage.py verify_audit` finds the first broken link.

There is one chain per tenant (plus one for events without a tenant), each with its own head row, so tenants
never wait for each other's appends; rows written before per-tenant chains stay in the "legacy" chain, which is
verified like the others. The head row only detects removal of a chain's newest rows while it is itself intact:
signed checkpoints (`checkpoint()`, `manage.py audit_checkpoint`, logged every AUDIT_CHECKPOINT_EVERY events)
are the anchor outside the table that `verify_chain(checkpoints=…)` checks truncation against.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import hmac
import itertools
import json
import logging
import random
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import request_finished
from django.db import (
    DatabaseError,
    IntegrityError,
    OperationalError,
    close_old_connections,
    connections,
    transaction,
)
from django.db.models.signals import post_save
from django.http import HttpRequest
from django.utils import timezone

from truss.models import AuditChainHead, AuditEvent, AuditOutbox, Tenant
from truss.redaction import redact, redact_text

logger = logging.getLogger("truss.audit")

GENESIS = "0" * 64
LEGACY_CHAIN = (
    "legacy"  # rows written before per-tenant chains (migration 0004), verified as they were chained
)
GLOBAL_CHAIN = "global"  # events without a tenant
CHECKPOINT_KIND = "truss.audit.checkpoint"


def chain_for(tenant_id: int | None) -> str:
    return f"tenant:{tenant_id}" if tenant_id else GLOBAL_CHAIN


def _canonical(event: AuditEvent) -> bytes:
    payload = {
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
    }
    if (
        event.chain != LEGACY_CHAIN
    ):  # legacy rows were hashed without it; every newer row is bound to its chain
        payload["chain"] = event.chain
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def _jsonable(value: Any) -> Any:
    """Exactly what the JSON column will hold, so the hash covers what is stored (datetimes become text)."""
    return None if value is None else _storable(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def _storable(value: Any) -> Any:
    """PostgreSQL's text and jsonb refuse NUL characters, which bad input (echoed in a failure's detail) may
    carry: they become U+FFFD, so the event of a refused request is still written."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def actor_of(request: HttpRequest | None) -> str:
    if request is None:
        return "system"
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return f"apikey:{api_key.prefix}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.get_username()}"
    return "anonymous"


def record(
    request: HttpRequest | None,
    action: str,
    *,
    tenant: Tenant | None,
    target: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    before: Any = None,
    after: Any = None,
    detail: str = "",
    actor: str | None = None,
) -> AuditEvent:
    """Append one event. Call it for every mutation, failed ones included (outcome="failure")."""
    event = _event(request, action, tenant=tenant, target=target, outcome=outcome, before=before, after=after,
                   detail=detail, actor=actor)  # fmt: skip
    return _append_with_retries(event)


def _event(
    request: HttpRequest | None,
    action: str,
    *,
    tenant: Tenant | None,
    target: str,
    outcome: str,
    before: Any,
    after: Any,
    detail: str,
    actor: str | None,
) -> AuditEvent:
    return AuditEvent(
        tenant=tenant,
        actor=_storable(actor or actor_of(request)),
        action=action,
        target=_storable(target[:300]),
        outcome=outcome,
        request_id=getattr(request, "request_id", "") if request is not None else "",
        ip=request.META.get("REMOTE_ADDR") if request is not None else None,
        before=_jsonable(redact(before)),
        after=_jsonable(redact(after)),
        detail=_storable(redact_text(detail)[:2000]),
        chain=chain_for(tenant.pk if tenant is not None else None),
    )


# --- Refusals that name nothing real ---------------------------------------------------------------------------
#
# Some endpoints answer anyone (the bridge's consent API). A refusal there that names no challenge, subject or
# tenant anyone has is not chained: anyone could send thousands a second and bury the real events. Each one is
# a log line and a count per (action, reason) here, for a metrics exporter to read.

_not_chained: collections.Counter[tuple[str, str]] = collections.Counter()
_not_chained_lock = threading.Lock()


def not_chained(action: str, reason: str) -> None:
    """Count (and log) one refusal that names nothing real. ``reason``: a short fixed word, never input."""
    with _not_chained_lock:
        _not_chained[(action, reason)] += 1
    logger.info("refused, not chained (names nothing real): %s %s", action, reason)


def not_chained_counts() -> dict[tuple[str, str], int]:
    """Refusals counted instead of chained since this process started, per (action, reason)."""
    with _not_chained_lock:
        return dict(_not_chained)


# --- Write-ahead: the outbox -----------------------------------------------------------------------------------
#
# Appending to a chain locks its head row and writes three rows (more with the consent ledger's receiver): too
# slow for a redirect that should only cost its Hydra calls. ``record_soon`` writes the event ahead into the
# outbox with one INSERT, committed before the answer leaves; right after the answer (Django's request_finished,
# which the WSGI server sends once the response is written) the same thread chains it. Should the process die
# in between, the row stays and the next drain in any process chains it: never lost, never chained twice.

_OUTBOX_FIELDS = ("tenant_id", "actor", "action", "target", "outcome", "request_id", "ip", "before", "after",
                  "detail")  # fmt: skip
_queued = threading.local()


def record_soon(
    request: HttpRequest | None,
    action: str,
    *,
    tenant: Tenant | None,
    target: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    before: Any = None,
    after: Any = None,
    detail: str = "",
    actor: str | None = None,
) -> None:
    """Like record(), for the bridge's redirects: durable now, chained right after the answer is sent."""
    event = _event(request, action, tenant=tenant, target=target, outcome=outcome, before=before, after=after,
                   detail=detail, actor=actor)  # fmt: skip
    try:
        AuditOutbox.objects.create(chain=event.chain, event={f: getattr(event, f) for f in _OUTBOX_FIELDS})
    except DatabaseError:
        if transaction.get_connection().in_atomic_block:
            raise
        logger.warning("audit outbox unwritable; appending directly", exc_info=True)
        _append_with_retries(event)  # the slow way, with its retries: never lose the event
        return
    _queued.pending = True


class OutboxStuck(Exception):
    """Some chains' waiting events could not be chained (logged); every other chain was drained."""


def drain_outbox(batch: int = 100) -> int:
    """Chain every event waiting in the outbox (oldest first, per chain in order); returns how many.

    Each chain is appended in its own savepoint: an event that cannot be chained (a bug, a payload an older or
    newer release wrote) holds back its own chain only, never the other tenants'; it stays in the outbox and
    OutboxStuck is raised once the rest is done, so the drainer retries and the failure is visible."""
    done = 0
    stuck: set[str] = set()
    while True:
        with transaction.atomic():
            # Concurrent drainers wait for each other (no SKIP LOCKED): one that skipped locked rows could chain a
            # tenant's later event before its earlier ones. Drains are short, and off the requests' threads.
            rows = _waiting(stuck, batch)
            if not rows:
                break
            written: list[AuditEvent] = []
            # Heads locked in one order (chain name) by every drainer: two drains never deadlock.
            for chain, group in itertools.groupby(sorted(rows), key=lambda r: r.chain):
                members = list(group)
                try:
                    with transaction.atomic():
                        appended = _append_all(
                            chain, [AuditEvent(chain=chain, **row.event) for row in members]
                        )
                        _sql(_DELETE_WAITING, len(members), [r.pk for r in members])
                except Exception:
                    logger.exception("audit outbox: chain %s could not be chained; its events wait", chain)
                    stuck.add(chain)
                    continue
                written += appended
                done += len(members)
        for event in written:
            _log_checkpoint(event)
        if len(rows) < batch:
            break
    if stuck:
        raise OutboxStuck(
            f"events of {len(stuck)} chain(s) wait in the audit outbox: {', '.join(sorted(stuck))}"
        )
    return done


def _append_all(chain: str, events: list[AuditEvent]) -> list[AuditEvent]:
    """Append ``events`` to ``chain`` in the caller's transaction: one head lock, one INSERT, one head update for
    the whole batch (appending one by one cost ~10 statements an event). post_save is sent for each event, as
    a save() would, so receivers (the consent ledger, the hygiene snapshot) see every one."""
    head_id, previous = _locked_head(chain)
    for event in events:
        event.pk = None
        event.created_at = timezone.now()  # under the chain's lock: created_at never decreases as id grows
        event.prev_hash = previous
        event.hash = previous = compute_hash(event)
    _insert(events)
    _sql(_UPDATE_HEAD, 1, [previous, head_id])
    for event in events:
        post_save.send(sender=AuditEvent, instance=event, created=True, update_fields=None, raw=False,
                       using=transaction.get_connection().alias)  # fmt: skip
    return events


def _locked_head(chain: str) -> tuple[int, str]:
    """The chain's head row (id, last hash), locked until the caller's transaction ends."""
    found = _sql(_LOCK_HEAD, 1, [chain])
    if not found:  # a chain's first event: create its head (another append may race us to it)
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=chain, last_hash=GENESIS)], ignore_conflicts=True
        )
        found = _sql(_LOCK_HEAD, 1, [chain])
    head_id, last_hash = found[0]
    return head_id, last_hash


# The drain's statements, written out once: the ORM compiled each anew on every drain, which cost more CPU than
# the database took to run them (a drain of a flow's two events: 2.35 → 1.15 ms of Python), on every end-user
# flow. {n}: placeholders for n values; {rows}: n rows of an event's columns; FOR UPDATE where the database has it.
@dataclass(frozen=True, order=True)
class _Waiting:
    chain: str
    pk: int
    event: dict[str, Any] = field(compare=False)


_OUTBOX, _HEADS = AuditOutbox._meta.db_table, AuditChainHead._meta.db_table
_SELECT_WAITING = f"SELECT id, chain, event FROM {_OUTBOX} {{where}} ORDER BY id LIMIT %s{{for_update}}"
_DELETE_WAITING = f"DELETE FROM {_OUTBOX} WHERE id IN ({{n}})"
_LOCK_HEAD = f"SELECT id, last_hash FROM {_HEADS} WHERE chain = %s{{for_update}}"
_UPDATE_HEAD = f"UPDATE {_HEADS} SET last_hash = %s WHERE id = %s"
# Quoted: "before" and "after" are keywords in SQLite.
_EVENT_COLUMNS = [f'"{f.column}"' for f in AuditEvent._meta.concrete_fields if not f.primary_key]
_INSERT_EVENTS = (
    f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(_EVENT_COLUMNS)}) VALUES {{rows}} RETURNING id"
)


@functools.lru_cache(maxsize=512)
def _statement(template: str, n: int, for_update: bool) -> str:
    marks = ", ".join(["%s"] * n)
    row = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
    return template.format(
        n=marks,
        rows=", ".join([row] * n),
        where=f"WHERE chain NOT IN ({marks})" if n else "",
        for_update=" FOR UPDATE" if for_update else "",
    )


def _sql(template: str, n: int, params: list[Any]) -> list[tuple[Any, ...]]:
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        cursor.execute(_statement(template, n, connection.features.has_select_for_update), params)
        return cursor.fetchall() if cursor.description else []


def _insert(events: list[AuditEvent]) -> None:
    """One multi-row INSERT … RETURNING id (PostgreSQL, SQLite ≥ 3.35), each value adapted by its field exactly
    as a save() adapts it. Both databases number the rows in VALUES order, but neither promises RETURNING's
    order: the ids are sorted before they are handed out."""
    connection = transaction.get_connection()
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    params = [f.get_db_prep_save(getattr(e, f.attname), connection) for e in events for f in fields]
    ids = sorted(pk for (pk,) in _sql(_INSERT_EVENTS, len(events), params))
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk
        event._state.adding, event._state.db = False, connection.alias


def _waiting(stuck: set[str], batch: int) -> list[_Waiting]:
    """The oldest ``batch`` outbox rows outside the ``stuck`` chains, locked (FOR UPDATE where supported)."""
    rows = _sql(_SELECT_WAITING, len(stuck), [*sorted(stuck), batch])
    return [
        _Waiting(chain, pk, json.loads(event) if isinstance(event, str) else event)
        for pk, chain, event in rows
    ]


DRAINER_IDLE_CLOSE = 30.0  # seconds without events after which the drainer closes its database connection
DRAINER_RETRY = 5.0  # seconds until a failed drain is tried again, with or without new events


class _Drainer:
    """One thread per process chains the outbox shortly after a request queued an event (AUDIT_DRAIN_DELAY):
    the request's thread is free at once, and events queued meanwhile by other requests share one batch."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        with self._lock:  # started lazily: after gunicorn's fork, in the process that serves
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="truss-audit-drain", daemon=True)
                self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        failed = False
        while True:
            if not self._wake.wait(timeout=DRAINER_RETRY if failed else DRAINER_IDLE_CLOSE) and not failed:
                connections.close_all()  # idle: give the database connection back (nothing waits for it)
                self._wake.wait()
            time.sleep(settings.AUDIT_DRAIN_DELAY or 0.0)
            self._wake.clear()
            try:
                drain_outbox()
                failed = False
            except Exception:  # the thread must survive anything; the rows stay and are retried
                logger.exception("audit outbox drain failed; retrying in %s s", DRAINER_RETRY)
                failed = True
            finally:
                close_old_connections()  # this thread's connection obeys CONN_MAX_AGE and health like a request's


_drainer = _Drainer()


def _drain_after_response(**kwargs: Any) -> None:
    """request_finished: chain what this thread's request queued (and whatever else waits), at once or on the
    drainer thread (AUDIT_DRAIN_DELAY). Never raises: a failed drain leaves the rows for the next one."""
    if not getattr(_queued, "pending", False):
        return
    _queued.pending = False
    if settings.AUDIT_DRAIN_DELAY is not None:
        _drainer.kick()
        return
    try:
        drain_outbox()
    except Exception:  # never fail the response's cleanup: the rows stay for the next drain
        logger.exception("audit outbox drain failed; the next drain retries")


request_finished.connect(_drain_after_response, dispatch_uid="truss.audit.drain_outbox")


# Lock waits are absorbed by the database (SQLite's busy timeout, PostgreSQL's row lock); these retries cover
# what is left (a lock wait that timed out, a dropped connection), so an append gives up only after a long time.
_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0)


def _append_with_retries(event: AuditEvent) -> AuditEvent:
    for delay in (*_RETRY_DELAYS, None):
        try:
            written = _append(event)
        except (OperationalError, IntegrityError) as exc:
            if delay is None or transaction.get_connection().in_atomic_block:
                raise  # inside a caller's transaction a retry cannot help: the caller's block must fail
            logger.warning("audit append failed (%s); retrying in %.2fs", exc, delay)
            transaction.get_connection().close_if_unusable_or_obsolete()
            time.sleep(delay * (1 + random.random() / 2))
        else:
            _log_checkpoint(written)
            return written
    raise AssertionError("unreachable")


class Mutation:
    """One audited mutation: ``with audit.mutation(...) as event:`` records a failure event for any error
    escaping the block (bad input included), and ``event.success(...)`` records the success. Exactly one
    event either way."""

    def __init__(self, request: HttpRequest | None, action: str, tenant: Tenant | None, target: str) -> None:
        self.request, self.action, self.tenant, self.target = request, action, tenant, target
        self.before: Any = None
        self.done = False

    def __enter__(self) -> Mutation:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None and not self.done:
            detail = getattr(exc, "fields", None) or str(exc)
            self.failure(str(detail))

    def failure(self, detail: str, *, outcome: str = AuditEvent.Outcome.FAILURE) -> None:
        record(self.request, self.action, tenant=self.tenant, target=self.target, before=self.before,
               outcome=outcome, detail=detail)  # fmt: skip
        self.done = True

    def success(self, *, after: Any = None, target: str | None = None) -> None:
        """Record the success of a change already made upstream. It never raises: the change happened, so the
        caller must hear so. Lock waits and transient errors are retried for about a minute; should the
        database stay unwritable, the event is logged (CRITICAL, redacted) to be re-entered from the log."""
        self.done = True
        try:
            record(self.request, self.action, tenant=self.tenant, target=target or self.target,
                   before=self.before, after=after)  # fmt: skip
        except DatabaseError:
            logger.critical(
                "audit event NOT WRITTEN for a change that was applied: %s",
                json.dumps(
                    {
                        "tenant": self.tenant.pk if self.tenant else None,
                        "actor": actor_of(self.request),
                        "action": self.action,
                        "target": target or self.target,
                        "outcome": "success",
                        "after": _jsonable(redact(after)),
                    },
                    sort_keys=True,
                ),  # fmt: skip
                exc_info=True,
            )


def mutation(request: HttpRequest | None, action: str, tenant: Tenant | None, target: str = "") -> Mutation:
    """The one way console, API and bridge code audits a mutation (see Mutation)."""
    return Mutation(request, action, tenant, target)


def _append(event: AuditEvent) -> AuditEvent:
    with transaction.atomic():
        return _append_all(event.chain, [event])[0]


def _log_checkpoint(event: AuditEvent) -> None:
    """Every AUDIT_CHECKPOINT_EVERY-th event also puts a signed checkpoint of its chain into the log, which
    leaves the machine with the rest of the logs. Best effort: the event itself is already written."""
    every = settings.AUDIT_CHECKPOINT_EVERY
    if every and event.pk % every == 0:
        try:
            logger.info("%s", json.dumps(checkpoint([event.chain]), sort_keys=True))
        except DatabaseError:
            logger.warning("could not write the periodic audit checkpoint", exc_info=True)


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None  # id of the first event whose link does not hold (0: no row to name)
    reason: str = ""
    chain: str = ""
    chains: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _events(chain: str) -> Iterator[AuditEvent]:
    return AuditEvent.objects.filter(chain=chain).order_by("id").iterator(chunk_size=5000)


def chains() -> list[str]:
    """Every chain that has rows or a head row."""
    names = set(AuditEvent.objects.values_list("chain", flat=True).distinct())
    return sorted(names | set(AuditChainHead.objects.values_list("chain", flat=True)))


def _verify_one(chain: str, anchors: dict[int, str]) -> tuple[int, ChainReport | None]:
    """Walk one chain from its genesis; `anchors` maps event ids a checkpoint vouches for to their hashes."""
    prev = GENESIS
    checked = 0
    last_id: int | None = None
    for event in _events(chain):
        if event.prev_hash != prev:
            return checked, ChainReport(
                checked,
                event.pk,
                "previous hash does not match: a row before it was removed or edited",
                chain,
            )
        if compute_hash(event) != event.hash:
            return checked, ChainReport(
                checked, event.pk, "row content does not match its hash: it was edited", chain
            )
        if event.pk in anchors and anchors.pop(event.pk) != event.hash:
            return checked, ChainReport(
                checked, event.pk, "the chain differs from the signed checkpoint", chain
            )
        prev = event.hash
        last_id = event.pk
        checked += 1
    if anchors:
        missing = min(anchors)
        return checked, ChainReport(
            checked, missing, f"event #{missing} of a signed checkpoint is missing: rows were removed", chain
        )
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and head.last_hash != prev:
        return checked, ChainReport(
            checked, last_id or 0, "the newest rows were removed: the chain head does not match", chain
        )
    return checked, None


def verify_chain(checkpoints: Iterable[dict[str, Any]] = ()) -> ChainReport:
    """Verify every chain, and that each chain still reaches the position the latest checkpoint recorded for it.

    Raises CheckpointError for a checkpoint whose signature does not hold (forged or for another key)."""
    anchors: dict[str, dict[int, str]] = {}
    latest: dict[str, str] = {}
    for point in checkpoints:
        check_signature(point)
        for name, position in point["chains"].items():
            if point["created_at"] >= latest.get(name, ""):
                latest[name] = point["created_at"]
                anchors[name] = {int(position["last_id"]): str(position["last_hash"])}
    total = 0
    names = sorted(set(chains()) | set(anchors))
    for name in names:
        checked, problem = _verify_one(name, dict(anchors.get(name, {})))
        total += checked
        if problem is not None:
            return ChainReport(total, problem.broken_at, problem.reason, name, len(names))
    return ChainReport(total, None, chains=len(names))


# --- Signed checkpoints: the anchor outside the table ----------------------------------------------------------


class CheckpointError(ValueError):
    """A checkpoint that is malformed or whose signature does not hold."""


def _checkpoint_key() -> bytes:
    if settings.AUDIT_CHECKPOINT_KEY:
        return str(settings.AUDIT_CHECKPOINT_KEY).encode()
    return hashlib.sha256(b"truss.audit.checkpoint:" + str(settings.SECRET_KEY).encode()).digest()


def _signature(body: dict[str, Any]) -> str:
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    message = json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(_checkpoint_key(), message, hashlib.sha256).hexdigest()


def checkpoint(only: Iterable[str] | None = None) -> dict[str, Any]:
    """A signed statement of where each chain's head is now: {chain: {last_id, last_hash}}."""
    wanted = set(only) if only is not None else None
    positions: dict[str, dict[str, Any]] = {}
    with transaction.atomic():  # heads and their rows are written together, so read them together
        for head in AuditChainHead.objects.order_by("chain"):
            if (wanted is not None and head.chain not in wanted) or head.last_hash == GENESIS:
                continue
            last_id = AuditEvent.objects.filter(hash=head.last_hash).values_list("id", flat=True).first()
            if last_id is not None:
                positions[head.chain] = {"last_id": last_id, "last_hash": head.last_hash}
    body: dict[str, Any] = {
        "kind": CHECKPOINT_KIND, "created_at": timezone.now().isoformat(), "chains": positions,
    }  # fmt: skip
    body["signature"] = _signature(body)
    return body


def check_signature(point: dict[str, Any]) -> None:
    if point.get("kind") != CHECKPOINT_KIND or not isinstance(point.get("chains"), dict):
        raise CheckpointError("not a Truss audit checkpoint")
    if not hmac.compare_digest(str(point.get("signature", "")), _signature(point)):
        raise CheckpointError(
            "the checkpoint's signature does not match: forged, altered or signed with another key"
        )


def read_checkpoints(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Checkpoints from a file of JSON lines or log lines containing them (other lines are skipped)."""
    found: list[dict[str, Any]] = []
    for line in lines:
        start = line.find("{")
        if start < 0 or CHECKPOINT_KIND not in line:
            continue
        try:
            point = json.loads(line[start:])
        except ValueError as exc:
            raise CheckpointError(f"unreadable checkpoint line: {exc}") from exc
        if isinstance(point, dict):
            found.append(point)
    return found
