"""Login/consent bridge: Truss side by side with a minimal reference bridge, in one run, interleaved rounds.

Usage: .venv/bin/python bench/bridge_flows.py [--rounds 5] [--flows 15] [--sqlite] [--client-list]

Starts a private Hydra + Kratos on PostgreSQL (bench/common.py; ``--sqlite``: SQLite files; never DSN=memory,
which fails under concurrency), Redis as the shared cache, Truss and bench/reference_bridge.py, both under
``gunicorn -c gunicorn.conf.py`` with the same workers × threads. Each simulated browser signs in once through
Truss (Kratos login, consent with "remember"); every measured flow is then the common case "existing session,
remembered consent", driven over HTTP without a browser:

  /oauth2/auth → bridge login → /oauth2/auth (login_verifier) → bridge consent → /oauth2/auth (consent_verifier)
  → callback → /oauth2/token

The hop Hydra sends to the bridge is aimed at the bridge under test (same Hydra, client and cookies). Truss
does its whole job on those hops (Kratos session check, replay check, tenant, claims, audit rows); the
reference only makes the two Hydra admin calls per hop. Every round runs, in alternating order, both bridges at
1 and at 4 concurrent browsers, then 8 concurrent browsers against Truss served by 1, 2 and 3 workers.
Prints one table: medians over rounds with their min–max spread. ``--client-list`` adds bench/client_list.py's
rows (same stack) to the table.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench, cpu_ms, free_port, load, median, row, server_timing, spread  # noqa: E402

CALLBACK = "http://127.0.0.1:65531/callback"
PASSWORD = "correct horse battery staple"
HOPS = ("login", "consent")


def _q(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


class Stats:
    """Per-hop latencies and Truss's Server-Timing, gathered by the flows of one measurement."""

    def __init__(self) -> None:
        self.hop: dict[str, list[float]] = {h: [] for h in HOPS}
        self.app: dict[str, list[float]] = {h: [] for h in HOPS}
        self.upstream: dict[str, list[float]] = {h: [] for h in HOPS}
        self.errors = 0


class Flow:
    """One browser's cookie jar driving the authorization-code flow hop by hop."""

    def __init__(self, hydra_public: str, truss_url: str, client_id: str) -> None:
        self.hydra_public, self.truss_url, self.client_id = hydra_public, truss_url, client_id
        self.http = requests.Session()

    def _get(self, url: str) -> requests.Response:
        return self.http.get(url, allow_redirects=False, timeout=30)

    def sign_in(self, kratos_public: str, email: str) -> None:
        flow = self.http.get(f"{kratos_public}/self-service/login/browser", headers={"Accept": "application/json"},
                             timeout=30).json()  # fmt: skip
        csrf = next(n["attributes"]["value"] for n in flow["ui"]["nodes"]
                    if n["attributes"].get("name") == "csrf_token")  # fmt: skip
        form = {"identifier": email, "password": PASSWORD, "csrf_token": csrf, "method": "password"}
        response = self.http.post(flow["ui"]["action"], data=form, allow_redirects=False, timeout=30)
        assert "ory_kratos_session" in self.http.cookies, response.status_code

    def run(self, bridge_base: str, stats: Stats, *, first: bool = False) -> None:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        response = self.http.get(f"{self.hydra_public}/oauth2/auth", params={
            "client_id": self.client_id, "response_type": "code", "redirect_uri": CALLBACK, "scope": "openid email",
            "state": secrets.token_urlsafe(12), "code_challenge": challenge, "code_challenge_method": "S256",
        }, allow_redirects=False, timeout=30)  # fmt: skip
        prefix = self.truss_url + "/api/hydra/bridge/"
        while True:
            location = response.headers["Location"]
            if location.startswith(CALLBACK):
                break
            if location.startswith(prefix):
                hop = "login" if "/bridge/login" in location else "consent"
                started = time.perf_counter()
                response = self._get(bridge_base + location[len(self.truss_url) :])
                stats.hop[hop].append((time.perf_counter() - started) * 1000)
                timing = server_timing(response)
                if timing:
                    stats.app[hop].append(timing["app"])
                    stats.upstream[hop].append(timing["upstream"])
                if first and response.status_code == 200:  # the one-time consent screen: allow + remember
                    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.text)
                    assert csrf is not None
                    response = self.http.post(response.url.split("?")[0], data={
                        "csrfmiddlewaretoken": csrf.group(1), "challenge": _q(response.url, "consent_challenge"),
                        "scopes": ["email"], "remember": "on", "action": "accept",
                    }, allow_redirects=False, timeout=30)  # fmt: skip
                assert response.status_code == 302, (hop, response.status_code, response.text[:300])
            else:
                response = self._get(location)
        token = self.http.post(f"{self.hydra_public}/oauth2/token", data={
            "grant_type": "authorization_code", "code": _q(location, "code"), "redirect_uri": CALLBACK,
            "client_id": self.client_id, "code_verifier": verifier,
        }, timeout=30)  # fmt: skip
        assert token.status_code == 200 and "id_token" in token.json(), token.text


