"""Audit log page at a million rows: keyset pagination stays flat where OFFSET pagination does not.

Usage: .venv/bin/python bench/audit_list.py [--rows 1000000] [--repeat 30]
Uses DATABASE_URL if set (e.g. PostgreSQL), else a throwaway SQLite file. Prints p50/p95 server time of the
console's audit page (Django test client, full view + template) for: the first page of a small tenant, the first
page and a deep page of the big tenant, filtered pages, and, side by side, the same deep page fetched with OFFSET.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from truss import audit  # noqa: E402
from truss.audit import Action  # noqa: E402
from truss.models import AuditChainHead, AuditEvent, Membership, Tenant  # noqa: E402

RARE = (
    Action.KEY_ROTATION_CANCEL
)  # a registered action (the page's filter offers only those), 1 row in 10,000
ACTIONS = [Action.CLIENT_CREATE, Action.CLIENT_UPDATE, Action.CLIENT_DELETE, Action.APIKEY_CREATE, RARE]


def seed(tenant: Tenant, rows: int, start: dt.datetime) -> None:
    """Bulk-insert a valid hash chain (what record() would write, minus one transaction per row)."""
    chain = audit.chain_for(tenant.pk)
    head = AuditChainHead.objects.filter(chain=chain).first()
    prev = head.last_hash if head else audit.GENESIS
    batch: list[AuditEvent] = []
    for i in range(rows):
        action = ACTIONS[4] if i % 10_000 == 0 else ACTIONS[i % 4]
        event = AuditEvent(
            tenant=tenant,
            created_at=start + dt.timedelta(seconds=i),
            actor=f"user:op{i % 50}",
            action=str(action),
            target=f"client-{i % 5000}",
            outcome="success",
            request_id="",
            ip="127.0.0.1",
            after={"client_name": f"app {i}", "grant_types": ["client_credentials"]},
            detail="",
            prev_hash=prev,
            chain=chain,
        )
        event.hash = audit.compute_hash(event)
        prev = event.hash
        batch.append(event)
        if len(batch) == 20_000:
            AuditEvent.objects.bulk_create(batch)
            batch.clear()
    AuditEvent.objects.bulk_create(batch)
    AuditChainHead.objects.update_or_create(chain=chain, defaults={"last_hash": prev})


def timed(client: Client, url: str, repeat: int) -> tuple[float, float, int]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    samples.sort()
    # Rows rendered (the test client keeps no context outside the test runner, so count them in the HTML).
    return (
        statistics.median(samples),
        samples[int(len(samples) * 0.95) - 1],
        response.content.count(b"<time "),
    )


def offset_page(tenant: Tenant, offset: int, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        list(AuditEvent.objects.filter(tenant=tenant).order_by("-id")[offset : offset + 51])
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    big = Tenant.objects.create(slug="big", name="Big")
    small = Tenant.objects.create(slug="small", name="Small")
    start = timezone.now() - dt.timedelta(seconds=args.rows + 10)
    t0 = time.perf_counter()
    seed(small, 1_000, start)
    seed(big, args.rows, start)
    print(f"seeded {args.rows:,} + 1,000 rows in {time.perf_counter() - t0:.1f}s on {connection.vendor}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE truss_auditevent")

    user = User.objects.create_user("bench")
    Membership.objects.create(user=user, tenant=big, role="viewer")
    Membership.objects.create(user=user, tenant=small, role="viewer")
    client = Client()
    client.force_login(user)

    def as_tenant(slug: str) -> None:
        session = client.session
        session["truss_tenant"] = slug
        session.save()

    ids = list(
        AuditEvent.objects.filter(tenant=big).order_by("id").values_list("id", flat=True)[:: args.rows // 2]
    )
    middle = ids[1] if len(ids) > 1 else ids[0]
    day = (start + dt.timedelta(seconds=args.rows // 2)).date().isoformat()
    cases = [
        ("small tenant (1,000 rows), first page", "small", ""),
        (f"big tenant ({args.rows:,} rows), first page", "big", ""),
        ("big tenant, deep page (cursor at the middle)", "big", f"before={middle}"),
        (f"big tenant, action={RARE} (1 in 10,000)", "big", f"action={RARE}"),
        ("big tenant, actor=user:op7", "big", "actor=user:op7"),
        ("big tenant, target=client-42", "big", "target=client-42"),
        (f"big tenant, one day ({day})", "big", f"since={day}&until={day}"),
    ]
    print(
        f"\n{'audit page (view + template, ' + str(args.repeat) + ' runs)':<58} {'p50 ms':>8} {'p95 ms':>8} {'rows':>5}"
    )
    results = {}
    for label, slug, query in cases:
        as_tenant(slug)
        p50, p95, n = timed(client, f"/console/audit/?{query}", args.repeat)
        results[label] = p50
        print(f"{label:<58} {p50:8.1f} {p95:8.1f} {n:5}")
    keyset_deep = results["big tenant, deep page (cursor at the middle)"]
    off50, off95 = offset_page(big, args.rows // 2, args.repeat)
    key50, key95 = offset_page(big, 0, args.repeat)
    print(f"\n{'query only, side by side':<58} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'OFFSET 0 (first page)':<58} {key50:8.2f} {key95:8.2f}")
    print(f"{f'OFFSET {args.rows // 2:,} (what page-number paging would do)':<58} {off50:8.2f} {off95:8.2f}")
    small_first = results["small tenant (1,000 rows), first page"]
    big_first = results[f"big tenant ({args.rows:,} rows), first page"]
    print(
        f"\nratio big/small first page: {big_first / small_first:.2f}x; keyset deep / first page: "
        f"{keyset_deep / big_first:.2f}x; OFFSET deep / OFFSET first: {off50 / key50:.0f}x"
    )


if __name__ == "__main__":
    main()
