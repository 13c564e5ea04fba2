"""Client list vs the bare Hydra list call it wraps, before and after other tenants' clients, interleaved rounds.

Usage: .venv/bin/python bench/client_list.py [--mine 1000] [--others 5000] [--rounds 5] [--repeat 20] [--sqlite]
Starts a private Hydra + Kratos on PostgreSQL (bench/common.py; never DSN=memory), creates the tenant's clients
and measures, in every round and request by request: the console list page (in-process Django: middleware,
session, tenancy, view, template), the JSON API list (/v1/oauth2/clients) and the bare Hydra admin call
(GET /admin/clients?owner=…&page_size=25, over HTTP). Then it adds the other tenants' clients and measures
again. Prints medians over rounds with their min–max spread, each Truss page beside the bare Hydra call and their
per-round ratio (`make bench`, i.e. bridge_flows.py --client-list, writes this table to bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import results  # noqa: E402
from bench.common import bench, load, median  # noqa: E402
from bench.results import Table, verdict  # noqa: E402

PAGE = 25


def create_clients(hydra_admin: str, owners: list[str], count: int) -> None:
    session = requests.Session()

    def one(i: int) -> None:
        body = {
            "client_name": f"bench-{i}",
            "grant_types": ["client_credentials"],
            "owner": owners[i % len(owners)],
        }
        session.post(f"{hydra_admin}/admin/clients", json=body, timeout=60).raise_for_status()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(count)))


def _measure(cases: dict[str, Any], repeat: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, call in cases.items():
            started = time.perf_counter()
            response = call()
            samples[name].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, response.status_code)
    return {name: median(values) for name, values in samples.items()}


def run(
    b: Any, env: dict[str, str], *, mine: int = 1000, others: int = 5000, rounds: int = 5, repeat: int = 20
) -> Table:
    from django.contrib.auth.models import User
    from django.test import Client

    from truss import apikeys
    from truss.models import Membership, Tenant

    hydra_admin = b.stack.hydra_admin_url
    tenant = Tenant.objects.create(slug="bench-list", name="Bench list")
    user = User.objects.create_user("bench-list")
    Membership.objects.create(user=user, tenant=tenant, role="viewer")
    _, api_key = apikeys.generate(tenant, "service_role")
    client = Client()
    client.force_login(user)
    bare = requests.Session()
    owner = tenant.hydra_owner
    cases = {
        "console list page": lambda: client.get("/console/clients/"),
        "API /v1 list": lambda: client.get(
            "/v1/oauth2/clients", {"page_size": PAGE}, headers={"apikey": api_key}
        ),
        "bare Hydra list": lambda: bare.get(
            f"{hydra_admin}/admin/clients", params={"owner": owner, "page_size": PAGE}, timeout=30
        ),
    }
    out = Table(
        f"Client list: Truss beside the bare Hydra list call ({mine:,} own clients, pages of {PAGE})",
        ("Truss, ms", "bare Hydra list, ms", "Truss / bare Hydra"),
        note="p50 of each round's requests; the console page and the API run in-process (Django test client), "
        "Hydra over HTTP. With other tenants' clients added, Hydra filters by owner.",
    )
    create_clients(hydra_admin, [owner], mine)
    for label, extra in (("0 others", 0), (f"{others:,} others", others)):
        if extra:
            create_clients(hydra_admin, [f"truss:other-{i}" for i in range(100)], extra)
        _measure(cases, 3)  # warm
        per: dict[str, list[float]] = {name: [] for name in cases}
        ratios: dict[str, list[float]] = {"console": [], "API": []}
        for _ in range(rounds):
            result = _measure(cases, repeat)
            for name, value in result.items():
                per[name].append(value)
            ratios["console"].append(result["console list page"] / result["bare Hydra list"])
            ratios["API"].append(result["API /v1 list"] / result["bare Hydra list"])
        bare_ms = per["bare Hydra list"]
        for which, name, target in (("console", "console list page", 1.3), ("API", "API /v1 list", 1.2)):
            met = median(ratios[which]) <= target
            out.add(
                f"{name}, {label}",
                per[name],
                bare_ms,
                ratios[which],
                target=f"<= {target}x",
                verdict=verdict(met),
            )
        print(f"client list: {label} measured ({load()})", file=sys.stderr)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mine", type=int, default=1000)
    parser.add_argument("--others", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    with bench(args.sqlite) as (b, env):
        table = run(b, env, mine=args.mine, others=args.others, rounds=args.rounds, repeat=args.repeat)
    print(f"\nclient list bench: {args.rounds} rounds on {b.backend}; {load()}\n")
    print(results.markdown(table))


if __name__ == "__main__":
    main()
