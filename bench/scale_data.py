"""The generated data of `make bench-scale`: datasets on PostgreSQL, each with its own Hydra, built once and kept.

A dataset is three PostgreSQL databases (``truss_scale_<name>``, ``hydra_scale_<name>``, ``kratos_scale_<name>``)
and a private Hydra + Kratos on free ports over them (``ScaleStack``). Building it is split into parts, each
recorded in the table ``bench_scale_part`` of the Truss database with its rows and seconds once complete, so a
re-run skips what is there (``--regenerate`` drops the databases and starts again):

- ``tenants``: the tenant ``scale`` (and, at full scale, the other tenants that fill Hydra), an operator who is
  admin of all, a service_role API key (its plaintext kept in ``bench_scale_part.detail``: a bench secret).
- ``hydra``: the tenant's clients through Hydra's admin API (parallel ``POST /admin/clients``: hashed secrets,
  Hydra's own defaults), then the other tenants' clients through the documented bulk path: rows copied in SQL
  from one client the admin API created (every column of ``hydra_client``, which ``hydra migrate sql`` made),
  with a new ``id``, ``pk``, name and owner. Hydra reads those rows as its own (its list, get and sweeps do).
- ``audit``: the tenant's audit chain, hash-chained in Python with ``truss.audit.compute_hash``'s canonical
  form (checked against it) and written with COPY; half bridge steps (sign-ins, consents) spread over 30 days,
  one ``oauth2.client.create`` per client (what the drift sweep compares against), the rest console writes.
  Secondary indexes are dropped for the COPY and rebuilt after it. The daily rollup (``AuditDailyCount``) is
  written in step, as the chaining transaction keeps it.
- ``ledger``: consent ledger rows (10 clients per person) with ``ScopeCount`` and ``TenantScopeCount`` in step, by COPY.

Run as ``python -m bench.scale_data <dataset>`` with the dataset's environment (``bench/scale.py`` does).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import PG, _DsnStack, free_port  # noqa: E402

TENANT = "scale"
DAYS = 30
PEOPLE_CLIENTS = 10  # ledger rows per person
STATE_DIR = ROOT / "var" / "bench-scale"


@dataclass(frozen=True)
class Dataset:
    """How much of everything one side of the comparison holds."""

    name: str
    clients: int  # the tenant's clients
    hydra_clients: int  # every client in its Hydra (the rest belong to other tenants)
    events: int  # the tenant's audit events
    ledger: int  # the tenant's consent ledger rows

    @property
    def app_db(self) -> str:
        return f"truss_scale_{self.name}"

    @property
    def hydra_db(self) -> str:
        return f"hydra_scale_{self.name}"

    @property
    def kratos_db(self) -> str:
        return f"kratos_scale_{self.name}"

    @property
    def others(self) -> int:
        """Other tenants, each holding as many clients as the tenant, until Hydra holds hydra_clients."""
        return max(0, -(-(self.hydra_clients - self.clients) // max(self.clients, 1)))

    def describe(self) -> str:
        return (
            f"{self.clients:,} clients of {self.hydra_clients:,} in Hydra, {self.events:,} audit events, "
            f"{self.ledger:,} ledger rows"
        )


DATASETS = {
    "small": Dataset("small", 1_000, 1_000, 1_000, 1_000),
    "full": Dataset("full", 10_000, 100_000, 10_000_000, 1_000_000),
    # --quick: the same comparison at a size a smoke run builds in a minute.
    "quick_small": Dataset("quick_small", 100, 100, 1_000, 1_000),
    "quick_full": Dataset("quick_full", 1_000, 3_000, 100_000, 20_000),
}


def pg_url(db: str) -> str:
    return f"{PG}/{db}"


def admin_sql(sql: str) -> None:
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def database_exists(db: str) -> bool:
    with psycopg.connect(pg_url("postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is not None


def ensure_databases(ds: Dataset, *, regenerate: bool) -> None:
    for db in (ds.app_db, ds.hydra_db, ds.kratos_db):
        if regenerate:
            admin_sql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        if not database_exists(db):
            admin_sql(f"CREATE DATABASE {db}")


class ScaleStack(_DsnStack):
    """A private Hydra + Kratos over a dataset's own databases, on free ports."""


