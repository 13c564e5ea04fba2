"""Consent ledger page ("People who authorised it") at 100,000 entries vs 1,000 entries, side by side.

Usage: .venv/bin/python bench/consent_ledger.py [--big 100000] [--small 1000] [--rounds 15] [--repeat 10]
Starts a private Hydra (the page looks the client up there once per load), seeds two clients' ledgers straight
into the database (no consents needed for page speed), then fetches both pages (first page, 100 rows, counts per
scope) in interleaved rounds. Prints per-round p95, then median and spread of the p95s and their ratio (target
≤ 1.5×). Uses DATABASE_URL if set (e.g. PostgreSQL), else a throwaway SQLite file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from oauth2_admin.consents import ledger  # noqa: E402
from oauth2_admin.consents.models import LedgerEntry  # noqa: E402
from truss.devstack import Stack, free_port  # noqa: E402
from truss.models import Membership, Tenant  # noqa: E402

SCOPES = ["openid", "email", "profile", "offline_access"]


def seed(tenant: Tenant, client_id: str, n: int) -> None:
    now = timezone.now()
    batch: list[LedgerEntry] = []
    for i in range(n):
        batch.append(
            LedgerEntry(
                tenant=tenant,
                client_id=client_id,
                subject=str(uuid.uuid4()),
                decision="accepted",
                state="active" if i % 10 else "revoked",
                scopes=SCOPES[: 1 + i % 4],
                first_at=now,
                last_at=now - dt.timedelta(seconds=i),
                granted_count=1,
            )
        )
        if len(batch) == 10_000:
            LedgerEntry.objects.bulk_create(batch)
            batch.clear()
    LedgerEntry.objects.bulk_create(batch)
    ledger.rebuild_counts(tenant, client_id)


def p95(client: Client, url: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    samples.sort()
    return samples[max(0, int(len(samples) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    ports = {key: free_port() for key in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
    stack = Stack(
        state_dir=Path(tempfile.mkdtemp()), ports=ports, truss_url="http://127.0.0.1:8000", persistent=True
    )
    stack.start(timeout=60)
    try:
        for key, value in stack.env().items():
            setattr(settings, key, value)
        tenant = Tenant.objects.create(slug=f"bench-{uuid.uuid4().hex[:6]}", name="Bench")
        clients = {}
        for label in ("small", "big"):
            made = requests.post(
                f"{stack.hydra_admin_url}/admin/clients",
                timeout=10,
                json={"client_name": f"{label} app", "owner": tenant.hydra_owner},
            ).json()
            clients[label] = made["client_id"]
        started = time.perf_counter()
        seed(tenant, clients["small"], args.small)
        seed(tenant, clients["big"], args.big)
        print(
            f"seeded {args.small:,} + {args.big:,} ledger entries in {time.perf_counter() - started:.1f} s "
            f"({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})"
        )
        user = User.objects.create_user("bench-op", password="x")
        Membership.objects.create(user=user, tenant=tenant, role="viewer")
        browser = Client()
        browser.force_login(user)
        urls = {label: f"/console/consents/clients/{cid}/" for label, cid in clients.items()}
        for url in urls.values():  # warm-up
            p95(browser, url, 3)
        small: list[float] = []
        big: list[float] = []
        for i in range(args.rounds):
            pair = [("small", small), ("big", big)] if i % 2 == 0 else [("big", big), ("small", small)]
            for label, out in pair:
                out.append(p95(browser, urls[label], args.repeat))
            print(
                f"round {i + 1:2}: p95 {args.small:,} = {small[-1]:6.1f} ms   {args.big:,} = {big[-1]:6.1f} ms"
            )
        ms, mb = statistics.median(small), statistics.median(big)
        print(
            f"\nledger page p95, median of {args.rounds} rounds ({args.repeat} loads each, 100 rows + counts):"
        )
        print(f"  {args.small:>9,} entries: {ms:6.1f} ms  (spread {min(small):.1f}–{max(small):.1f})")
        print(f"  {args.big:>9,} entries: {mb:6.1f} ms  (spread {min(big):.1f}–{max(big):.1f})")
        print(f"  ratio {mb / ms:.2f}×  (target ≤ 1.5×)")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
