"""The findings snapshot: one row per client, so the report reads a table instead of linting Hydra's whole list.

Kept fresh by
- every successful client write Truss makes: a `post_save` receiver on AuditEvent (connected in the app's
  ready(); drained outbox events are saved too) re-lints the client from the event's `after`, which is the
  client's public view, so no Hydra call; a delete removes the row, a rotation moves the secret clock, a
  consent moves the idle clock;
- a thresholds change: the stored clients are re-linted (no Hydra call);
- a full refresh, walking Hydra's listing page by page (hygiene.fleet: resumable, constant memory): the
  report's "Refresh now" and an old report's views (a few pages each), `manage.py sweep_drift` (to the end).
  It also marks clients changed outside Truss (drift) since.

Rules that depend on time or on the deployment (secret age, idle client, PKCE enforcement) are never stored as
findings: their inputs are, and they are evaluated when the report is read (in SQL for sorting and filtering,
with the real rule functions for the rows shown), so they are right at view time however old the row is.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from oauth2_admin.clients import service as clients
from oauth2_admin.hygiene import service as hygiene
from oauth2_admin.hygiene.models import FindingsSnapshot, SnapshotRefresh, SweepRun, Thresholds
from truss import sql
from truss.audit import Action
from truss.models import AuditEvent, Tenant
from truss.ory import hydra

log = logging.getLogger(__name__)

DYNAMIC = frozenset({"public-client-pkce", "secret-age", "idle-client"})
STATIC_RULES = tuple(rule for rule in hygiene.RULES if rule.id not in DYNAMIC)
DYNAMIC_RULES = tuple(rule for rule in hygiene.RULES if rule.id in DYNAMIC)
RULE_ORDER = {rule.id: i for i, rule in enumerate(hygiene.RULES)}
CLIENT_WRITES = (
    Action.CLIENT_CREATE,
    Action.CLIENT_UPDATE,
    Action.CLIENT_PATCH,
    Action.CLIENT_TOKEN_CONFIG,
    Action.CLIENT_DRIFT_ADOPT,
)
ROTATE, DELETE = Action.CLIENT_ROTATE_SECRET, Action.CLIENT_DELETE
FOLDED = (*CLIENT_WRITES, ROTATE, DELETE, hygiene.CONSENT_ACTION)  # the events apply_event folds in
FIELDS = [
    "name",
    "client",
    "findings",
    "penalty",
    "high",
    "medium",
    "low",
    "rules",
    "uses_secret",
    "interactive",
    "public_code",
    "secret_set_at",
    "last_consent_at",
    "client_created_at",
    "client_updated_at",
    "drifted",
    "drift_fields",
    "drift_seen_at",
    "computed_at",
]


# --- writing rows ----------------------------------------------------------------------------------------------


def _static(client: hydra.OAuth2Client, facts: hygiene.Facts) -> list[hygiene.Finding]:
    found = []
    for rule in STATIC_RULES:
        hit = rule.check(client, facts)
        if hit is not None:
            detail, fix = hit
            found.append(hygiene.Finding(rule.id, rule.severity, rule.title, rule.reason, detail, fix))
    return found


def _lint_into(row: FindingsSnapshot, client: hydra.OAuth2Client, facts: hygiene.Facts) -> FindingsSnapshot:
    found = _static(client, facts)
    row.name = (client.client_name or "(unnamed)")[:255]
    row.client = clients.public_view(client)
    row.findings = [f.as_dict() for f in found]
    row.penalty = sum(hygiene.SEVERITY_WEIGHT[f.severity] for f in found)
    row.high, row.medium, row.low = (sum(1 for f in found if f.severity == s) for s in hygiene.SEVERITIES)
    row.rules = "," + ",".join(f.rule for f in found) + "," if found else ""
    row.uses_secret = client.token_endpoint_auth_method in ("client_secret_basic", "client_secret_post")
    row.interactive = bool({"authorization_code", "implicit"} & set(client.grant_types))
    row.public_code = client.is_public and "authorization_code" in client.grant_types
    row.client_created_at, row.client_updated_at = client.created_at, client.updated_at
    row.secret_set_at = facts.secret_set_at.get(client.client_id)
    row.last_consent_at = facts.last_consent_at.get(client.client_id)
    row.computed_at = facts.now
    return row


def _upsert(rows: Sequence[FindingsSnapshot]) -> None:
    FindingsSnapshot.objects.bulk_create(
        rows,
        batch_size=200,
        update_conflicts=True,
        unique_fields=["tenant", "client_id"],
        update_fields=FIELDS,
    )


def store(tenant: Tenant, client: hydra.OAuth2Client) -> FindingsSnapshot:
    """Lint one client Truss just wrote and store it (drift cleared: Truss's write is what Hydra holds)."""
    facts = hygiene.facts_for(tenant, [client.client_id])
    row = _lint_into(FindingsSnapshot(tenant=tenant, client_id=client.client_id), client, facts)
    _upsert([row])
    return row


@dataclass(frozen=True)
class Stored:
    """What one page changed in the tenant's rows, for the client counts."""

    appeared: list[hydra.OAuth2Client]  # no row before: new to the snapshot
    regranted: list[tuple[list[str], hydra.OAuth2Client]]  # grant types the row had, and the client now


def store_page(
    tenant: Tenant,
    page: Sequence[hydra.OAuth2Client],
    drifted: Mapping[str, list[str]],
    facts: hygiene.Facts,
) -> Stored:
    """Lint one page of Hydra's listing (taken at `facts.now`) into the tenant's rows, in the caller's
    transaction: one query for the page's rows and one upsert. `drifted`: client id -> fields changed outside
    Truss. A row Truss wrote after the listing was taken is newer than the listing, and kept."""
    listed_at = facts.now
    existing = {
        r.client_id: r
        for r in FindingsSnapshot.objects.filter(
            tenant=tenant, client_id__in=[c.client_id for c in page]
        ).only("client_id", "client", "computed_at", "drift_fields", "drift_seen_at")
    }
    rows, appeared, regranted = [], [], []
    for client in page:
        old = existing.get(client.client_id)
        if old is not None and old.computed_at > listed_at:
            continue
        row = _lint_into(FindingsSnapshot(tenant=tenant, client_id=client.client_id), client, facts)
        fields = list(drifted.get(client.client_id, []))
        row.drifted, row.drift_fields = bool(fields), fields
        if fields:
            same = old is not None and old.drift_fields == fields and old.drift_seen_at is not None
            row.drift_seen_at = old.drift_seen_at if same and old is not None else listed_at
        rows.append(row)
        if old is None:
            appeared.append(client)
        else:
            before = old.client.get("grant_types") if isinstance(old.client, dict) else None
            if sorted(before or []) != sorted(client.grant_types):
                regranted.append((list(before or []), client))
    _upsert(rows)
    return Stored(appeared, regranted)


def refresh(
    tenant: Tenant,
    *,
    source: str = "refresh",
    max_pages: int | None = None,
    page_size: int | None = None,
    progress: Callable[[SweepRun], None] | None = None,
) -> SweepRun:
    """Rebuild the tenant's rows from Hydra's listing, page by page (hygiene.fleet: resumable, constant
    memory, short transactions), marking clients changed outside Truss; at most `max_pages` pages now (None:
    to the end). The walk in progress is continued, else a new one starts. Returns the walk's state."""
    from oauth2_admin.hygiene import fleet

    size = page_size or PAGE_SIZE
    return fleet.walk(
        tenant, source=source, records=False, max_pages=max_pages, page_size=size, progress=progress
    )


def rescore(tenant: Tenant) -> int:
    """Re-lint the stored clients with the tenant's current thresholds (no Hydra call)."""
    facts = hygiene.Facts(thresholds=Thresholds.for_tenant(tenant), now=timezone.now())
    rows = list(FindingsSnapshot.objects.filter(tenant=tenant))
    for row in rows:
        keep = (row.secret_set_at, row.last_consent_at, row.computed_at)
        _lint_into(row, hydra.OAuth2Client.model_validate(row.client), facts)
        row.secret_set_at, row.last_consent_at, row.computed_at = keep
    FindingsSnapshot.objects.bulk_update(
        rows, ["findings", "penalty", "high", "medium", "low", "rules"], batch_size=200
    )
    return len(rows)


@functools.cache
def _consent_sql(vendor: str) -> str:
    """A consent moves the idle clock forward, never back. Written out (truss/sql.py), built once: it runs on
    every end-user flow, and the ORM compiled it anew each time, which cost more CPU than the database took."""
    s = sql.names(FindingsSnapshot)
    at = s.c["last_consent_at"]
    return (
        f"UPDATE {s.table} SET {at} = %s WHERE {s.c['tenant']} = %s AND {s.c['client_id']} = %s "
        f"AND ({at} IS NULL OR {at} < %s)"
    )


def apply_event(event: AuditEvent) -> None:
    """Fold one audit event into the snapshot (see on_audit_event)."""
    if event.outcome != AuditEvent.Outcome.SUCCESS or event.tenant_id is None or not event.target:
        return
    if event.action == hygiene.CONSENT_ACTION:
        at = sql.moment(event.created_at)
        sql.run(_consent_sql(connection.vendor), [at, event.tenant_id, event.target, at])
        return
    rows = FindingsSnapshot.objects.filter(tenant_id=event.tenant_id, client_id=event.target)
    if event.action == DELETE:
        rows.delete()
    elif event.action == ROTATE:
        after = event.after if isinstance(event.after, dict) else {}
        updated = parse_datetime(str(after.get("updated_at") or ""))
        rows.update(secret_set_at=event.created_at, **({"client_updated_at": updated} if updated else {}))
    elif event.action in CLIENT_WRITES and isinstance(event.after, dict) and "grant_types" in event.after:
        # `after` is the client's public view as Hydra answered the write (grant_types is always there)
        client = hydra.OAuth2Client.model_validate(event.after)
        if client.client_id == event.target:
            tenant = Tenant.objects.get(pk=event.tenant_id)
            store(tenant, client)


def on_audit_event(sender: Any, instance: AuditEvent, created: bool = False, **kwargs: Any) -> None:
    """post_save receiver on AuditEvent. It runs inside the audit append's transaction, so a snapshot problem
    must never undo the audit event (or the write it records): it is logged, and the next refresh repairs it."""
    if not created or instance.action not in FOLDED:
        return
    try:
        with transaction.atomic():
            apply_event(instance)
    except Exception:
        log.exception("hygiene snapshot: could not apply audit event %s", instance.pk)


def on_thresholds_saved(sender: Any, instance: Thresholds, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            rescore(instance.tenant)
    except Exception:
        log.exception("hygiene snapshot: could not re-score tenant %s", instance.tenant_id)


# --- reading -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadTime:
    """The read-time rules as SQL over one tenant's rows (plain CASE expressions: the ORM's expression trees cost
    more to build than the query takes to run). `sql` maps a name to (expression, params)."""

    tenant: Tenant
    sql: dict[str, tuple[str, list[Any]]]


def read_time(tenant: Tenant, *, now: datetime | None = None, limits: Thresholds | None = None) -> ReadTime:
    now = now or timezone.now()
    limits = limits or Thresholds.for_tenant(tenant)
    pkce_on = str(getattr(settings, "HYDRA_PKCE_ENFORCED", "off")).lower() not in ("public", "all")
    ops = connection.ops
    secret_cut = ops.adapt_datetimefield_value(now - timedelta(days=limits.secret_max_age_days))
    idle_cut = ops.adapt_datetimefield_value(now - timedelta(days=limits.idle_days))
    secret = (
        "(CASE WHEN uses_secret AND (secret_set_at IS NULL OR secret_set_at < %s) THEN 1 ELSE 0 END)",
        [secret_cut],
    )
    idle = (
        "(CASE WHEN interactive AND COALESCE(last_consent_at, client_created_at) < %s THEN 1 ELSE 0 END)",
        [idle_cut],
    )
    pkce: tuple[str, list[Any]] = ("(CASE WHEN public_code THEN 1 ELSE 0 END)" if pkce_on else "0", [])
    found = (f"(high + medium + low + {pkce[0]} + {secret[0]} + {idle[0]})", [*pkce[1], *secret[1], *idle[1]])
    penalty = (
        f"(penalty + 30 * {pkce[0]} + 12 * {secret[0]} + 4 * {idle[0]})",
        [*pkce[1], *secret[1], *idle[1]],
    )
    score = (f"(CASE WHEN {penalty[0]} > 100 THEN 0 ELSE 100 - {penalty[0]} END)", penalty[1] * 2)
    sql = {
        "hit_secret": secret,
        "hit_idle": idle,
        "hit_pkce": pkce,
        "n_high": (f"(high + {pkce[0]})", pkce[1]),
        "n_medium": (f"(medium + {secret[0]})", secret[1]),
        "n_low": (f"(low + {idle[0]})", idle[1]),
        "n_findings": found,
        "score": score,
    }
    return ReadTime(tenant, sql)


def select(
    rt: ReadTime, *, severity: str = "", rule: str = "", sort: str = "score"
) -> QuerySet[FindingsSnapshot]:
    """The tenant's rows, filtered and sorted with the read-time rules applied, client JSON left out."""
    sql = rt.sql
    qs = (
        FindingsSnapshot.objects.filter(tenant=rt.tenant)
        .only(
            "client_id",
            "name",
            "findings",
            "secret_set_at",
            "last_consent_at",
            "drift_fields",
            "drift_seen_at",
            "computed_at",
        )
        .annotate(
            **{name: RawSQL(sql[name][0], sql[name][1]) for name in ("hit_secret", "hit_idle", "hit_pkce")}
        )
    )
    where: list[tuple[str, list[Any]]] = []
    if severity:
        expr, params = sql[f"n_{severity}"]
        where.append((f"{expr} > 0", params))
    read_time_rules = {
        "secret-age": "hit_secret",
        "idle-client": "hit_idle",
        "public-client-pkce": "hit_pkce",
    }
    if rule in read_time_rules:
        expr, params = sql[read_time_rules[rule]]
        where.append((f"{expr} = 1", params))
    elif rule:
        qs = qs.filter(rules__contains=f",{rule},")
    if where:
        qs = qs.extra(where=[w for w, _ in where], params=[p for _, ps in where for p in ps])  # noqa: S610
    score, found = RawSQL(*sql["score"]), RawSQL(*sql["n_findings"])
    orders: dict[str, list[Any]] = {
        "score": [score.asc(), Lower("name"), "client_id"],
        "-score": [score.desc(), Lower("name"), "client_id"],
        "name": [Lower("name"), "client_id"],
        "findings": [found.desc(), score.asc(), "client_id"],
    }
    return qs.order_by(*orders.get(sort, orders["score"]))


def totals(rt: ReadTime) -> dict[str, int]:
    """Clients, clean ones, changed outside Truss, and findings per severity: one aggregate query."""
    rules = rt.sql
    parts = [
        ("total", "COUNT(*)", []),
        ("clean", f"SUM(CASE WHEN {rules['n_findings'][0]} = 0 THEN 1 ELSE 0 END)", rules["n_findings"][1]),
        ("drifted_count", "SUM(CASE WHEN drifted THEN 1 ELSE 0 END)", []),
        *((f"{s}_sum", f"SUM({rules['n_' + s][0]})", rules["n_" + s][1]) for s in hygiene.SEVERITIES),
    ]
    table = sql.names(FindingsSnapshot)
    query = f"SELECT {', '.join(p[1] for p in parts)} FROM {table.table} WHERE {table.c['tenant']} = %s"  # noqa: S608
    got = sql.first(query, [p for part in parts for p in part[2]] + [rt.tenant.pk])
    assert got is not None  # an aggregate always has its one row
    return {name: int(value or 0) for (name, _, _), value in zip(parts, got, strict=True)}


@dataclass(frozen=True)
class Row:
    client_id: str
    name: str
    score: int
    findings: list[hygiene.Finding]
    drift_fields: list[str]
    drift_seen_at: datetime | None
    computed_at: datetime

    @property
    def worst(self) -> str:
        return self.findings[0].severity if self.findings else ""


def _finding(data: dict[str, Any]) -> hygiene.Finding:
    fix = data.get("fix")
    return hygiene.Finding(
        data["rule"],
        data["severity"],
        data["title"],
        data["reason"],
        data["detail"],
        hygiene.Fix(fix["summary"], fix.get("changes") or {}, fix.get("token_config") or {}) if fix else None,
    )


def rows(
    tenant: Tenant,
    records: Iterable[FindingsSnapshot],
    *,
    now: datetime | None = None,
    limits: Thresholds | None = None,
) -> list[Row]:
    """Findings of the given (annotated) rows: the stored ones, plus the read-time rules evaluated now with the
    real rule functions, only for rows whose SQL hit columns say one fires (their stored client is then read in
    one query, so a page's query can leave that column out)."""
    now = now or timezone.now()
    limits = limits or Thresholds.for_tenant(tenant)
    pkce = str(getattr(settings, "HYDRA_PKCE_ENFORCED", "off")).lower()
    records = list(records)
    hits = [r.client_id for r in records if r.hit_secret or r.hit_idle or r.hit_pkce]  # type: ignore[attr-defined]
    stored: dict[str, Any] = {}
    if hits:
        stored = dict(
            FindingsSnapshot.objects.filter(tenant=tenant, client_id__in=hits).values_list(
                "client_id", "client"
            )
        )
    out = []
    for record in records:
        found = [_finding(d) for d in record.findings]
        if record.client_id in stored:
            facts = hygiene.Facts(thresholds=limits, now=now, pkce_enforced=pkce)
            if record.secret_set_at:
                facts.secret_set_at[record.client_id] = record.secret_set_at
            if record.last_consent_at:
                facts.last_consent_at[record.client_id] = record.last_consent_at
            client = hydra.OAuth2Client.model_validate(stored[record.client_id])
            for rule in DYNAMIC_RULES:
                if (hit := rule.check(client, facts)) is not None:
                    found.append(hygiene.Finding(rule.id, rule.severity, rule.title, rule.reason, *hit))
            found.sort(key=lambda f: (hygiene.SEVERITIES.index(f.severity), RULE_ORDER[f.rule]))
        out.append(
            Row(
                record.client_id,
                record.name,
                hygiene.score(found),
                found,
                list(record.drift_fields),
                record.drift_seen_at,
                record.computed_at,
            )
        )
    return out


PAGE_SIZE = hydra.FLEET_PAGE  # clients per page of a refresh's walk
VIEW_PAGES = 1  # pages of Hydra's listing one read walks when the report must be checked again


def partial(run: SweepRun) -> SnapshotRefresh:
    """The state of a tenant whose first walk is still under way (not saved)."""
    return SnapshotRefresh(
        tenant=run.tenant, refreshed_at=run.started_at, source=run.source, clients=run.done
    )
