"""Token introspection through Truss's API vs Hydra's admin introspection directly, side by side.

Usage: .venv/bin/python bench/introspection.py [--rounds 7] [--per-round 60] [--sqlite]
Starts a private Hydra + Kratos (bench/common.py: PostgreSQL by default, as in production; `--sqlite` for SQLite
files; never DSN=memory), creates a tenant client and an opaque access token, then runs interleaved rounds;
within a round the calls alternate request by request:
  - Truss /v1/oauth2/introspect (service_role API key; in-process Django test client, like bench/client_list.py),
  - Truss /api/hydra/introspect (operator session),
  - Truss GET /healthz (no Hydra call): the floor of a request through Django's middleware and test client,
  - Hydra POST /admin/oauth2/introspect (a keep-alive requests session).
Each round's median is one sample; the table shows the median of the round medians and their spread (min–max).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench, load  # noqa: E402
from truss.devstack import binary_version  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=60)
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    args = parser.parse_args()
    assert args.rounds >= 5, "at least 5 rounds"

    with bench(args.sqlite) as (b, _env):
        stack = b.stack
        from django.contrib.auth.models import User
        from django.test import Client

        from truss import apikeys
        from truss.models import Membership, Tenant

        os.environ.pop("TRUSS_SERVER_TIMING", None)  # in-process: no Server-Timing bookkeeping on either side
        tenant = Tenant.objects.create(slug="bench", name="Bench")
        user = User.objects.create_user("bench")
        Membership.objects.create(user=user, tenant=tenant, role="viewer")
        _, api_key = apikeys.generate(tenant, "service_role")
        session_client = Client()
        session_client.force_login(user)
        key_client = Client()

        created = requests.post(
            f"{stack.hydra_admin_url}/admin/clients",
            timeout=10,
            json={"grant_types": ["client_credentials"], "owner": tenant.hydra_owner, "scope": "read"},
        ).json()
        token = requests.post(
            f"{stack.hydra_public_url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(created["client_id"], created["client_secret"]),
            timeout=10,
        ).json()["access_token"]
        body = json.dumps({"token": token})
        bare = requests.Session()
        cases: dict[str, Any] = {
            "Truss /v1 (API key)": lambda: key_client.post(
                "/v1/oauth2/introspect", body, content_type="application/json", headers={"apikey": api_key}
            ),
            "Truss /api/hydra (session)": lambda: session_client.post(
                "/api/hydra/introspect", body, content_type="application/json"
            ),
            "Truss floor (GET /healthz)": lambda: key_client.get("/healthz"),
            "Hydra admin direct": lambda: bare.post(
                f"{stack.hydra_admin_url}/admin/oauth2/introspect", data={"token": token}, timeout=10
            ),
        }
        for name, call in cases.items():  # warm-up, and every case must really answer "active"
            for _ in range(20):
                response = call()
            assert response.status_code == 200 and (
                name.startswith("Truss floor") or response.json()["active"]
            ), name

        rounds: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            samples: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.per_round):
                for name, call in cases.items():
                    started = time.perf_counter()
                    call()
                    samples[name].append((time.perf_counter() - started) * 1000)
            for name, values in samples.items():
                rounds[name].append(statistics.median(values))

        print(
            f"\nintrospection of one opaque token, Hydra {binary_version('hydra')} on {b.backend}; "
            f"{args.rounds} interleaved rounds × {args.per_round} calls per case; {load()}"
        )
        print(f"  {'':<28} {'median ms':>10} {'spread (round medians)':>24}")
        medians = {}
        for name, values in rounds.items():
            medians[name] = statistics.median(values)
            print(f"  {name:<28} {medians[name]:10.3f} {min(values):11.3f} – {max(values):.3f}")
        base = medians["Hydra admin direct"]
        for name in list(cases)[:3]:
            per_round = [t / h for t, h in zip(rounds[name], rounds["Hydra admin direct"], strict=True)]
            print(
                f"  ratio {name} / Hydra: {medians[name] / base:.2f}x "
                f"(per round {min(per_round):.2f}–{max(per_round):.2f}x)"
            )


if __name__ == "__main__":
    main()