def stack_for(ds: Dataset) -> ScaleStack:
    ports = {k: free_port() for k in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
    stack = ScaleStack(state_dir=STATE_DIR / ds.name / "ory", ports=ports, persistent=True)
    stack.dsns = {
        "hydra": f"{pg_url(ds.hydra_db)}?sslmode=disable&max_conns=20&max_idle_conns=10",
        "kratos": f"{pg_url(ds.kratos_db)}?sslmode=disable&max_conns=10&max_idle_conns=4",
    }
    return stack


# --- the record of parts done --------------------------------------------------------------------------------

PART_TABLE = """CREATE TABLE IF NOT EXISTS bench_scale_part (
    part text PRIMARY KEY, rows bigint NOT NULL, seconds double precision NOT NULL, detail text NOT NULL,
    done_at timestamptz NOT NULL DEFAULT now())"""


def parts(db: str) -> dict[str, tuple[int, float, str]]:
    with psycopg.connect(pg_url(db), autocommit=True) as conn:
        conn.execute(PART_TABLE)
        return {
            p: (r, s, d)
            for p, r, s, d in conn.execute(
                "SELECT part, rows, seconds, detail FROM bench_scale_part"
            ).fetchall()
        }


def mark(db: str, part: str, rows: int, seconds: float, detail: str = "") -> None:
    with psycopg.connect(pg_url(db), autocommit=True) as conn:
        conn.execute(PART_TABLE)
        conn.execute(
            "INSERT INTO bench_scale_part (part, rows, seconds, detail) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (part) DO UPDATE SET rows = excluded.rows, seconds = excluded.seconds, "
            "detail = excluded.detail, done_at = now()",
            (part, rows, seconds, detail),
        )


def say(message: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- the parts (run in a child with Django set up on the dataset's database) -----------------------------------


def part_tenants(ds: Dataset) -> tuple[int, str]:
    from django.contrib.auth.models import User

    from truss import apikeys
    from truss.models import Membership, Tenant

    tenants = [Tenant.objects.get_or_create(slug=TENANT, defaults={"name": "Scale"})[0]]
    for i in range(ds.others):
        tenants.append(Tenant.objects.get_or_create(slug=f"other-{i}", defaults={"name": f"Other {i}"})[0])
    user = User.objects.filter(username="bench").first() or User.objects.create_user("bench", password=None)
    for tenant in tenants:
        Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": "admin"})
    _, key = apikeys.generate(tenants[0], "service_role", name="bench-scale")
    return len(tenants), key


def _client_body(i: int, owner: str) -> dict[str, Any]:
    """A mix of the kinds of clients a tenant has: web apps, machines, single-page apps."""
    kind = i % 4
    body: dict[str, Any] = {"client_name": f"app {i:06d}", "owner": owner, "scope": "openid profile email"}
    if kind in (0, 1):
        body |= {
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": [f"https://app{i}.example.com/callback"],
            "scope": "openid offline_access profile email",
        }
    elif kind == 2:
        body |= {"grant_types": ["client_credentials"], "scope": "api.read api.write"}
    else:
        body |= {
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": [f"https://spa{i}.example.com/"],
            "token_endpoint_auth_method": "none",
        }
    return body


def part_hydra(ds: Dataset, hydra_admin: str) -> tuple[int, str]:
    """The tenant's clients through the admin API, the other tenants' by the bulk SQL path; returns the rates."""
    from truss.models import Tenant

    owner = Tenant.objects.get(slug=TENANT).hydra_owner
    with psycopg.connect(pg_url(ds.hydra_db), autocommit=True) as conn:
        have = conn.execute("SELECT count(*) FROM hydra_client WHERE owner = %s", (owner,)).fetchone()
        mine = int(have[0]) if have else 0
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=16))

    def one(i: int) -> None:
        for attempt in range(5):
            try:
                r = session.post(f"{hydra_admin}/admin/clients", json=_client_body(i, owner), timeout=60)
                r.raise_for_status()
                return
            except requests.RequestException:
                if attempt == 4:
                    raise
                time.sleep(0.5)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(mine, ds.clients)))
    api_seconds = time.perf_counter() - started
    api_rate = (ds.clients - mine) / api_seconds if api_seconds and ds.clients > mine else float("nan")
    say(
        f"hydra: {ds.clients - mine:,} clients through the admin API in {api_seconds:.1f}s ({api_rate:,.0f}/s)"
    )
    sql_rate = float("nan")
    others = ds.hydra_clients - ds.clients
    if others > 0:
        started = time.perf_counter()
        copied = bulk_hydra_clients(ds, owner, others)
        sql_seconds = time.perf_counter() - started
        sql_rate = copied / sql_seconds if sql_seconds else float("nan")
        say(f"hydra: {copied:,} clients by the bulk SQL path in {sql_seconds:.1f}s ({sql_rate:,.0f}/s)")
    return ds.hydra_clients, json.dumps({"api_per_s": api_rate, "sql_per_s": sql_rate})


