"""The consent ledger: fed by the bridge's audit events, updated by revocations made in Truss, reconciled
against Hydra by ``manage.py reconcile_consents``.

Hydra can list the consents of one subject but cannot answer "who has authorised client X?"; the ledger can,
for every consent decided through Truss's bridge since the ledger exists.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from oauth2_admin.consents.models import LedgerEntry, ReconcileRun, ScopeCount, TenantScopeCount
from truss import leases, sql
from truss.audit import Action
from truss.models import AuditEvent, Tenant
from truss.ory import http as ory_http
from truss.ory import hydra

log = logging.getLogger(__name__)

ACCEPT, REJECT = Action.CONSENT_ACCEPT, Action.CONSENT_REJECT
IDENTITY_PREFIX = "identity:"
PEOPLE = ""  # ScopeCount.scope of the "people" counter


# --- feeding the ledger ------------------------------------------------------------------------------------


def on_audit_event(sender: Any, instance: AuditEvent, created: bool = False, **kwargs: Any) -> None:
    """post_save receiver. It runs inside the audit append's transaction, so a ledger problem must never undo
    the audit event (or the bridge's answer): it is logged and the ledger catches up at the next reconcile."""
    if not created or instance.action not in (ACCEPT, REJECT):
        return
    try:
        with transaction.atomic():
            record_decision(instance)
    except Exception:
        log.exception("consent ledger: could not record audit event %s", instance.pk)


_DECISIONS = frozenset(LedgerEntry.Decision.values)


def _decision(event: AuditEvent, after: dict[str, Any]) -> str:
    """The decision the bridge wrote into the event (``after["decision"]``, see audit.ConsentDecision)."""
    if event.action == REJECT:
        return LedgerEntry.Decision.DENIED
    decision = after.get("decision")
    if isinstance(decision, str) and decision in _DECISIONS:
        return decision
    return _legacy_decision(event)


def _legacy_decision(event: AuditEvent) -> str:
    """An accept written before events carried their decision (an outbox row of the previous release, drained
    after an upgrade): its detail said whether Hydra or the client skipped the screen."""
    if event.detail.startswith("skipped: remembered"):
        return LedgerEntry.Decision.REMEMBERED
    if event.detail.startswith("skipped"):
        return LedgerEntry.Decision.SKIPPED
    return LedgerEntry.Decision.ACCEPTED


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def record_decision(event: AuditEvent) -> None:
    """Fold one successful bridge consent decision into its (tenant, client, subject) row."""
    if (
        event.outcome != AuditEvent.Outcome.SUCCESS
        or event.tenant_id is None
        or not event.target
        or not event.actor.startswith(IDENTITY_PREFIX)
    ):
        return
    subject = event.actor.removeprefix(IDENTITY_PREFIX)[:255]
    after = event.after if isinstance(event.after, dict) else {}
    decision = _decision(event, after)
    at = event.created_at
    if decision in (LedgerEntry.Decision.REMEMBERED, LedgerEntry.Decision.SKIPPED) and _record_repeat(
        event.tenant_id, event.target, subject, decision, after, at
    ):
        return
    entry = (
        LedgerEntry.objects.select_for_update()
        .filter(tenant_id=event.tenant_id, client_id=event.target, subject=subject)
        .first()
    )
    old_scopes = list(entry.scopes) if entry is not None and entry.active else None
    if entry is None:
        entry = LedgerEntry(
            tenant_id=event.tenant_id,
            client_id=event.target,
            subject=subject,
            first_at=at,
            state=LedgerEntry.State.DENIED,
        )
    entry.decision, entry.last_at = decision, at
    if decision == LedgerEntry.Decision.DENIED:
        # Saying no to a new request does not withdraw an earlier consent (Hydra keeps it and its tokens).
        entry.denied_count += 1
    else:
        entry.granted_count += 1
        if entry.state != LedgerEntry.State.ACTIVE:
            entry.state_changed_at = at
        entry.state = LedgerEntry.State.ACTIVE
        entry.scopes = _strings(after.get("grant_scope"))
        entry.audience = _strings(after.get("audience"))
        if decision == LedgerEntry.Decision.ACCEPTED:
            remember_for = after.get("remember_for")
            entry.remembered = isinstance(remember_for, int)
            entry.remember_until = (
                at + dt.timedelta(seconds=remember_for)
                if isinstance(remember_for, int) and remember_for > 0
                else None
            )
        elif decision == LedgerEntry.Decision.SKIPPED:
            entry.remembered, entry.remember_until = False, None
        # REMEMBERED: Hydra reused the remembered consent, whose remember window is unchanged.
    entry.save()
    _adjust_counts(entry.tenant_id, entry.client_id, old_scopes, list(entry.scopes) if entry.active else None)


@functools.cache
def _repeat_sql(vendor: str) -> tuple[str, str]:
    """The fast path's SELECT (locking the row where the database can) and UPDATE, built once (truss/sql.py)."""
    e = sql.names(LedgerEntry)
    c = e.c
    select = (
        f"SELECT {c['id']}, {c['state']}, {c['scopes']}, {c['audience']}, {c['remembered']}, {c['remember_until']} "
        f"FROM {e.table} WHERE {c['tenant']} = %s AND {c['client_id']} = %s AND {c['subject']} = %s{sql.for_update()}"
    )
    update = (
        f"UPDATE {e.table} SET {c['decision']} = %s, {c['last_at']} = %s, "
        f"{c['granted_count']} = {c['granted_count']} + 1 WHERE {c['id']} = %s"
    )
    return select, update


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value  # a raw cursor returns JSON columns as text


def _record_repeat(
    tenant_id: int, client_id: str, subject: str, decision: str, after: dict[str, Any], at: dt.datetime
) -> bool:
    """A consent Hydra skipped (remembered, or skip_consent) on a row already active with the same scopes and
    audience changes only the decision, its time and the count. Two written-out statements: this runs on every
    end-user flow, and the ORM compiled its SELECT and full-row UPDATE anew each time, which cost more CPU than
    the database took (bench/RESULTS.md). Leaves the row exactly as the ORM path would; False (nothing written) when that path
    must run."""
    select, update = _repeat_sql(connection.vendor)
    row = sql.first(select, [tenant_id, client_id, subject])
    if row is None:
        return False
    pk, state, scopes, audience, remembered, remember_until = row
    if (
        state != LedgerEntry.State.ACTIVE
        or _json(scopes) != _strings(after.get("grant_scope"))
        or _json(audience) != _strings(after.get("audience"))
        # SKIPPED clears the remember window; REMEMBERED leaves it as it is.
        or (decision == LedgerEntry.Decision.SKIPPED and (remembered or remember_until is not None))
    ):
        return False
    sql.run(update, [str(decision), sql.moment(at), pk])
    return True


def _adjust_counts(tenant_id: int, client_id: str, old: list[str] | None, new: list[str] | None) -> None:
    """Move the per-scope counters from the old active scopes (None: was not active) to the new ones."""
    delta: dict[str, int] = defaultdict(int)
    if old is not None:
        delta[PEOPLE] -= 1
        for scope in set(old):
            delta[scope] -= 1
    if new is not None:
        delta[PEOPLE] += 1
        for scope in set(new):
            delta[scope] += 1
    moved = {scope[:255]: change for scope, change in sorted(delta.items()) if change}
    for scope, change in moved.items():  # sorted: concurrent moves lock rows in one order
        updated = ScopeCount.objects.filter(tenant_id=tenant_id, client_id=client_id, scope=scope).update(
            people=F("people") + change
        )
        if not updated:
            ScopeCount.objects.create(
                tenant_id=tenant_id, client_id=client_id, scope=scope, people=max(change, 0)
            )
    _move_tenant_counts(tenant_id, moved)


@functools.cache
def _tenant_count_sql(vendor: str) -> str:
    """Add to one tenant counter, creating it at the first consent: one upsert (atomic under concurrency; SQLite
    and PostgreSQL both have ON CONFLICT)."""
    t = sql.names(TenantScopeCount)
    c = t.c
    return (
        f"INSERT INTO {t.table} ({c['tenant']}, {c['scope']}, {c['people']}) VALUES (%s, %s, %s) "
        f"ON CONFLICT ({c['tenant']}, {c['scope']}) DO UPDATE SET {c['people']} = {t.table}.{c['people']} + %s"
    )


def _move_tenant_counts(tenant_id: int, delta: dict[str, int]) -> None:
    """Move the tenant's counters (TenantScopeCount) by ``delta``, in the transaction that moves the client's."""
    statement = _tenant_count_sql(connection.vendor)
    for scope, change in sorted(delta.items()):
        if change:
            sql.run(statement, [tenant_id, scope, max(change, 0), change])


def set_state(entries: Iterable[LedgerEntry], state: str) -> int:
    """Move rows to ``state`` (revoked, gone, active again), keeping the counters right. Returns rows changed."""
    now = timezone.now()
    changed = 0
    for entry in entries:
        if entry.state == state:
            continue
        was_active = entry.active
        entry.state, entry.state_changed_at = state, now
        entry.save(update_fields=["state", "state_changed_at"])
        if was_active != entry.active:
            scopes = list(entry.scopes)
            _adjust_counts(
                entry.tenant_id,
                entry.client_id,
                scopes if was_active else None,
                scopes if entry.active else None,
            )
        changed += 1
    return changed


def mark_revoked(tenant: Tenant, subject: str, client_ids: Iterable[str]) -> int:
    """A revocation through Truss: the person's rows for these clients stop being active."""
    with transaction.atomic():
        rows = LedgerEntry.objects.select_for_update().filter(
            tenant=tenant, subject=subject, client_id__in=list(client_ids), state=LedgerEntry.State.ACTIVE
        )
        return set_state(list(rows), LedgerEntry.State.REVOKED)


def rebuild_counts(tenant: Tenant, client_id: str) -> None:
    """Recount the per-scope counters of one client from its rows (after a bulk import or a repair)."""
    counts: dict[str, int] = defaultdict(int)
    active = LedgerEntry.objects.filter(tenant=tenant, client_id=client_id, state=LedgerEntry.State.ACTIVE)
    for scopes in active.values_list("scopes", flat=True).iterator(chunk_size=5000):
        counts[PEOPLE] += 1
        for scope in set(scopes or []):
            counts[str(scope)[:255]] += 1
    with transaction.atomic():
        rows = ScopeCount.objects.select_for_update().filter(tenant=tenant, client_id=client_id)
        delta = dict(counts)
        for scope, n in rows.values_list("scope", "people"):
            delta[scope] = delta.get(scope, 0) - n
        rows.delete()
        ScopeCount.objects.bulk_create(
            [ScopeCount(tenant=tenant, client_id=client_id, scope=s, people=n) for s, n in counts.items()]
        )
        _move_tenant_counts(tenant.pk, delta)


def recount_tenant(tenant: Tenant) -> None:
    """Recount the tenant counters (TenantScopeCount) from its client counters: a repair, after client counters
    were written by hand. The tenant's counter rows are locked first, so moves of existing counters wait."""
    with transaction.atomic():
        list(TenantScopeCount.objects.select_for_update().filter(tenant=tenant).values_list("pk", flat=True))
        sums = (
            ScopeCount.objects.filter(tenant=tenant).values_list("scope").annotate(n=Sum("people")).order_by()
        )
        TenantScopeCount.objects.filter(tenant=tenant).delete()
        TenantScopeCount.objects.bulk_create(
            [TenantScopeCount(tenant=tenant, scope=scope, people=n) for scope, n in sums if n]
        )


# --- reading it ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    people: int
    scopes: list[tuple[str, int]]  # most common first


def counts(tenant: Tenant, client_id: str) -> Counts:
    rows = ScopeCount.objects.filter(tenant=tenant, client_id=client_id, people__gt=0).values_list(
        "scope", "people"
    )
    people = 0
    scopes: list[tuple[str, int]] = []
    for scope, n in rows:
        if scope == PEOPLE:
            people = n
        else:
            scopes.append((scope, n))
    scopes.sort(key=lambda item: (-item[1], item[0]))
    return Counts(people, scopes)


class BadCursor(ValueError):
    pass


def encode_cursor(entry: LedgerEntry) -> str:
    return f"{entry.last_at.isoformat()}~{entry.pk}"


def _decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    stamp, _, pk = cursor.partition("~")
    try:
        at, ident = dt.datetime.fromisoformat(stamp), int(pk)
    except ValueError as exc:
        raise BadCursor("The page cursor is not valid: start from the first page.") from exc
    if at.tzinfo is None:
        raise BadCursor("The page cursor is not valid: start from the first page.")
    return at, ident


STATES = {
    "active": [LedgerEntry.State.ACTIVE],
    "all": None,
    "ended": [LedgerEntry.State.REVOKED, LedgerEntry.State.GONE],
    "denied": [LedgerEntry.State.DENIED],
}


def people_query(
    tenant: Tenant, client_id: str, *, show: str = "active", subject: str = ""
) -> QuerySet[LedgerEntry]:
    rows = LedgerEntry.objects.filter(tenant=tenant, client_id=client_id)
    states = STATES.get(show, STATES["active"])
    if states is not None:
        rows = rows.filter(state=states[0]) if len(states) == 1 else rows.filter(state__in=states)
    if subject:
        rows = rows.filter(subject__startswith=subject)
    return rows.order_by("-last_at", "-id")


def people_page(
    tenant: Tenant,
    client_id: str,
    *,
    show: str = "active",
    subject: str = "",
    cursor: str = "",
    size: int = 100,
) -> tuple[list[LedgerEntry], str | None]:
    """One keyset page (newest decision first) and the cursor of the next one."""
    rows = people_query(tenant, client_id, show=show, subject=subject)
    if cursor:
        at, ident = _decode_cursor(cursor)
        rows = rows.filter(Q(last_at__lt=at) | Q(last_at=at, id__lt=ident))
    page = list(rows[: size + 1])
    more = len(page) > size
    page = page[:size]
    return page, (encode_cursor(page[-1]) if more and page else None)


CSV_HEADER = [
    "subject",
    "state",
    "decision",
    "scopes",
    "audience",
    "remembered",
    "remember_until",
    "first_decision_at",
    "last_decision_at",
    "granted_count",
    "denied_count",
]


def csv_rows(tenant: Tenant, client_id: str, *, show: str = "all", subject: str = "") -> Iterator[list[str]]:
    """Every matching row, streamed from the database in chunks (constant memory whatever the size)."""
    yield CSV_HEADER
    rows = people_query(tenant, client_id, show=show, subject=subject)
    for e in rows.iterator(chunk_size=2000):
        yield [
            e.subject,
            e.state,
            e.decision,
            " ".join(e.scopes),
            " ".join(e.audience),
            "yes" if e.remembered else "no",
            e.remember_until.isoformat() if e.remember_until else "",
            e.first_at.isoformat(),
            e.last_at.isoformat(),
            str(e.granted_count),
            str(e.denied_count),
        ]


# --- reconciling with Hydra ---------------------------------------------------------------------------------

# Renewed with every person; a killed run's lease runs out on its own.
RECONCILE_LEASE = dt.timedelta(seconds=120)
RECONCILE_CHUNK = 500  # people read per keyset query


class ReconcileBusy(Exception):
    """Another process is reconciling the same scope right now."""


def _each(subjects: QuerySet[LedgerEntry, str], after: str = "") -> Iterator[str]:
    """Distinct subjects after `after`, in keyset chunks: no cursor stays open while rows are updated, and only
    one chunk is held."""
    last = after
    while batch := list(subjects.filter(subject__gt=last)[:RECONCILE_CHUNK]):
        yield from batch
        last = batch[-1]


@dataclass
class ReconcileReport:
    subjects: int = 0
    gone: int = 0
    back: int = 0
    expected: int = 0
    resumed_at: int = 0  # people already checked by the stopped run this one went on with


def _scope(tenant: Tenant | None, client_id: str | None) -> str:
    scope = "all" if tenant is None else f"tenant:{tenant.pk}"
    return f"{scope}:client:{client_id}"[:300] if client_id is not None else scope


def _reconcilable(tenant_id: int, client_id: str | None) -> QuerySet[LedgerEntry]:
    rows = LedgerEntry.objects.filter(
        tenant_id=tenant_id, state__in=[LedgerEntry.State.ACTIVE, LedgerEntry.State.GONE]
    )
    return rows.filter(client_id=client_id) if client_id is not None else rows


def _start(tenant: Tenant | None, client_id: str | None, me: str) -> ReconcileRun:
    """The scope's run, leased to `me`: the one under way goes on, else a new one (people counted once)."""
    now = timezone.now()
    scope = _scope(tenant, client_id)
    ReconcileRun.objects.bulk_create(
        [ReconcileRun(scope=scope, state=ReconcileRun.State.DONE, started_at=now, updated_at=now)],
        ignore_conflicts=True,
    )
    if not leases.take(ReconcileRun.objects.filter(scope=scope), me, RECONCILE_LEASE):
        raise ReconcileBusy(f"another process is reconciling {scope}")
    run = ReconcileRun.objects.get(scope=scope)
    if not run.running:
        tenants = [tenant.pk] if tenant is not None else list(Tenant.objects.values_list("pk", flat=True))
        expected = sum(_reconcilable(t, client_id).values("subject").distinct().count() for t in tenants)
        ReconcileRun.objects.filter(pk=run.pk).update(
            state=ReconcileRun.State.RUNNING,
            tenant_cursor=0,
            subject_cursor="",
            subjects=0,
            expected=expected,
            gone=0,
            back=0,
            started_at=now,
            updated_at=now,
            finished_at=None,
            last_error="",
        )
        run.refresh_from_db()
    return run


@dataclass(frozen=True)
class _Answer:
    subject: str
    asked_at: dt.datetime
    in_hydra: set[str]  # client ids Hydra has a consent of the person for


def _ask(subject: str) -> _Answer:
    """Hydra's consents of one person (no database access: it may run on a worker thread)."""
    asked_at = timezone.now()
    # Reference: see truss.ory.hydra.list_consent_sessions (listOAuth2ConsentSessions).
    in_hydra = {s.consent_request.client.client_id for s in hydra.list_consent_sessions(subject)}
    return _Answer(subject, asked_at, in_hydra)


def _answers(subjects: Iterator[str], workers: int) -> Iterator[_Answer]:
    """Hydra's answers in the subjects' order; with `workers` > 1, that many people are asked ahead at once
    (Hydra answers one person per call). A failed ask is raised in its turn: the people before it are
    handled, the ones asked after it are asked again by the resumed run."""
    if workers <= 1:
        yield from map(_ask, subjects)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="reconcile") as pool:
        ahead: deque[Future[_Answer]] = deque()
        for subject in subjects:
            ahead.append(pool.submit(_ask, subject))
            if len(ahead) >= 2 * workers:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _check(run: ReconcileRun, me: str, tenant_id: int, client_id: str | None, answer: _Answer) -> None:
    """One person, Hydra asked first (no transaction open): their rows and the run's position in one short
    transaction. A consent decided after Hydra was asked is left alone (Hydra's answer predates it)."""
    subject, asked_at, in_hydra = answer.subject, answer.asked_at, answer.in_hydra
    with transaction.atomic():
        mine = list(_reconcilable(tenant_id, client_id).select_for_update().filter(subject=subject))
        gone = set_state(
            [e for e in mine if e.active and e.client_id not in in_hydra and e.last_at < asked_at],
            LedgerEntry.State.GONE,
        )
        back = set_state(
            [e for e in mine if e.state == LedgerEntry.State.GONE and e.client_id in in_hydra],
            LedgerEntry.State.ACTIVE,
        )
        now = timezone.now()
        moved = ReconcileRun.objects.filter(
            pk=run.pk, lease_owner=me, state=ReconcileRun.State.RUNNING
        ).update(
            tenant_cursor=tenant_id,
            subject_cursor=subject,
            subjects=F("subjects") + 1,
            gone=F("gone") + gone,
            back=F("back") + back,
            updated_at=now,
            lease_until=now + RECONCILE_LEASE,
        )
        if not moved:
            raise ReconcileBusy("the reconcile run was taken over by another process")
    run.tenant_cursor, run.subject_cursor = tenant_id, subject
    run.subjects, run.gone, run.back = run.subjects + 1, run.gone + gone, run.back + back


