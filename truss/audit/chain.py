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

from truss.audit.events import GENESIS, compute_hash, logger
from truss.audit.verify import checkpoint
from truss.models import AuditChainHead, AuditEvent, AuditOutbox


def append_all(chain: str, events: list[AuditEvent]) -> list[AuditEvent]:
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
    sql(_UPDATE_HEAD, 1, [previous, head_id])
    for event in events:
        post_save.send(sender=AuditEvent, instance=event, created=True, update_fields=None, raw=False,
                       using=transaction.get_connection().alias)  # fmt: skip
    return events


def _locked_head(chain: str) -> tuple[int, str]:
    """The chain's head row (id, last hash), locked until the caller's transaction ends."""
    found = sql(_LOCK_HEAD, 1, [chain])
    if not found:  # a chain's first event: create its head (another append may race us to it)
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=chain, last_hash=GENESIS)], ignore_conflicts=True
        )
        found = sql(_LOCK_HEAD, 1, [chain])
    head_id, last_hash = found[0]
    return head_id, last_hash


# The drain's statements, written out once: the ORM compiled each anew on every drain, which cost more CPU than
# the database took to run them (a drain of a flow's two events: 2.35 → 1.15 ms of Python), on every end-user
# flow. {n}: placeholders for n values; {rows}: n rows of an event's columns; FOR UPDATE where the database has it.
_OUTBOX, _HEADS = AuditOutbox._meta.db_table, AuditChainHead._meta.db_table
SELECT_WAITING = f"SELECT id, chain, event FROM {_OUTBOX} {{where}} ORDER BY id LIMIT %s{{for_update}}"
DELETE_WAITING = f"DELETE FROM {_OUTBOX} WHERE id IN ({{n}})"
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


def sql(template: str, n: int, params: list[Any]) -> list[tuple[Any, ...]]:
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
    ids = sorted(pk for (pk,) in sql(_INSERT_EVENTS, len(events), params))
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