def bulk_hydra_clients(ds: Dataset, template_owner: str, count: int) -> int:
    """Copy the row shape of clients the admin API created into ``count`` new rows owned by the other tenants
    (``truss:other-<n>``), each other tenant getting ds.clients of them. One INSERT … SELECT per tenant."""
    with psycopg.connect(pg_url(ds.hydra_db), autocommit=True) as conn:
        conn.execute("DELETE FROM hydra_client WHERE owner LIKE %s", ("truss:other-%",))
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'hydra_client' "
                "AND column_name NOT IN ('id', 'pk', 'client_name', 'owner', 'pk_deprecated', 'created_at', "
                "'updated_at') ORDER BY ordinal_position"
            ).fetchall()
        ]
        kept = ", ".join(f"t.{c}" for c in columns)
        names = ", ".join(columns)
        # The templates: the first four of the tenant's clients, one of each kind _client_body makes.
        conn.execute("DROP TABLE IF EXISTS bench_client_template")
        conn.execute(
            "CREATE TEMP TABLE bench_client_template AS SELECT row_number() OVER () - 1 AS k, s.* FROM "
            "(SELECT * FROM hydra_client WHERE owner = %s ORDER BY client_name LIMIT 4) AS s",
            (template_owner,),
        )
        done = 0
        for n in range(ds.others):
            batch = min(ds.clients, count - done)
            if batch <= 0:
                break
            conn.execute(
                f"""INSERT INTO hydra_client (id, pk, client_name, owner, created_at, updated_at, {names})
                SELECT gen_random_uuid()::text, gen_random_uuid(), 'other app ' || g, %s,
                       now() - (g || ' seconds')::interval, now() - (g || ' seconds')::interval, {kept}
                FROM generate_series(1, %s) AS g JOIN bench_client_template AS t ON t.k = g %% 4""",  # noqa: S608
                (f"truss:other-{n}", batch),
            )
            done += batch
        conn.execute("ANALYZE hydra_client")
    return done


# --- the audit chain -------------------------------------------------------------------------------------------

