"""Login/consent bridge throughput: Truss side by side with a minimal reference bridge, in one run.

Usage: .venv/bin/python bench/bridge_flows.py [--flows 200]

Starts a private Hydra + Kratos (in-memory), Truss and bench/reference_bridge.py, each under gunicorn with
one sync worker. One identity signs in once through Truss (Kratos login, consent with "remember"); then every
measured flow is the common case "existing session, remembered consent", driven over HTTP without a browser:

  /oauth2/auth → bridge login → /oauth2/auth (login_verifier) → bridge consent → /oauth2/auth (consent_verifier)
  → callback → /oauth2/token

Flows alternate between Truss and the reference (same Hydra, same client, same cookies); the hop Hydra sends to
the bridge is simply aimed at the bridge under test. Truss does its full job on those hops (tenant lookup,
claims from the Kratos identity, audit rows); the reference only calls Hydra's admin API.
Prints flows/s, per-hop p50/p95 of each bridge, and the Truss/reference ratios.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from truss.devstack import Stack, free_port  # noqa: E402

CALLBACK = "http://127.0.0.1:65531/callback"
PASSWORD = "correct horse battery staple"


def _q(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


def _wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def _gunicorn(app: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    args = [str(ROOT / ".venv/bin/gunicorn"), app, "--bind", f"127.0.0.1:{port}", "--workers", "1",
            "--worker-class", "sync", "--limit-request-line", "8190", "--log-level", "warning"]  # fmt: skip
    return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


class Flow:
    """One browser's cookie jar driving the authorization-code flow hop by hop."""

    def __init__(self, stack: Stack, client_id: str) -> None:
        self.stack, self.client_id = stack, client_id
        self.http = requests.Session()

    def _get(self, url: str) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=10)

    def sign_in(self, email: str) -> None:
        kratos = self.stack.kratos_public_url
        flow = self.http.get(
            f"{kratos}/self-service/login/browser", headers={"Accept": "application/json"}, timeout=10
        ).json()
        csrf = next(
            n["attributes"]["value"]
            for n in flow["ui"]["nodes"]
            if n["attributes"].get("name") == "csrf_token"
        )
        form = {"identifier": email, "password": PASSWORD, "csrf_token": csrf, "method": "password"}
        response = self.http.post(flow["ui"]["action"], data=form, allow_redirects=False, timeout=10)
        assert "ory_kratos_session" in self.http.cookies, response.status_code

    def run(
        self, bridge_base: str, truss_base: str, hops: dict[str, list[float]], *, first: bool = False
    ) -> None:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        response = self.http.get(f"{self.stack.hydra_public_url}/oauth2/auth", params={
            "client_id": self.client_id, "response_type": "code", "redirect_uri": CALLBACK, "scope": "openid email",
            "state": secrets.token_urlsafe(12), "code_challenge": challenge, "code_challenge_method": "S256",
        }, allow_redirects=False, timeout=10)  # fmt: skip
        while True:
            location = response.headers["Location"]
            if location.startswith(CALLBACK):
                break
            if location.startswith(truss_base + "/api/hydra/bridge/"):
                hop = "login" if "/bridge/login" in location else "consent"
                started = time.perf_counter()
                response = self._get(bridge_base + location[len(truss_base) :])
                hops[hop].append((time.perf_counter() - started) * 1000)
                if first and response.status_code == 200:  # the one-time consent screen: allow + remember
                    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
                    assert csrf is not None
                    response = self.http.post(response.url.split("?")[0], data={
                        "csrfmiddlewaretoken": csrf.group(1), "challenge": _q(response.url, "consent_challenge"),
                        "scopes": ["email"], "remember": "on", "action": "accept",
                    }, allow_redirects=False, timeout=10)  # fmt: skip
                assert response.status_code == 302, (hop, response.status_code, response.text[:300])
            else:
                response = self._get(location)
        token = self.http.post(f"{self.stack.hydra_public_url}/oauth2/token", data={
            "grant_type": "authorization_code", "code": _q(location, "code"), "redirect_uri": CALLBACK,
            "client_id": self.client_id, "code_verifier": verifier,
        }, timeout=10)  # fmt: skip
        assert token.status_code == 200 and "id_token" in token.json(), token.text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=200, help="measured flows per bridge")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="truss-bench-"))
    truss_port, reference_port = free_port(), free_port()
    truss_base, reference_base = f"http://127.0.0.1:{truss_port}", f"http://127.0.0.1:{reference_port}"
    stack = Stack(state_dir=work / "ory", ports={k: free_port() for k in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")},
                  truss_url=truss_base, persistent=False)  # fmt: skip
    truss_env = {
        **stack.env(),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{work}/truss.sqlite3"),
        "TRUSS_PUBLIC_URL": truss_base,
    }
    servers: list[subprocess.Popen[bytes]] = []
    (work / "ory").mkdir(parents=True)
    try:
        stack.start(timeout=60)
        os.environ.update(truss_env)  # only now: Hydra/Kratos read some of the same names (LOG_LEVEL, …)
        env = {**os.environ, "LOG_LEVEL": "WARNING"}
        import django

        django.setup()
        from django.core.management import call_command

        from truss.models import ClaimsConfig, Tenant

        call_command("migrate", verbosity=0)
        tenant = Tenant.objects.create(slug=f"bench-{secrets.token_hex(3)}", name="Bench")
        ClaimsConfig.objects.create(
            tenant=tenant, id_token_claims={"org": "{{metadata_public.org}}", "who": "{{traits.name}}"}
        )
        email = f"bench-{secrets.token_hex(4)}@example.test"
        requests.post(f"{stack.kratos_admin_url}/admin/identities", json={
            "schema_id": "default", "traits": {"email": email, "name": "Bench Person"}, "metadata_public": {"org": "acme"},
            "credentials": {"password": {"config": {"password": PASSWORD}}},
        }, timeout=10).raise_for_status()  # fmt: skip
        client = requests.post(f"{stack.hydra_admin_url}/admin/clients", json={
            "client_name": "Bench App", "grant_types": ["authorization_code"], "response_types": ["code"],
            "redirect_uris": [CALLBACK], "scope": "openid email", "token_endpoint_auth_method": "none",
            "owner": tenant.hydra_owner,
        }, timeout=10).json()  # fmt: skip

        servers.append(_gunicorn("truss.wsgi", truss_port, env, work / "truss.log"))
        servers.append(_gunicorn("bench.reference_bridge:app", reference_port, env, work / "reference.log"))
        _wait(f"{truss_base}/healthz")
        _wait(f"{reference_base}/")

        flow = Flow(stack, client["client_id"])
        flow.sign_in(email)
        flow.run(truss_base, truss_base, {"login": [], "consent": []}, first=True)  # consent + remember, once
        for _ in range(10):  # warm both: connection pools, templates, Hydra's caches
            flow.run(truss_base, truss_base, {"login": [], "consent": []})
            flow.run(reference_base, truss_base, {"login": [], "consent": []})

        hops: dict[str, dict[str, list[float]]] = {
            n: {"login": [], "consent": []} for n in ("Truss", "reference")
        }
        elapsed = {"Truss": 0.0, "reference": 0.0}
        for _ in range(args.flows):
            for name, base in (("Truss", truss_base), ("reference", reference_base)):
                started = time.perf_counter()
                flow.run(base, truss_base, hops[name])
                elapsed[name] += time.perf_counter() - started
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        stack.stop()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    rate = {name: args.flows / elapsed[name] for name in elapsed}
    print(f"bridge bench: {args.flows} full flows per bridge (existing Kratos session, remembered consent), "
          "sequential, interleaved; each bridge under gunicorn with 1 sync worker")  # fmt: skip
    print(f"{'':10} {'flows/s':>8} {'login hop p50':>14} {'p95':>7} {'consent hop p50':>16} {'p95':>7}  (ms)")
    for name in ("Truss", "reference"):
        h = hops[name]
        print(f"{name:10} {rate[name]:8.1f} {statistics.median(h['login']):14.2f} {pct(h['login'], 0.95):7.2f}"
              f" {statistics.median(h['consent']):16.2f} {pct(h['consent'], 0.95):7.2f}")  # fmt: skip
    hop_ratio = {
        hop: statistics.median(hops["Truss"][hop]) / statistics.median(hops["reference"][hop])
        for hop in ("login", "consent")
    }
    ratio = rate["reference"] / rate["Truss"]
    print(f"Truss/reference: flow time {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'}), "
          f"login hop {hop_ratio['login']:.2f}x, consent hop {hop_ratio['consent']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
