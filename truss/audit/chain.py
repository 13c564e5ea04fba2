"""Appending to a chain: lock the chain's head row, hash each event onto the previous one, insert, move the head.

Appends to one chain are serialised by its head row's lock, so a chain never forks; tenants never wait for each
other (one chain each). Transient failures (a lock wait that timed out, a dropped connection) are retried.
"""

from __future__ import annotations

import functools
import json
import random
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.db.models.signals import post_save
from django.utils import timezone

from truss import sql
from truss.audit import rollup
from truss.audit.events import GENESIS, compute_hash, logger
from truss.audit.verify import checkpoint
from truss.models import AuditChainHead, AuditEvent, AuditOutbox


def append_all(chain: str, events: list[AuditEvent]) -> list[AuditEvent]:
    """Append ``events`` to ``chain`` in the caller's transaction: one head lock, one INSERT, one head update for
    the whole batch (appending one by one cost ~10 statements an event), and one upsert of the daily rollup
    (truss/audit/rollup.py), so the counts commit or roll back with the events. post_save is sent for each
    event, as a save() would, so receivers (the consent ledger, the hygiene snapshot) see every one."""
    head_id, previous = _locked_head(chain)
    for event in events:
        event.pk = None
        event.created_at = timezone.now()  # under the chain's lock: created_at never decreases as id grows
        event.prev_hash = previous
        event.hash = previous = compute_hash(event)
    _insert(events)
    rollup.add_events(events)
    statement(UPDATE_HEAD, 1, [previous, head_id])
    for event in events:
        post_save.send(
            sender=AuditEvent,
            instance=event,
            created=True,
            update_fields=None,
            raw=False,
            using=transaction.get_connection().alias,
        )
    return events


def _locked_head(chain: str) -> tuple[int, str]:
    """The chain's head row (id, last hash), locked until the caller's transaction ends."""
    found = statement(LOCK_HEAD, 1, [chain])
    if not found:  # a chain's first event: create its head (another append may race us to it)
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=chain, last_hash=GENESIS)], ignore_conflicts=True
        )
        found = statement(LOCK_HEAD, 1, [chain])
    head_id, last_hash = found[0]
    return head_id, last_hash


# The drain's statements, written out once (truss/sql.py): the ORM compiled each anew on every drain, which cost
# more CPU than the database took to run them (bench/RESULTS.md), on every end-user flow. Each is built once per number of values it takes (n: placeholders, or rows to insert).
SELECT_WAITING, DELETE_WAITING, LOCK_HEAD, UPDATE_HEAD, INSERT_EVENTS = (
    "select waiting",
    "delete waiting",
    "lock head",
    "update head",
    "insert events",
)
_EVENT_FIELDS = [f.name for f in AuditEvent._meta.concrete_fields if not f.primary_key]


@functools.lru_cache(maxsize=512)
def _statement(kind: str, n: int) -> str:
    o, h, e = sql.names(AuditOutbox), sql.names(AuditChainHead), sql.names(AuditEvent)
    lock = sql.for_update()
    if kind == SELECT_WAITING:  # the oldest rows outside n stuck chains, locked
        where = f" WHERE {o.c['chain']} NOT IN ({sql.marks(n)})" if n else ""
        return f"SELECT {o.c['id']}, {o.c['chain']}, {o.c['event']} FROM {o.table}{where} ORDER BY {o.c['id']} LIMIT %s{lock}"
    if kind == DELETE_WAITING:
        return f"DELETE FROM {o.table} WHERE {o.c['id']} IN ({sql.marks(n)})"
    if kind == LOCK_HEAD:
        return f"SELECT {h.c['id']}, {h.c['last_hash']} FROM {h.table} WHERE {h.c['chain']} = %s{lock}"
    if kind == UPDATE_HEAD:
        return f"UPDATE {h.table} SET {h.c['last_hash']} = %s WHERE {h.c['id']} = %s"
    if kind == INSERT_EVENTS:
        row = f"({sql.marks(len(_EVENT_FIELDS))})"
        columns = ", ".join(e.c[f] for f in _EVENT_FIELDS)
        return f"INSERT INTO {e.table} ({columns}) VALUES {', '.join([row] * n)} RETURNING {e.c['id']}"
    raise ValueError(kind)


def statement(kind: str, n: int, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run one of the drain's statements (``kind``) for ``n`` values."""
    return sql.run(_statement(kind, n), params)


def _insert(events: list[AuditEvent]) -> None:
    """One multi-row INSERT … RETURNING id (PostgreSQL, SQLite ≥ 3.35), each value adapted by its field exactly
    as a save() adapts it. Both databases number the rows in VALUES order, but neither promises RETURNING's
    order: the ids are sorted before they are handed out."""
    connection = transaction.get_connection()
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    params = [f.get_db_prep_save(getattr(e, f.attname), connection) for e in events for f in fields]
    ids = sorted(pk for (pk,) in statement(INSERT_EVENTS, len(events), params))
    for event, pk in zip(events, ids, strict=True):
        event.pk = pk
        event._state.adding, event._state.db = False, connection.alias


# Lock waits are absorbed by the database (SQLite's busy timeout, PostgreSQL's row lock); these retries cover
# what is left (a lock wait that timed out, a dropped connection), so an append gives up only after a long time.
_RETRY_DELAYS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0)


def append_with_retries(event: AuditEvent) -> AuditEvent:
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
            log_checkpoint(written)
            return written
    raise AssertionError("unreachable")


def _append(event: AuditEvent) -> AuditEvent:
    with transaction.atomic():
        return append_all(event.chain, [event])[0]


def log_checkpoint(event: AuditEvent) -> None:
    """Every AUDIT_CHECKPOINT_EVERY-th event also puts a signed checkpoint of its chain into the log, which
    leaves the machine with the rest of the logs. Best effort: the event itself is already written."""
    every = settings.AUDIT_CHECKPOINT_EVERY
    if every and event.pk % every == 0:
        try:
            logger.info("%s", json.dumps(checkpoint([event.chain]), sort_keys=True))
        except DatabaseError:
            logger.warning("could not write the periodic audit checkpoint", exc_info=True)