BRIDGE_ACTIONS = (  # (action, outcome, share of the bridge half)
    ("bridge.login.accept", "success", 0.46),
    ("bridge.consent.accept", "success", 0.40),
    ("bridge.consent.view", "success", 0.06),
    ("bridge.consent.reject", "success", 0.03),
    ("bridge.login.reject", "success", 0.03),
    ("bridge.login.accept", "failure", 0.02),
)
# The per-tenant consent counters (consents.models.TenantScopeCount), as ledger.recount_tenant sets them.
TENANT_COUNTS_FROM_CLIENT_COUNTS = (
    "DELETE FROM console_consents_tenantscopecount; "
    "INSERT INTO console_consents_tenantscopecount (tenant_id, scope, people) "
    "SELECT tenant_id, scope, SUM(people) FROM console_consents_scopecount GROUP BY 1, 2 HAVING SUM(people) > 0"
)
LOGIN_ACTIONS = frozenset({"bridge.login.accept", "bridge.login.reject"})
CONSOLE_ACTIONS = (  # console and API writes that are not client versions (the drift sweep ignores them)
    ("apikey.create", "success", 0.2),
    ("consent.revoke", "success", 0.3),
    ("oauth2.trust.create", "success", 0.1),
    ("oauth2.token.revoke", "success", 0.2),
    ("hygiene.refresh", "success", 0.1),
    ("oauth2.client.revoke_tokens", "denied", 0.0999),
    ("hydra.key.rotation.cancel", "success", 0.0001),  # rare: a filtered page with few hits
)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def canonical(
    *,
    tenant: int,
    created_at: str,
    actor: str,
    action: str,
    target: str,
    outcome: str,
    ip: str | None,
    after_json: str,
    detail: str,
    prev_hash: str,
    chain: str,
) -> bytes:
    """truss.audit.events._canonical for rows with no before and no request id, without a model instance per
    row (sort_keys order, compact separators; every text here is plain ASCII without escapes)."""
    return (
        f'{{"action":"{action}","actor":"{actor}","after":{after_json},"before":null,"chain":"{chain}",'
        f'"created_at":"{created_at}","detail":"{detail}","ip":{_json(ip)},"outcome":"{outcome}",'
        f'"prev_hash":"{prev_hash}","request_id":"","target":"{target}","tenant":{tenant}}}'
    ).encode()


def _copy_text(value: str | None) -> str:
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


@contextlib.contextmanager
def without_indexes(conn: psycopg.Connection[Any], table: str) -> Iterator[None]:
    """Drop the table's secondary indexes and unique constraints (not its primary key) for a bulk load, and
    rebuild them after it."""
    indexes = conn.execute(
        "SELECT i.indexname, i.indexdef, c.conname, pg_get_constraintdef(c.oid) FROM pg_indexes i "
        "LEFT JOIN pg_constraint c ON c.conname = i.indexname AND c.conrelid = %s::regclass "
        "WHERE i.tablename = %s AND (c.contype IS NULL OR c.contype <> 'p')",
        (table, table),
    ).fetchall()
    for name, _, constraint, _ in indexes:
        if constraint:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"')  # type: ignore[arg-type]
        else:
            conn.execute(f'DROP INDEX "{name}"')  # type: ignore[arg-type]
    try:
        yield
    finally:
        conn.execute("SET maintenance_work_mem = '512MB'")
        for name, definition, constraint, condef in indexes:
            started = time.perf_counter()
            if constraint:
                conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" {condef}')  # type: ignore[arg-type]
            else:
                conn.execute(definition)
            say(f"{table}: index {name} rebuilt in {time.perf_counter() - started:.1f}s")


