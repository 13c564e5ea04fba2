"""Client list page vs a bare Hydra list call, and flatness in the number of other tenants' clients.

Usage: .venv/bin/python bench/client_list.py [--mine 1000] [--others 10000] [--repeat 60]
Starts a private Hydra + Kratos (in-memory databases, free ports), creates the tenant's clients, measures,
adds the other tenants' clients, measures again. Each measurement interleaves, request by request:
  - the console list page (Django view + template, first page of 25 and a later page),
  - the JSON API list (/v1/oauth2/clients, same page size),
  - the bare Hydra admin call it wraps (GET /admin/clients?owner=…&page_size=25).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402
import requests  # noqa: E402

from truss.devstack import Stack, free_port  # noqa: E402

PAGE = 25


def create_clients(stack: Stack, owners: list[str], count: int) -> None:
    session = requests.Session()

    def one(i: int) -> None:
        body = {
            "client_name": f"bench-{i}",
            "grant_types": ["client_credentials"],
            "owner": owners[i % len(owners)],
        }
        response = session.post(f"{stack.hydra_admin_url}/admin/clients", json=body, timeout=30)
        response.raise_for_status()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(count)))


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def measure(label: str, client, stack: Stack, owner: str, api_key: str, repeat: int) -> dict[str, float]:
    bare = requests.Session()
    second_token = client.get("/v1/oauth2/clients", {"page_size": PAGE}, headers={"apikey": api_key}).json()[
        "next_page_token"
    ]
    cases = {
        "console page 1": lambda: client.get("/console/clients/"),
        "console page 2": lambda: client.get("/console/clients/", {"page_token": second_token}),
        "API /v1 page 1": lambda: client.get("/v1/oauth2/clients", {"page_size": PAGE}, headers={"apikey": api_key}),
        "bare Hydra page 1": lambda: bare.get(f"{stack.hydra_admin_url}/admin/clients",
                                              params={"owner": owner, "page_size": PAGE}, timeout=10),
        "bare Hydra page 2": lambda: bare.get(f"{stack.hydra_admin_url}/admin/clients",
                                              params={"owner": owner, "page_size": PAGE, "page_token": second_token},
                                              timeout=10),
    }  # fmt: skip
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for call in cases.values():  # warm-up
        call()
    for _ in range(repeat):
        for name, call in cases.items():
            started = time.perf_counter()
            response = call()
            samples[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
    print(f"\n{label}")
    print(f"  {'':<20} {'p50 ms':>8} {'p95 ms':>8}")
    result = {}
    for name, values in samples.items():
        result[name] = statistics.median(values)
        print(f"  {name:<20} {statistics.median(values):8.2f} {percentile(values, 0.95):8.2f}")
    print(f"  ratio console/bare page 1: {result['console page 1'] / result['bare Hydra page 1']:.2f}x, "
          f"API/bare: {result['API /v1 page 1'] / result['bare Hydra page 1']:.2f}x, "
          f"console/bare page 2: {result['console page 2'] / result['bare Hydra page 2']:.2f}x")  # fmt: skip
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mine", type=int, default=1000)
    parser.add_argument("--others", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args()

    ports = {k: free_port() for k in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
    stack = Stack(state_dir=Path(tempfile.mkdtemp()), ports=ports, persistent=False)
    stack.start()
    try:
        for key, value in stack.env().items():
            os.environ[key] = value
        django.setup()
        from django.conf import settings
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.test import Client

        from truss import apikeys
        from truss.models import Membership, Tenant

        for key, value in stack.env().items():
            setattr(settings, key, value)
        call_command("migrate", verbosity=0)
        tenant = Tenant.objects.create(slug="bench", name="Bench")
        user = User.objects.create_user("bench")
        Membership.objects.create(user=user, tenant=tenant, role="viewer")
        _, api_key = apikeys.generate(tenant, "service_role")
        client = Client()
        client.force_login(user)

        started = time.perf_counter()
        create_clients(stack, [tenant.hydra_owner], args.mine)
        print(f"created {args.mine:,} clients of the tenant in {time.perf_counter() - started:.1f}s")
        before = measure(f"{args.mine:,} own clients, 0 of other tenants", client, stack, tenant.hydra_owner,
                         api_key, args.repeat)  # fmt: skip

        started = time.perf_counter()
        create_clients(stack, [f"truss:other-{i}" for i in range(100)], args.others)
        print(
            f"\ncreated {args.others:,} clients of 100 other tenants in {time.perf_counter() - started:.1f}s"
        )
        after = measure(f"{args.mine:,} own clients, {args.others:,} of other tenants", client, stack,
                        tenant.hydra_owner, api_key, args.repeat)  # fmt: skip
        print("\nflatness (after / before), p50:")
        for name in before:
            print(f"  {name:<20} {after[name] / before[name]:.2f}x")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
