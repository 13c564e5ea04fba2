"""Login/consent bridge: Truss side by side with a minimal reference bridge, in one run, interleaved rounds.

Usage: .venv/bin/python bench/bridge_flows.py [--rounds 5] [--flows 15] [--sqlite] [--client-list] [--results FILE]

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
Prints the tables (markdown: medians over rounds with their min–max spread, Truss and what it is compared with
side by side, with their per-round ratio) and writes them with the machine's facts to bench/RESULTS.md
(bench/results.py; ``--results FILE`` elsewhere; a run of fewer than 5 rounds writes only where ``--results``
says). ``--client-list`` adds bench/client_list.py's table (same stack).
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

from bench import results  # noqa: E402
from bench.common import bench, cpu_ms, free_port, load, median, server_timing  # noqa: E402
from bench.results import Table, ratios, verdict  # noqa: E402

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
        flow = self.http.get(
            f"{kratos_public}/self-service/login/browser", headers={"Accept": "application/json"}, timeout=30
        ).json()
        csrf = next(
            n["attributes"]["value"]
            for n in flow["ui"]["nodes"]
            if n["attributes"].get("name") == "csrf_token"
        )
        form = {"identifier": email, "password": PASSWORD, "csrf_token": csrf, "method": "password"}
        response = self.http.post(flow["ui"]["action"], data=form, allow_redirects=False, timeout=30)
        assert "ory_kratos_session" in self.http.cookies, response.status_code

    def run(self, bridge_base: str, stats: Stats, *, first: bool = False) -> None:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        response = self.http.get(
            f"{self.hydra_public}/oauth2/auth",
            params={
                "client_id": self.client_id,
                "response_type": "code",
                "redirect_uri": CALLBACK,
                "scope": "openid email",
                "state": secrets.token_urlsafe(12),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
            allow_redirects=False,
            timeout=30,
        )
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
                    response = self.http.post(
                        response.url.split("?")[0],
                        data={
                            "csrfmiddlewaretoken": csrf.group(1),
                            "challenge": _q(response.url, "consent_challenge"),
                            "scopes": ["email"],
                            "remember": "on",
                            "action": "accept",
                        },
                        allow_redirects=False,
                        timeout=30,
                    )
                assert response.status_code == 302, (hop, response.status_code, response.text[:300])
            else:
                response = self._get(location)
        token = self.http.post(
            f"{self.hydra_public}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": _q(location, "code"),
                "redirect_uri": CALLBACK,
                "client_id": self.client_id,
                "code_verifier": verifier,
            },
            timeout=30,
        )
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
    parser.add_argument("--mine", type=int, default=1000, help="client list: the tenant's own clients")
    parser.add_argument("--others", type=int, default=5000, help="client list: other tenants' clients")
    parser.add_argument(
        "--results", type=Path, default=None, help="markdown file to write (bench/RESULTS.md)"
    )
    args = parser.parse_args()
    target = args.results or (results.RESULTS if args.rounds >= 5 else None)

    load_before = results.load_average()
    with bench(args.sqlite) as (b, env):
        tables = run(b, env, args)
        if args.client_list:
            from bench import client_list

            tables.append(client_list.run(b, env, mine=args.mine, others=args.others, rounds=args.rounds))
        workers, threads = gunicorn_size(args)
        facts = results.facts(
            cache_url=b.cache_url,
            servers=f"Truss and the reference under `gunicorn -c gunicorn.conf.py`, {workers} worker(s) x {threads} "
            f"threads each; {args.rounds} interleaved rounds, {args.flows} flows per browser per measurement",
            command=results.command_line(),
            load_before=load_before,
        )
    title = f"{args.rounds} interleaved rounds on {b.backend}"
    print("\n" + "\n".join(results.markdown(t) for t in tables))
    if target is None:
        print("fewer than 5 rounds: not written to bench/RESULTS.md (give --results FILE)", file=sys.stderr)
        return
    print(f"written to {results.write(title, facts, tables, target)}", file=sys.stderr)


def run(b, env: dict[str, str], args: argparse.Namespace) -> list[Table]:  # type: ignore[no-untyped-def]
    from truss.models import ClaimsConfig, Tenant

    tenant = Tenant.objects.create(slug=f"bench-{secrets.token_hex(3)}", name="Bench")
    ClaimsConfig.objects.create(
        tenant=tenant, id_token_claims={"org": "{{metadata_public.org}}", "who": "{{traits.name}}"}
    )
    stack = b.stack
    client = requests.post(
        f"{stack.hydra_admin_url}/admin/clients",
        json={
            "client_name": "Bench App",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": [CALLBACK],
            "scope": "openid email",
            "token_endpoint_auth_method": "none",
            "owner": tenant.hydra_owner,
        },
        timeout=30,
    ).json()
    workers, threads = gunicorn_size(args)
    truss = b.gunicorn(
        "truss.wsgi", port=b.truss_port, workers=workers, threads=threads, name="truss", env=env
    )
    reference = b.gunicorn(
        "bench.reference_bridge:app",
        port=free_port(),
        workers=workers,
        threads=threads,
        name="reference",
        env=env,
    )
    scaling = [int(n) for n in args.scaling.split(",") if n]
    scaled = {
        n: b.gunicorn("truss.wsgi", port=free_port(), workers=n, threads=threads, name=f"truss-w{n}", env=env)
        for n in scaling
    }

    browsers: list[Flow] = []
    for i in range(8):
        email = f"bench-{i}-{secrets.token_hex(4)}@example.test"
        requests.post(
            f"{stack.kratos_admin_url}/admin/identities",
            json={
                "schema_id": "default",
                "traits": {"email": email, "name": f"Bench Person {i}"},
                "metadata_public": {"org": "acme"},
                "credentials": {"password": {"config": {"password": PASSWORD}}},
            },
            timeout=30,
        ).raise_for_status()
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

    return build_tables(series, hops, cpu, scaling, threads, errors)


def build_tables(
    series: dict[str, list[float]],
    hops: dict[str, list[float]],
    cpu: dict[str, list[float]],
    scaling: list[int],
    threads: int,
    errors: int,
) -> list[Table]:
    """The run's rounds as three tables: Truss beside the reference, Truss's own share per hop, scaling."""
    versus = Table(
        "Remembered authorization-code flow: Truss beside the reference bridge",
        ("Truss", "reference", "Truss / reference"),
        note="Wall time per flow and per hop (p50 within a round), and CPU milliseconds per flow by process "
        "kind (/proc): in the Truss run and in the reference run, for the bridge itself and what it calls.",
    )
    share = Table(
        "Truss's own processing and its wait on Hydra/Kratos per hop (Server-Timing)",
        ("own processing, ms", "waiting on Hydra/Kratos, ms"),
    )
    for clients in (1, 4):
        truss, ref = (
            series[f"Truss ms/flow, {clients} browser(s)"],
            series[f"reference ms/flow, {clients} browser(s)"],
        )
        ratio = series[f"ratio Truss/reference, {clients}"]
        met = median(ratio) <= 1.2
        versus.add(
            f"{clients} browser(s): ms per flow", truss, ref, ratio, target="<= 1.2x", verdict=verdict(met)
        )
        for hop in HOPS:
            t, r = hops[f"Truss {hop} hop p50 ms, {clients}"], hops[f"reference {hop} hop p50 ms, {clients}"]
            versus.add(f"{clients} browser(s): {hop} hop p50, ms", t, r, ratios(t, r))
            own = hops.get(f"Truss own processing per {hop} hop ms, {clients}", [])
            wait = hops.get(f"Truss upstream wall per {hop} hop ms, {clients}", [])
            met = bool(own) and median(own) <= 10
            share.add(
                f"{clients} browser(s): {hop} hop", own, wait, target="own <= 10 ms", verdict=verdict(met)
            )
        for kind in ("bridge", "Hydra", "Kratos", "PostgreSQL"):
            t = cpu[f"{clients}:Truss:{'Truss' if kind == 'bridge' else kind}"]
            r = cpu[f"{clients}:reference:{'reference' if kind == 'bridge' else kind}"]
            label = "the bridge itself" if kind == "bridge" else kind
            versus.add(f"{clients} browser(s): CPU ms per flow, {label}", t, r, ratios(t, r))
    scaled = Table(
        "8 concurrent browsers against Truss, by gunicorn workers",
        ("flows/s", "errors"),
        note=f"{threads} threads per worker; every server on the same cores as the load generator and the Ory stack.",
    )
    rates = [series[f"8 browsers, {n} worker(s) x {threads} threads: flows/s"] for n in scaling]
    for n, rate in zip(scaling, rates, strict=True):
        scaled.add(f"{n} worker(s) x {threads} threads", rate, series[f"8 browsers, {n} worker(s): errors"])
    errs = sum(sum(series[f"8 browsers, {n} worker(s): errors"]) for n in scaling) + errors
    rising = all(median(a) < median(b_) for a, b_ in zip(rates, rates[1:], strict=False))
    scaled.add(
        "errors, all rounds and rows (flows included)",
        "",
        f"{errs:.0f}",
        target="0",
        verdict=verdict(errs == 0),
    )
    scaled.add(
        "throughput rising with workers", "yes" if rising else "no", "", target="yes", verdict=verdict(rising)
    )
    audited, ok = _audit_row()
    scaled.add(audited, "yes" if ok else "no", "", target="yes", verdict=verdict(ok))
    return [versus, share, scaled]


def _audit_row() -> tuple[str, bool]:
    """Every accept of every run was written ahead and chained by the servers' drainer threads: nothing is left
    in the outbox shortly after the last flow, and every chain verifies."""
    from truss import audit
    from truss.audit import Action
    from truss.models import AuditEvent, AuditOutbox

    deadline = time.monotonic() + 10
    while AuditOutbox.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    waiting = AuditOutbox.objects.count()
    accepts = AuditEvent.objects.filter(action__in=(Action.LOGIN_ACCEPT, Action.CONSENT_ACCEPT)).count()
    ok = waiting == 0 and audit.verify_chain().ok
    state = "outbox empty" if waiting == 0 else f"{waiting} waiting in the outbox"
    return f"audit: {accepts:,} accept events chained ({state}), chains verify", ok


def gunicorn_size(args: argparse.Namespace) -> tuple[int, int]:
    """gunicorn.conf.py's workers × threads (its defaults, or GUNICORN_* env), unless given on the command line."""
    namespace: dict[str, object] = {}
    exec((Path(__file__).resolve().parent.parent / "gunicorn.conf.py").read_text(), namespace)  # noqa: S102
    return args.workers or int(namespace["workers"]), args.threads or int(namespace["threads"])  # type: ignore[call-overload]


if __name__ == "__main__":
    main()