def drive(flows: list[Flow], base: str, per_client: int, stats: Stats) -> float:
    """Run ``per_client`` flows on each browser concurrently; returns ms of wall time per completed flow."""

    def one(flow: Flow) -> int:
        done = 0
        for _ in range(per_client):
            try:
                flow.run(base, stats)
                done += 1
            except (AssertionError, requests.RequestException, KeyError):
                stats.errors += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(flows)) as pool:
        completed = sum(pool.map(one, flows))
    return (time.perf_counter() - started) * 1000 / max(completed, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 5 for the table)")
    parser.add_argument("--flows", type=int, default=15, help="flows per browser per measurement")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, default=0, help="gunicorn threads (default: gunicorn.conf.py)")
    parser.add_argument("--scaling", default="1,2,3", help="worker counts for the 8-browser rows")
    parser.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    parser.add_argument("--client-list", action="store_true", help="add bench/client_list.py's rows")
    parser.add_argument("--others", type=int, default=5000, help="client list: other tenants' clients")
    args = parser.parse_args()

    with bench(args.sqlite) as (b, env):
        rows = run(b, env, args)
        if args.client_list:
            from bench import client_list

            rows += client_list.run(b, env, others=args.others, rounds=args.rounds)
    if not args.client_list:
        rows.append(("(client list: bench/client_list.py, or --client-list)", [0.0], "", ""))
    print_table(b, args, rows)


