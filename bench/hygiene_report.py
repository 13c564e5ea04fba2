"""The hygiene report over 1,000 clients vs the plain client list page, side by side.

Usage: .venv/bin/python bench/hygiene_report.py [--clients 1000] [--rounds 30]
Starts a private Hydra + Kratos (Hydra on a file DSN: SQLite under a temporary state dir, like `make run`),
creates the tenant's clients directly in Hydra (a mix that trips several rules) and one audit
`oauth2.client.create` event each, builds the findings snapshot once with `manage.py sweep_drift` (timed: that is
what a refresh costs), then measures in interleaved rounds: console:clients:list (first page of 25),
console:hygiene:report (first page of 50 of all clients, read from the snapshot, time rules applied now), the
report filtered by a read-time rule and sorted by findings, and the bare Hydra listing of all clients (the floor
of any report that lists Hydra per view). Prints median, p10–p90 spread and the ratio of the medians (target:
report at most 1.5x the list page).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402
import requests  # noqa: E402

from truss.devstack import Stack, free_port  # noqa: E402

VARIANTS: list[dict[str, Any]] = [
    {"grant_types": ["client_credentials"]},
    {"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"},
    {"grant_types": ["authorization_code", "refresh_token"], "redirect_uris": ["https://app.example.com/cb"]},
    {
        "grant_types": ["authorization_code", "implicit"],
        "response_types": ["code", "token"],
        "redirect_uris": ["http://app.example.com/cb"],
        "skip_consent": True,
    },
    {
        "grant_types": ["authorization_code"],
        "token_endpoint_auth_method": "none",
        "access_token_strategy": "jwt",
        "redirect_uris": ["https://spa.example.com/cb"],
        "logo_uri": "http://spa.example.com/logo.png",
    },
]


def create_clients(stack: Stack, owner: str, count: int) -> list[dict[str, Any]]:
    """Hydra's answers (the clients' public views once the secret is dropped)."""
    session = requests.Session()

    def one(i: int) -> dict[str, Any]:
        body = {"client_name": f"bench-{i:04d}", "owner": owner, **VARIANTS[i % len(VARIANTS)]}
        response = session.post(f"{stack.hydra_admin_url}/admin/clients", json=body, timeout=30)
        response.raise_for_status()
        return {
            k: v
            for k, v in response.json().items()
            if k not in ("client_secret", "registration_access_token")
        }

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, range(count)))


def spread(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[len(ordered) // 10]:.1f}–{ordered[(len(ordered) * 9) // 10]:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    ports = {k: free_port() for k in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
    stack = Stack(state_dir=Path(tempfile.mkdtemp()), ports=ports, persistent=True)  # file DSN
    stack.start()
    try:
        for key, value in stack.env().items():
            os.environ[key] = value
        django.setup()
        from django.conf import settings
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.test import Client

        from truss import audit
        from truss.audit import Action
        from truss.models import Membership, Tenant

        for key, value in stack.env().items():
            setattr(settings, key, value)
        call_command("migrate", verbosity=0)
        tenant = Tenant.objects.create(slug="bench", name="Bench")
        user = User.objects.create_user("bench")
        Membership.objects.create(user=user, tenant=tenant, role="viewer")
        client = Client()
        client.force_login(user)

        started = time.perf_counter()
        made = create_clients(stack, tenant.hydra_owner, args.clients)
        ids = [str(c["client_id"]) for c in made]
        for view in made:  # as if Truss had created them (the snapshot's audit receiver sees each)
            audit.record(None, Action.CLIENT_CREATE, tenant=tenant, target=str(view["client_id"]), after=view)
        print(
            f"created {len(ids):,} clients (+ one audit event each) in {time.perf_counter() - started:.1f}s"
        )

        begin = time.perf_counter()
        call_command("sweep_drift", "--tenant", tenant.slug, stdout=io.StringIO())
        print(f"snapshot built by sweep_drift (listing + lint + drift) in {time.perf_counter() - begin:.2f}s")

        cases = {
            "client list page (25 rows)": "/console/clients/",
            f"hygiene report ({len(ids):,} clients)": "/console/hygiene/",
            "report, rule secret-age, by findings": "/console/hygiene/?rule=secret-age&sort=findings",
        }
        bare = requests.Session()

        def hydra_all() -> int:
            """The floor: the Hydra listing the report needs (pages of 500), with nothing done on top."""
            token, count = None, 0
            while True:
                params = {
                    "owner": tenant.hydra_owner,
                    "page_size": 500,
                    **({"page_token": token} if token else {}),
                }
                response = bare.get(f"{stack.hydra_admin_url}/admin/clients", params=params, timeout=30)
                count += len(response.json())
                link = response.links.get("next", {}).get("url", "")
                token = link.split("page_token=")[1].split("&")[0] if "page_token=" in link else None
                if not token or not response.json():
                    return count

        samples: dict[str, list[float]] = {name: [] for name in cases}
        samples["bare Hydra listing of all (no Truss)"] = []  # last: medians unpack in this order
        for url in cases.values():  # warm-up
            assert client.get(url).status_code == 200
        report = client.get("/console/hygiene/").content.decode()
        assert f"{len(ids):,} clients" in report or f"{len(ids)} clients" in report, (
            "report did not see all clients"
        )
        for _ in range(args.rounds):
            for name, url in cases.items():
                begin = time.perf_counter()
                response = client.get(url)
                samples[name].append((time.perf_counter() - begin) * 1000)
                assert response.status_code == 200, (name, response.status_code)
            begin = time.perf_counter()
            assert hydra_all() == len(ids)
            samples["bare Hydra listing of all (no Truss)"].append((time.perf_counter() - begin) * 1000)
        print(f"\n{args.rounds} interleaved rounds")
        print(f"  {'':<38} {'median ms':>10} {'p10–p90 ms':>14}")
        medians = {}
        for name, values in samples.items():
            medians[name] = statistics.median(values)
            print(f"  {name:<38} {medians[name]:10.1f} {spread(values):>14}")
        list_ms, report_ms, filtered_ms, floor_ms = medians.values()
        print(f"  ratio report / list page: {report_ms / list_ms:.2f}x (target <= 1.5x)")
        print(f"  ratio filtered report / list page: {filtered_ms / list_ms:.2f}x")
        print(
            f"  ratio bare Hydra listing / list page: {floor_ms / list_ms:.2f}x (what a report listing Hydra per view pays)"
        )
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