def reconcile(
    tenant: Tenant | None = None,
    client_id: str | None = None,
    *,
    progress: Callable[[ReconcileRun], None] | None = None,
    every: int = RECONCILE_CHUNK,
    workers: int = 1,
) -> ReconcileReport:
    """Ask Hydra, person by person, which consents still exist: active rows Hydra no longer has become ``gone``
    (expired, revoked elsewhere); ``gone`` rows Hydra has again become active. Walks the ledger tenant by
    tenant, a chunk of people at a time (constant memory), one short transaction per person, and resumes a run
    of the same scope that was stopped (ReconcileRun). `progress` is called at the start, every `every`
    people and at the end; `workers` people are asked of Hydra at once. ReconcileBusy if another process is
    running the same scope."""
    me = uuid.uuid4().hex
    run = _start(tenant, client_id, me)
    resumed_at = run.subjects
    if progress is not None:
        progress(run)
    try:
        tenants = Tenant.objects.filter(pk__gte=run.tenant_cursor).order_by("pk").values_list("pk", flat=True)
        if tenant is not None:
            tenants = tenants.filter(pk=tenant.pk)
        for tenant_id in list(tenants):
            after = run.subject_cursor if tenant_id == run.tenant_cursor else ""
            subjects = (
                _reconcilable(tenant_id, client_id).order_by("subject").values_list("subject", flat=True)
            )
            for answer in _answers(_each(subjects.distinct(), after), workers):
                _check(run, me, tenant_id, client_id, answer)
                if progress is not None and run.subjects % every == 0:
                    progress(run)
        now = timezone.now()
        ReconcileRun.objects.filter(pk=run.pk, lease_owner=me).update(
            state=ReconcileRun.State.DONE, finished_at=now, updated_at=now
        )
        run.state, run.finished_at = ReconcileRun.State.DONE, now
        if progress is not None:
            progress(run)
    except ory_http.OryError as exc:
        ReconcileRun.objects.filter(pk=run.pk, lease_owner=me).update(last_error=str(exc)[:500])
        raise
    finally:
        leases.release(ReconcileRun.objects.filter(pk=run.pk), me)
    return ReconcileReport(run.subjects, run.gone, run.back, run.expected, resumed_at)