def run(b, env: dict[str, str], args: argparse.Namespace) -> list[tuple[str, list[float], str, str]]:  # type: ignore[no-untyped-def]
    from truss.models import ClaimsConfig, Tenant

    tenant = Tenant.objects.create(slug=f"bench-{secrets.token_hex(3)}", name="Bench")
    ClaimsConfig.objects.create(
        tenant=tenant, id_token_claims={"org": "{{metadata_public.org}}", "who": "{{traits.name}}"}
    )
    stack = b.stack
    client = requests.post(f"{stack.hydra_admin_url}/admin/clients", json={
        "client_name": "Bench App", "grant_types": ["authorization_code"], "response_types": ["code"],
        "redirect_uris": [CALLBACK], "scope": "openid email", "token_endpoint_auth_method": "none",
        "owner": tenant.hydra_owner,
    }, timeout=30).json()  # fmt: skip
    workers, threads = gunicorn_size(args)
    truss = b.gunicorn(
        "truss.wsgi", port=b.truss_port, workers=workers, threads=threads, name="truss", env=env
    )
    reference = b.gunicorn("bench.reference_bridge:app", port=free_port(), workers=workers, threads=threads,
                           name="reference", env=env)  # fmt: skip
    scaling = [int(n) for n in args.scaling.split(",") if n]
    scaled = {n: b.gunicorn("truss.wsgi", port=free_port(), workers=n, threads=threads, name=f"truss-w{n}", env=env)
              for n in scaling}  # fmt: skip

    browsers: list[Flow] = []
    for i in range(8):
        email = f"bench-{i}-{secrets.token_hex(4)}@example.test"
        requests.post(f"{stack.kratos_admin_url}/admin/identities", json={
            "schema_id": "default", "traits": {"email": email, "name": f"Bench Person {i}"},
            "metadata_public": {"org": "acme"}, "credentials": {"password": {"config": {"password": PASSWORD}}},
        }, timeout=30).raise_for_status()  # fmt: skip
        flow = Flow(stack.hydra_public_url, truss, client["client_id"])
        flow.sign_in(stack.kratos_public_url, email)
        flow.run(truss, Stats(), first=True)  # consent + remember, once per identity
        browsers.append(flow)
    for flow in browsers:  # warm every server: connection pools, templates, caches, Hydra
        for base in (truss, reference, *scaled.values()):
            flow.run(base, Stats())

    series: dict[str, list[float]] = {}
    hops: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}  # "<browsers>:<bridge run>:<process kind>" -> CPU ms per flow, per round
    errors = 0
    for round_no in range(args.rounds):
        order = [("Truss", truss), ("reference", reference)]
        if round_no % 2:
            order.reverse()
        for clients in (1, 4):
            per_flow: dict[str, float] = {}
            for name, base in order:
                stats = Stats()
                before = cpu_ms()
                per_flow[name] = drive(browsers[:clients], base, args.flows, stats)
                spent = {k: v - before.get(k, 0.0) for k, v in cpu_ms().items()}
                flows = clients * args.flows
                for kind in ("Truss", "reference", "Hydra", "Kratos", "PostgreSQL"):
                    if kind in ("Truss", "reference") and kind != name:
                        continue
                    cpu.setdefault(f"{clients}:{name}:{kind}", []).append(spent.get(kind, 0.0) / flows)
                errors += stats.errors
                series.setdefault(f"{name} ms/flow, {clients} browser(s)", []).append(per_flow[name])
                for hop in HOPS:
                    hops.setdefault(f"{name} {hop} hop p50 ms, {clients}", []).append(median(stats.hop[hop]))
                    if stats.app[hop]:
                        hops.setdefault(f"Truss own processing per {hop} hop ms, {clients}", []).append(
                            median(stats.app[hop])
                        )
                        hops.setdefault(f"Truss upstream wall per {hop} hop ms, {clients}", []).append(
                            median(stats.upstream[hop])
                        )
            series.setdefault(f"ratio Truss/reference, {clients}", []).append(
                per_flow["Truss"] / per_flow["reference"]
            )
        items = list(scaled.items())
        if round_no % 2:
            items.reverse()
        for n, base in items:
            stats = Stats()
            ms = drive(browsers, base, max(3, args.flows // 3), stats)
            series.setdefault(f"8 browsers, {n} worker(s) x {threads} threads: flows/s", []).append(1000 / ms)
            series.setdefault(f"8 browsers, {n} worker(s): errors", []).append(float(stats.errors))
        print(f"round {round_no + 1}/{args.rounds} done ({load()})", file=sys.stderr)

    out: list[tuple[str, list[float], str, str]] = []
    for clients in (1, 4):
        ratio = series[f"ratio Truss/reference, {clients}"]
        for name in ("Truss", "reference"):
            out.append(
                (
                    f"remembered flow, {clients} browser(s): {name} ms/flow",
                    series[f"{name} ms/flow, {clients} browser(s)"],
                    "",
                    "",
                )
            )
        out.append((f"remembered flow, {clients} browser(s): Truss/reference", ratio, "<= 1.2x",
                    "met" if median(ratio) <= 1.2 else "NOT met"))  # fmt: skip
        for hop in HOPS:
            for name in ("Truss", "reference"):
                out.append(
                    (
                        f"  {hop} hop p50 ms, {clients} browser(s): {name}",
                        hops[f"{name} {hop} hop p50 ms, {clients}"],
                        "",
                        "",
                    )
                )
            upstream = hops.get(f"Truss upstream wall per {hop} hop ms, {clients}", [])
            out.append((f"  Truss waiting on Hydra/Kratos per {hop} hop, ms ({clients})", upstream, "", ""))
            own = hops.get(f"Truss own processing per {hop} hop ms, {clients}", [])
            out.append((f"  Truss own processing per {hop} hop, ms ({clients})", own, "<= 10 ms",
                        "met" if own and median(own) <= 10 else "NOT met"))  # fmt: skip
        # Where the cores went (2 cores shared by everything): CPU ms per flow, by process kind.
        for name in ("Truss", "reference"):
            for kind in (name, "Hydra", "Kratos", "PostgreSQL"):
                label = "the bridge itself" if kind == name else kind
                out.append((f"  CPU ms per flow ({clients}), {name} run: {label}", cpu[f"{clients}:{name}:{kind}"],
                            "", ""))  # fmt: skip
    rates = [series[f"8 browsers, {n} worker(s) x {threads} threads: flows/s"] for n in scaling]
    for n, rate in zip(scaling, rates, strict=True):
        out.append((f"8 browsers, Truss {n} worker(s) x {threads} threads: flows/s", rate, "", ""))
    errs = sum(sum(series[f"8 browsers, {n} worker(s): errors"]) for n in scaling) + errors
    rising = all(median(a) < median(b_) for a, b_ in zip(rates, rates[1:], strict=False))
    out.append(("8 browsers: errors (all rounds, all rows)", [errs], "0", "met" if errs == 0 else "NOT met"))
    out.append(
        ("8 browsers: throughput rising with workers", [float(rising)], "yes", "met" if rising else "NOT met")
    )
    out.append(_audit_row())
    return out


def _audit_row() -> tuple[str, list[float], str, str]:
    """Every accept of every run was written ahead and chained by the servers' drainer threads: nothing is left
    in the outbox shortly after the last flow, and every chain verifies."""
    from truss import audit
    from truss.models import AuditEvent, AuditOutbox

    deadline = time.monotonic() + 10
    while AuditOutbox.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    waiting = AuditOutbox.objects.count()
    accepts = AuditEvent.objects.filter(action__in=("bridge.login.accept", "bridge.consent.accept")).count()
    ok = waiting == 0 and audit.verify_chain().ok
    return (f"audit: {accepts:,} accept events chained, outbox empty, chains verify", [float(ok)], "yes",
            "met" if ok else f"NOT met ({waiting} waiting)")  # fmt: skip


def gunicorn_size(args: argparse.Namespace) -> tuple[int, int]:
    """gunicorn.conf.py's workers × threads (its defaults, or GUNICORN_* env), unless given on the command line."""
    namespace: dict[str, object] = {}
    exec((Path(__file__).resolve().parent.parent / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102
    return args.workers or int(namespace["workers"]), args.threads or int(namespace["threads"])  # type: ignore[call-overload]


def print_table(b, args: argparse.Namespace, rows: list[tuple[str, list[float], str, str]]) -> None:  # type: ignore[no-untyped-def]
    print(f"\nTruss bench: {args.rounds} interleaved rounds on {b.backend} (Hydra, Kratos, Truss), Redis cache; "
          f"{load()} (shared: load generator, Hydra, Kratos, PostgreSQL and both bridges on the same cores)")  # fmt: skip
    widths = (66, 9, 13, 9, 8)
    print(row(("measurement", "median", "min–max", "target", "verdict"), widths))
    print(row(tuple("-" * w for w in widths), widths))
    for name, values, target, verdict in rows:
        value = median(values)
        text = f"{value:.2f}" if len(values) > 1 or value != int(value) else f"{value:.0f}"
        print(row((name, text, spread(values) if len(values) > 1 else "", target, verdict), widths))


if __name__ == "__main__":
    main()