def part_audit(ds: Dataset) -> tuple[int, str]:
    """The tenant's chain: client creations first (31 days ago), then 30 days of bridge and console events."""
    from django.utils import timezone

    from oauth2_admin.clients import service as clients
    from truss.audit import chain_for, compute_hash
    from truss.audit.events import GENESIS, jsonable
    from truss.models import AuditEvent, Tenant
    from truss.ory import hydra

    tenant = Tenant.objects.get(slug=TENANT)
    chain = chain_for(tenant.pk)
    listed = [c for page in hydra.iter_clients(owner=tenant.hydra_owner) for c in page.items]
    client_ids = [c.client_id for c in listed]
    creations = [(c.client_id, _json(jsonable(clients.public_view(c)))) for c in listed]
    rng = random.Random(7)
    people = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(max(100, ds.ledger // 10))]
    now = timezone.now().replace(microsecond=0)
    start = now - dt.timedelta(days=DAYS)
    # The creations count among the events when they are a small part of them (full scale); at 1,000 they would
    # be all of them, so there the mix of bridge and console events comes on top.
    rest = ds.events - len(creations) if ds.events > 10 * len(creations) else ds.events
    step_us = int(DAYS * 86400 * 1_000_000 / max(rest, 1))
    bridge_afters = [
        _json({"acr": "aal1", "amr": [{"method": "password"}], "remember_for": 2592000}),
        _json(
            {
                "audience": [],
                "claims": [],
                "decision": "accepted",
                "grant_scope": ["openid", "profile", "email"],
                "remember_for": 2592000,
            }
        ),
        _json({"decision": "remembered", "grant_scope": ["openid", "offline_access"], "remember_for": None}),
    ]
    bridge_kinds = _weighted(BRIDGE_ACTIONS, rng, 1000)
    console_kinds = _weighted(CONSOLE_ACTIONS, rng, 10_000)
    rollup: Counter[tuple[dt.date, str, str]] = Counter()

    def rows() -> Iterator[tuple[dt.datetime, str, str, str, str, str | None, str, str]]:
        """(created_at, actor, action, target, outcome, ip, after_json, detail) in chain order."""
        base = start - dt.timedelta(days=1)
        for i, (client_id, after) in enumerate(creations):
            yield (
                base + dt.timedelta(seconds=i),
                "user:operator",
                "oauth2.client.create",
                client_id,
                "success",
                "10.0.0.1",
                after,
                "",
            )
        for i in range(rest):
            at = start + dt.timedelta(microseconds=i * step_us)
            client_id = client_ids[rng.randrange(len(client_ids))] if client_ids else ""
            if i % 2 == 0:
                action, outcome = bridge_kinds[i % len(bridge_kinds)]
                person = people[rng.randrange(len(people))]
                after = bridge_afters[0] if action in LOGIN_ACTIONS else bridge_afters[1 + (i % 4 == 0)]
                if outcome != "success" or action.endswith(("reject", "view")):
                    after = "null"
                yield at, f"identity:{person}", action, client_id, outcome, "203.0.113.7", after, ""
            else:
                action, outcome = console_kinds[(i // 2) % len(console_kinds)]
                yield (
                    at,
                    f"user:op{i % 50}",
                    action,
                    client_id,
                    outcome,
                    "10.0.0.2",
                    _json({"n": i % 1000}),
                    "" if outcome == "success" else "refused for the role",
                )

    started = time.perf_counter()
    prev = GENESIS
    checked = 0
    with psycopg.connect(pg_url(ds.app_db)) as conn:
        conn.execute(
            "TRUNCATE truss_auditevent, truss_auditchainhead, truss_auditdailycount RESTART IDENTITY"
        )
        conn.commit()
        with without_indexes(conn, "truss_auditevent"):
            buffer = io.StringIO()
            written = 0
            with conn.cursor().copy(
                "COPY truss_auditevent (tenant_id, created_at, actor, action, target, outcome, request_id, ip, "
                "before, after, detail, prev_hash, hash, chain) FROM STDIN"
            ) as copy:
                for at, actor, action, target, outcome, ip, after, detail in rows():
                    stamp = at.isoformat()
                    digest = hashlib.sha256(
                        canonical(
                            tenant=tenant.pk,
                            created_at=stamp,
                            actor=actor,
                            action=action,
                            target=target,
                            outcome=outcome,
                            ip=ip,
                            after_json=after,
                            detail=detail,
                            prev_hash=prev,
                            chain=chain,
                        )
                    ).hexdigest()
                    if checked < 50 and written % 997 == 0:  # the fast form is the model's form
                        event = AuditEvent(
                            tenant_id=tenant.pk,
                            created_at=at,
                            actor=actor,
                            action=action,
                            target=target,
                            outcome=outcome,
                            request_id="",
                            ip=ip,
                            before=None,
                            after=json.loads(after),
                            detail=detail,
                            prev_hash=prev,
                            chain=chain,
                        )
                        assert compute_hash(event) == digest, (action, after)
                        checked += 1
                    buffer.write(
                        f"{tenant.pk}\t{stamp}\t{actor}\t{action}\t{target}\t{outcome}\t\t{ip or chr(92) + 'N'}\t"
                        f"\\N\t{_copy_text(after if after != 'null' else None)}\t{_copy_text(detail)}\t{prev}\t"
                        f"{digest}\t{chain}\n"
                    )
                    prev = digest
                    written += 1
                    rollup[(at.date(), action, outcome)] += 1
                    if written % 50_000 == 0:
                        copy.write(buffer.getvalue())
                        buffer = io.StringIO()
                    if written % 1_000_000 == 0:
                        say(f"audit: {written:,} events chained ({time.perf_counter() - started:.0f}s)")
                copy.write(buffer.getvalue())
            conn.commit()
            say(
                f"audit: {written:,} events copied in {time.perf_counter() - started:.0f}s; rebuilding indexes"
            )
        conn.execute("INSERT INTO truss_auditchainhead (chain, last_hash) VALUES (%s, %s)", (chain, prev))
        with conn.cursor().copy(
            "COPY truss_auditdailycount (tenant_id, day, action, outcome, events) FROM STDIN"
        ) as copy:
            for (day, action, outcome), n in rollup.items():
                copy.write_row((tenant.pk, day, action, outcome, n))
        conn.commit()
        conn.execute("ANALYZE truss_auditevent")
        conn.execute("ANALYZE truss_auditdailycount")
        conn.commit()
    return written, json.dumps({"first": start.isoformat(), "last": now.isoformat(), "days": DAYS})


def _weighted(choices: Sequence[tuple[str, str, float]], rng: random.Random, n: int) -> list[tuple[str, str]]:
    out = [(a, o) for a, o, share in choices for _ in range(max(1, round(share * n)))]
    rng.shuffle(out)
    return out


# --- the consent ledger ----------------------------------------------------------------------------------------

LEDGER_SCOPES = (["openid", "profile", "email"], ["openid", "offline_access"], ["openid", "profile"])


def part_ledger(ds: Dataset) -> tuple[int, str]:
    """Ledger rows: each person has consented to PEOPLE_CLIENTS of the tenant's clients; 90 % active."""
    from django.utils import timezone

    from truss.models import Tenant
    from truss.ory import hydra

    tenant = Tenant.objects.get(slug=TENANT)
    client_ids = sorted(
        c.client_id for page in hydra.iter_clients(owner=tenant.hydra_owner) for c in page.items
    )
    rng = random.Random(11)
    now = timezone.now().replace(microsecond=0)
    people = max(1, ds.ledger // PEOPLE_CLIENTS)
    counts: Counter[tuple[str, str]] = Counter()
    written = 0
    with psycopg.connect(pg_url(ds.app_db)) as conn:
        conn.execute(
            "TRUNCATE console_consents_ledgerentry, console_consents_scopecount, console_consents_tenantscopecount RESTART IDENTITY"
        )
        with without_indexes(conn, "console_consents_ledgerentry"):
            with conn.cursor().copy(
                "COPY console_consents_ledgerentry (tenant_id, client_id, subject, decision, state, scopes, audience, "
                "remembered, remember_until, first_at, last_at, state_changed_at, granted_count, denied_count) "
                "FROM STDIN"
            ) as copy:
                for p in range(people):
                    subject = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    for c in rng.sample(range(len(client_ids)), min(PEOPLE_CLIENTS, len(client_ids))):
                        if written >= ds.ledger:
                            break
                        client_id = client_ids[c]
                        roll = rng.random()
                        state = "active" if roll < 0.9 else ("revoked" if roll < 0.97 else "denied")
                        scopes = LEDGER_SCOPES[(p + c) % len(LEDGER_SCOPES)] if state != "denied" else []
                        first = now - dt.timedelta(seconds=rng.randrange(DAYS * 86400))
                        last = first + dt.timedelta(seconds=rng.randrange(3600))
                        copy.write_row(
                            (
                                tenant.pk,
                                client_id,
                                subject,
                                "denied"
                                if state == "denied"
                                else ("remembered" if roll < 0.3 else "accepted"),
                                state,
                                json.dumps(scopes),
                                "[]",
                                roll < 0.5,
                                None,
                                first,
                                last,
                                last if state == "revoked" else None,
                                0 if state == "denied" else 1 + (p % 3),
                                1 if state == "denied" else 0,
                            )
                        )
                        written += 1
                        if state == "active":
                            counts[(client_id, "")] += 1
                            for scope in scopes:
                                counts[(client_id, scope)] += 1
            conn.commit()
        with conn.cursor().copy(
            "COPY console_consents_scopecount (tenant_id, client_id, scope, people) FROM STDIN"
        ) as copy:
            for (client_id, scope), n in counts.items():
                copy.write_row((tenant.pk, client_id, scope, n))
        conn.commit()
        conn.execute(TENANT_COUNTS_FROM_CLIENT_COUNTS)
        conn.execute("ANALYZE console_consents_ledgerentry")
        conn.execute("ANALYZE console_consents_scopecount")
        conn.commit()
    return written, json.dumps({"people": people, "scope_counts": len(counts)})


# --- the child that builds one dataset --------------------------------------------------------------------------


def build(ds: Dataset, hydra_admin: str) -> dict[str, tuple[int, float, str]]:
    """Run every part not yet recorded as done; returns every part's (rows, seconds, detail)."""
    import django

    django.setup()
    done = parts(ds.app_db)
    steps = (
        ("tenants", lambda: part_tenants(ds)),
        ("hydra", lambda: part_hydra(ds, hydra_admin)),
        ("audit", lambda: part_audit(ds)),
        ("ledger", lambda: part_ledger(ds)),
    )
    for name, step in steps:
        if name in done:
            continue
        say(f"{ds.name}: building {name}")
        started = time.perf_counter()
        rows, detail = step()
        seconds = time.perf_counter() - started
        mark(ds.app_db, name, rows, seconds, detail)
        say(f"{ds.name}: {name} done: {rows:,} rows in {seconds:.1f}s")
    return parts(ds.app_db)


def environment(ds: Dataset, stack: ScaleStack) -> dict[str, str]:
    """What a child (builder, timing worker, sweep) of this dataset runs with."""
    return {
        **os.environ,
        **stack.env(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TRUSS_TEST_CHILD": "1",
        "DATABASE_URL": pg_url(ds.app_db),
        "CACHE_URL": "locmemcache://",
        "TRUSS_PUBLIC_URL": "http://127.0.0.1:8000",
        "AUDIT_DRAIN_DELAY": "0.02",
        "LOG_LEVEL": "WARNING",
        "TRUST_TOKEN_HOOK": "off",
        "PYTHONPATH": str(ROOT),
    }


def migrate(env: dict[str, str], code: Path) -> float:
    """The migrations of the code under test on the dataset's database (a no-op when up to date); seconds."""
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=code,
        env={**env, "PYTHONPATH": str(code)},
        check=True,
    )
    return time.perf_counter() - started


def prepare(
    ds: Dataset, *, regenerate: bool = False, code: Path = ROOT
) -> tuple[ScaleStack, dict[str, str], dict[str, Any]]:
    """The dataset's databases, Hydra + Kratos started over them, Truss migrated, every part built; returns the
    running stack (stop it), the children's environment and the parts' rows/seconds."""
    ensure_databases(ds, regenerate=regenerate)
    stack = stack_for(ds)
    started = time.perf_counter()
    stack.state_dir.mkdir(parents=True, exist_ok=True)
    stack.start(timeout=180)
    stack_seconds = time.perf_counter() - started
    env = environment(ds, stack)
    migrate_seconds = migrate(env, code)
    subprocess.run([sys.executable, "-m", "bench.scale_data", ds.name], cwd=ROOT, env=env, check=True)  # noqa: S603
    built = parts(ds.app_db)
    info = {"stack_s": stack_seconds, "migrate_s": migrate_seconds, "parts": built}
    return stack, env, info


def main(argv: list[str]) -> int:
    ds = DATASETS[argv[1]]
    build(ds, os.environ["HYDRA_ADMIN_URL"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
