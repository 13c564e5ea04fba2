"""What Hydra's token hook adds to a token request: the same Hydra database served by two Hydra processes, one
configured with Truss's token hook (oauth2.token_hook, as ory/hydra.yml ships it) and one without.

Usage: .venv/bin/python bench/token_hook.py [--rounds 7] [--per-round 40]
Starts a private Hydra + Kratos on PostgreSQL (bench/common.py), a second Hydra on the same database without the
hook, and Truss under `gunicorn -c gunicorn.conf.py` (the hook's server). One tenant, one trusted issuer key and
one client of that tenant. Interleaved rounds; within a round the calls alternate request by request:
  - client_credentials: the hook answers 204 at once (no database work),
  - jwt-bearer under the tenant's own trust: the hook reads the client's owner (cached) and the tenant's trust
    and checks the assertion's signature,
each at the Hydra without the hook and at the one with it. Each round's median is one sample; the table shows
the median of the round medians, their spread (min–max), and the hook's cost per round (with − without).
Last, Truss is stopped and one token request is timed at each Hydra: with the hook none is issued.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bridge_flows import gunicorn_size  # noqa: E402
from bench.common import Bench, _DsnStack, free_port, load  # noqa: E402
from truss.devstack import binary_version  # noqa: E402

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _plain_hydra(b: Bench) -> _DsnStack:
    """A second Hydra on the first one's database, without the hook (Kratos is the first stack's: already up)."""
    ports = {**b.stack.ports, "hydra_public": free_port(), "hydra_admin": free_port()}
    plain = _DsnStack(state_dir=b.work / "ory-plain", ports=ports, truss_url=b.truss_url, persistent=True)
    plain.dsns = {"hydra": b.stack.dsns["hydra"]}
    plain.start(timeout=120)
    return plain


def _assertion(key: Any, issuer: str, kid: str, token_url: str) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": "svc",
        "aud": token_url,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--per-round", type=int, default=40)
    args = parser.parse_args()
    assert args.rounds >= 5, "at least 5 rounds"

    b = Bench()
    b.stack.token_hook = True
    plain = None
    try:
        env = b.start()
        env = {**env, "TRUST_TOKEN_HOOK": "on", "TRUST_TOKEN_HOOK_SECRET": b.stack.token_hook_secret}
        plain = _plain_hydra(b)
        hooked = b.stack
        from oauth2_admin.trust import service as trust
        from truss.models import Tenant

        tenant = Tenant.objects.create(slug="bench", name="Bench")
        key = ec.generate_private_key(ec.SECP256R1())
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        issuer = "https://partner.bench.example"
        expires = (time.time() + 30 * 86400) // 1
        created = trust.create_for(
            None,
            tenant,
            {  # type: ignore[arg-type]
                "issuer": issuer,
                "subject": "svc",
                "scope": ["read"],
                "public_key": public,
                "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)),
            },
        )
        kid = created.record.kid
        app = requests.post(
            f"{hooked.hydra_admin_url}/admin/clients",
            timeout=30,
            json={
                "grant_types": ["client_credentials", GRANT],
                "owner": tenant.hydra_owner,
                "scope": "read",
            },
        ).json()
        workers, threads = gunicorn_size(argparse.Namespace(workers=0, threads=0))
        b.gunicorn("truss.wsgi", port=b.truss_port, workers=workers, threads=threads, name="truss", env=env)

        sessions = {name: requests.Session() for name in ("plain", "hooked")}
        urls = {"plain": plain.hydra_public_url, "hooked": hooked.hydra_public_url}
        auth = (app["client_id"], app["client_secret"])

        def client_credentials(which: str) -> Callable[[], requests.Response]:
            data = {"grant_type": "client_credentials", "scope": "read"}
            return lambda: sessions[which].post(
                f"{urls[which]}/oauth2/token", data=data, auth=auth, timeout=60
            )

        def jwt_bearer(which: str) -> Callable[[], requests.Response]:
            url = f"{urls[which]}/oauth2/token"

            def call() -> requests.Response:
                data = {"grant_type": GRANT, "scope": "read", "assertion": _assertion(key, issuer, kid, url)}
                return sessions[which].post(url, data=data, auth=auth, timeout=60)

            return call

        cases = {
            "client_credentials, no hook": client_credentials("plain"),
            "client_credentials, hook": client_credentials("hooked"),
            "jwt-bearer, no hook": jwt_bearer("plain"),
            "jwt-bearer, hook": jwt_bearer("hooked"),
        }
        for name, call in cases.items():  # warm-up (the owner cache too); every case must issue a token
            for _ in range(10):
                response = call()
                assert response.status_code == 200, (name, response.text)

        rounds: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            samples: dict[str, list[float]] = {name: [] for name in cases}
            for _ in range(args.per_round):
                for name, call in cases.items():
                    started = time.perf_counter()
                    response = call()
                    samples[name].append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (name, response.text)
            for name, values in samples.items():
                rounds[name].append(statistics.median(values))

        print(
            f"\ntoken requests, Hydra {binary_version('hydra')} on {b.backend}, Truss's hook under gunicorn; "
            f"{args.rounds} interleaved rounds × {args.per_round} requests per case; {load()}"
        )
        print(f"  {'':<30} {'median ms':>10} {'spread (round medians)':>24}")
        for name, values in rounds.items():
            print(f"  {name:<30} {statistics.median(values):10.2f} {min(values):11.2f} – {max(values):.2f}")
        for grant in ("client_credentials", "jwt-bearer"):
            added = [
                h - p for h, p in zip(rounds[f"{grant}, hook"], rounds[f"{grant}, no hook"], strict=True)
            ]
            print(
                f"  hook adds to {grant}: {statistics.median(added):.2f} ms "
                f"(per round {min(added):.2f} – {max(added):.2f})"
            )

        b.servers[-1].terminate()  # Truss down
        b.servers[-1].wait(timeout=30)
        for which in ("plain", "hooked"):
            started = time.perf_counter()
            response = client_credentials(which)()
            print(
                f"  Truss down, {which:<6} Hydra: {response.status_code} {response.json().get('error', 'token')} "
                f"after {time.perf_counter() - started:.2f} s"
            )
    finally:
        if plain is not None:
            plain.stop()
        b.stop()


if __name__ == "__main__":
    main()
