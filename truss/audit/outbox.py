"""Write-ahead: the outbox, and the drain that chains what waits in it (after the response, or on a thread).

Appending to a chain locks its head row and writes three rows (more with the consent ledger's receiver): too
slow for a redirect that should only cost its Hydra calls. ``record(..., soon=True)`` writes the event ahead
into the outbox with one INSERT, committed before the answer leaves; right after the answer (Django's
request_finished, which the WSGI server sends once the response is written) the same thread chains it. Should
the process die in between, the row stays and the next drain in any process chains it: never lost, never
chained twice.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.signals import request_finished
from django.db import DatabaseError, close_old_connections, connections, transaction

from truss import metrics
from truss.audit.chain import (
    DELETE_WAITING,
    SELECT_WAITING,
    append_all,
    append_with_retries,
    log_checkpoint,
    statement,
)
from truss.audit.events import logger
from truss.models import AuditEvent, AuditOutbox

_OUTBOX_FIELDS = (
    "tenant_id",
    "actor",
    "action",
    "target",
    "outcome",
    "request_id",
    "ip",
    "before",
    "after",
    "detail",
)
_queued = threading.local()


def write_ahead(event: AuditEvent) -> None:
    """Durable now (one INSERT into the outbox), chained right after the answer is sent (see record's soon)."""
    try:
        AuditOutbox.objects.create(chain=event.chain, event={f: getattr(event, f) for f in _OUTBOX_FIELDS})
    except DatabaseError:
        if transaction.get_connection().in_atomic_block:
            raise
        logger.warning("audit outbox unwritable; appending directly", exc_info=True)
        append_with_retries(event)  # the slow way, with its retries: never lose the event
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
                        appended = append_all(
                            chain, [AuditEvent(chain=chain, **row.event) for row in members]
                        )
                        statement(DELETE_WAITING, len(members), [r.pk for r in members])
                except Exception:
                    logger.exception("audit outbox: chain %s could not be chained; its events wait", chain)
                    stuck.add(chain)
                    continue
                written += appended
                done += len(members)
        for event in written:
            log_checkpoint(event)
        if len(rows) < batch:
            break
    if stuck:
        raise OutboxStuck(
            f"events of {len(stuck)} chain(s) wait in the audit outbox: {', '.join(sorted(stuck))}"
        )
    return done


@dataclass(frozen=True, order=True)
class _Waiting:
    chain: str
    pk: int
    event: dict[str, Any] = field(compare=False)


def _waiting(stuck: set[str], batch: int) -> list[_Waiting]:
    """The oldest ``batch`` outbox rows outside the ``stuck`` chains, locked (FOR UPDATE where supported)."""
    rows = statement(SELECT_WAITING, len(stuck), [*sorted(stuck), batch])
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
                metrics.audit_drain_failed()
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
        metrics.audit_drain_failed()


request_finished.connect(_drain_after_response, dispatch_uid="truss.audit.drain_outbox")
