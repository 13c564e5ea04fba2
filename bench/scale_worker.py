"""One dataset's side of `make bench-scale`: a Django process on that dataset's databases and Hydra.

``python bench/scale_worker.py serve`` answers JSON requests, one per line on stdin, one answer per line on
stdout (prefixed ``@@``): ``{"op": "time", "cases": [...], "repeat": n}`` times console pages and API reads
in-process (Django test client: middleware, session, tenancy, view, template; Hydra and Kratos over HTTP) and
answers per-request milliseconds; ``{"op": "activity", "repeat": n}`` times the 14-day activity read from the
daily rollup beside the GROUP BY over the audit log. ``python bench/scale_worker.py sweep <name>`` runs one
fleet sweep and prints its seconds and peak memory; ``signins <seconds> <threads>`` writes sign-in audit events
(the bridge's path: written ahead, then drained into the chain) and counts errors and slow writes.

The code under test is imported from ``TRUSS_CODE`` (default: this checkout), so a worktree at an older commit
can be measured against the same data. Only the standard library and that code are imported.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CODE = Path(os.environ.get("TRUSS_CODE") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(CODE))
os.chdir(CODE)

TENANT = "scale"


def _setup() -> None:
    import django

    django.setup()


def _api_key() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT detail FROM bench_scale_part WHERE part = 'tenants'")
        row = cursor.fetchone()
    return str(row[0])


def _facts() -> dict[str, str]:
    """The client with most people (its home and people pages), one of its people, an audit action."""
    from oauth2_admin.consents.models import LedgerEntry, ScopeCount
    from truss.models import Tenant

    tenant = Tenant.objects.get(slug=TENANT)
    top = ScopeCount.objects.filter(tenant=tenant, scope="").order_by("-people", "client_id").first()
    client_id = top.client_id if top else ""
    subject = (
        LedgerEntry.objects.filter(tenant=tenant, client_id=client_id)
        .values_list("subject", flat=True)
        .first()
        or ""
    )
    return {"client_id": client_id, "subject": subject}


def cases(facts: dict[str, str]) -> dict[str, tuple[str, dict[str, str]]]:
    """name -> (path, headers); "key" in headers means the tenant's API key."""
    cid, subject = facts["client_id"], facts["subject"]
    key = {"apikey": "key"}
    return {
        "page: overview": ("/console/", {}),
        "page: client list (first page)": ("/console/clients/", {}),
        "page: client home": (f"/console/clients/{cid}/", {}),
        "page: audit log (first page)": ("/console/audit/", {}),
        "page: audit log, action=consent.revoke": ("/console/audit/?action=consent.revoke", {}),
        "page: consent ledger (client's people)": (f"/console/consents/clients/{cid}/", {}),
        "page: hygiene report": ("/console/hygiene/", {}),
        "page: trust list": ("/console/trust/", {}),
        "page: keys": ("/console/jwks/", {}),
        "API: GET /v1/oauth2/overview": ("/v1/oauth2/overview", key),
        "API: GET /v1/oauth2/clients": ("/v1/oauth2/clients?page_size=25", key),
        "API: GET /v1/oauth2/clients/{id}": (f"/v1/oauth2/clients/{cid}", key),
        "API: GET /v1/oauth2/clients/{id}/versions": (f"/v1/oauth2/clients/{cid}/versions", key),
        "API: GET /v1/oauth2/findings": ("/v1/oauth2/findings", key),
        "API: GET /v1/oauth2/consent/{subject}": (f"/v1/oauth2/consent/{subject}", key),
        "API: GET /v1/oauth2/trust": ("/v1/oauth2/trust", key),
        "API: GET /api/hydra/keys": ("/api/hydra/keys", {}),
        # Not Truss: what the client list asks Hydra for, measured straight (Hydra filters by owner).
        "reference: Hydra GET /admin/clients?owner=…&page_size=25": (
            "hydra:/admin/clients?owner=truss:scale&page_size=25",
            {},
        ),
    }


class Timer:
    def __init__(self) -> None:
        from django.contrib.auth.models import User
        from django.test import Client

        self.facts = _facts()
        self.cases = cases(self.facts)
        self.key = _api_key()
        self.client = Client()
        self.client.force_login(User.objects.get(username="bench"))
        session = self.client.session
        session["truss_tenant"] = TENANT
        session.save()
        self.statuses: dict[str, int] = {}
        import requests

        self.session = requests.Session()

    def one(self, name: str) -> float:
        path, headers = self.cases[name]
        if path.startswith("hydra:"):
            return self.hydra(name, path.removeprefix("hydra:"))
        headers = {k: (self.key if v == "key" else v) for k, v in headers.items()}
        started = time.perf_counter()
        response = self.client.get(path, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            self.statuses[name] = response.status_code
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        return elapsed

    def hydra(self, name: str, path: str) -> float:
        started = time.perf_counter()
        response = self.session.get(os.environ["HYDRA_ADMIN_URL"] + path, timeout=30)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            self.statuses[name] = response.status_code
        return elapsed

    def time(self, names: list[str], repeat: int) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {n: [] for n in names}
        for _ in range(repeat):
            for name in names:
                out[name].append(self.one(name))
        return out


def activity(repeat: int) -> dict[str, list[float]]:
    """The last 14 days of sign-ins and consents: from the daily rollup, and grouped from the audit log (the
    query the overview ran before the rollup), both in SQL, then the overview's own read."""
    from django.db import connection
    from django.utils import timezone

    from oauth2_admin.overview import service
    from truss.models import Tenant

    tenant = Tenant.objects.get(slug=TENANT)
    today = timezone.now().astimezone(dt.UTC).date()
    start = today - dt.timedelta(days=13)
    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    queries = {
        "rollup: SUM over truss_auditdailycount": (
            "SELECT day, action, outcome, SUM(events) FROM truss_auditdailycount WHERE tenant_id = %s "
            "AND day >= %s AND action LIKE 'bridge.%%' GROUP BY day, action, outcome",
            [tenant.pk, start],
        ),
        "GROUP BY over truss_auditevent": (
            "SELECT (created_at AT TIME ZONE 'UTC')::date, action, outcome, count(*) FROM truss_auditevent "
            "WHERE tenant_id = %s AND created_at >= %s AND action LIKE 'bridge.%%' GROUP BY 1, 2, 3",
            [tenant.pk, since],
        ),
    }
    out: dict[str, list[float]] = {name: [] for name in [*queries, "overview's activity() as committed"]}
    for _ in range(repeat):
        for name, (sql, params) in queries.items():
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()
            out[name].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        service.activity(tenant)
        out["overview's activity() as committed"].append((time.perf_counter() - started) * 1000)
    return out


def serve() -> None:
    _setup()
    timer: Timer | None = None
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "time":
                timer = timer or Timer()
                answer: Any = {
                    "samples": timer.time(request["cases"], request["repeat"]),
                    "statuses": timer.statuses,
                }
            elif request["op"] == "cases":
                timer = timer or Timer()
                answer = {"cases": list(timer.cases), "facts": timer.facts}
            elif request["op"] == "activity":
                answer = {"samples": activity(request["repeat"])}
            else:
                answer = {"error": f"unknown op {request['op']}"}
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which prints it
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write("@@" + json.dumps(answer) + "\n")
        sys.stdout.flush()


# --- sweeps (one per process, so peak memory is the sweep's) -------------------------------------------------------


def _rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _current_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def sweep(name: str, budget: float) -> dict[str, Any]:
    """Run one sweep as its command does, over every tenant (drift) or the scale tenant (hygiene, reconcile),
    for ``budget`` seconds at most (then it is stopped where it is: the answer says so)."""
    from django.core.management import call_command

    from truss.models import Tenant

    tenant = Tenant.objects.get(slug=TENANT)
    run: Callable[[], Any]
    if name == "drift":  # every tenant: the whole fleet in Hydra

        def run() -> Any:
            call_command("sweep_drift", stdout=open(os.devnull, "w"))  # noqa: SIM115

    elif name == "hygiene":

        def run() -> Any:
            from oauth2_admin.hygiene import snapshot

            return snapshot.refresh(tenant, source="refresh")

    elif name == "reconcile":
        # Hydra holds none of the generated consents: active rows become "gone". bench/scale.py puts them back
        # (and counts the people handled) after the sweep.

        def run() -> Any:
            call_command("reconcile_consents", "--tenant", TENANT, stdout=open(os.devnull, "w"))  # noqa: SIM115

    else:
        raise SystemExit(f"unknown sweep {name}")
    baseline = _current_rss_kb()
    started = time.perf_counter()
    errors: list[str] = []

    def guarded() -> None:
        try:
            run()
        except Exception as exc:  # noqa: BLE001 - reported
            errors.append(f"{type(exc).__name__}: {exc}"[:300])

    worker = threading.Thread(target=guarded, daemon=True)
    worker.start()
    worker.join(timeout=budget)
    return {
        "seconds": time.perf_counter() - started,
        "stopped": worker.is_alive(),
        "peak_rss_mb": _rss_kb() / 1024,
        "baseline_rss_mb": baseline / 1024,
        "error": errors[0] if errors else "",
    }


# --- the sign-in write load beside retention ------------------------------------------------------------------------


def signins(seconds: float, threads: int, stop: str) -> dict[str, Any]:
    """Sign-in audit events as the bridge writes them (written ahead, then drained into the tenant's chain) from
    ``threads`` threads until the file ``stop`` exists (``seconds`` at most); counts errors and writes slower
    than one second (lock waits)."""
    from django.db import connection

    from truss import audit
    from truss.audit import Action
    from truss.audit.outbox import drain_outbox
    from truss.models import Tenant

    tenant = Tenant.objects.get(slug=TENANT)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work(n: int) -> None:
        try:
            while time.monotonic() < deadline and not os.path.exists(stop):
                started = time.perf_counter()
                try:
                    audit.record(
                        None,
                        Action.LOGIN_ACCEPT,
                        tenant=tenant,
                        target="bench-client",
                        after={"acr": "aal1", "amr": [{"method": "password"}], "remember_for": 0},
                        actor=f"identity:bench-{n}",
                        soon=True,
                    )
                    drain_outbox()
                    with lock:
                        latencies.append((time.perf_counter() - started) * 1000)
                except Exception as exc:  # noqa: BLE001 - counted
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
        finally:
            connection.close()

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    drain_outbox(batch=10_000)
    latencies.sort()
    return {
        "seconds": time.monotonic() - deadline + seconds,
        "writes": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "p50_ms": latencies[len(latencies) // 2] if latencies else None,
        "p99_ms": latencies[int(len(latencies) * 0.99)] if latencies else None,
        "max_ms": latencies[-1] if latencies else None,
        "slow_over_1s": sum(1 for v in latencies if v > 1000),
    }


# --- retention (on a scratch copy of the full database) ---------------------------------------------------------------


def retention(cutoff: str) -> dict[str, Any]:
    """Every event older than ``cutoff`` archived and removed by truss/audit/retention.py's run(); where the code
    under test has no retention yet, removed by a plain delete by batch (5,000 ids per transaction)."""
    from django.db import connection, transaction

    from truss.models import AuditEvent

    when = dt.datetime.fromisoformat(cutoff)
    import importlib.util

    if importlib.util.find_spec("truss.audit.retention") is not None:
        from truss.audit import retention as kept

        report = kept.run(when, directory=Path(os.environ["AUDIT_ARCHIVE_DIR"]))
        return {
            "how": "truss/audit/retention.py run()",
            "deleted": report.deleted,
            "delete_seconds": report.delete_seconds,
            "archived": report.archived,
            "archive_seconds": report.archive_seconds,
            "longest_batch": report.longest_batch,
            "errors": [c.error for c in report.chains if c.error],
        }
    deleted, longest = 0, 0.0
    started = time.perf_counter()
    while True:
        batch_started = time.perf_counter()
        with transaction.atomic():
            ids = list(
                AuditEvent.objects.filter(created_at__lt=when)
                .order_by("id")
                .values_list("id", flat=True)[:5000]
            )
            if not ids:
                break
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM truss_auditevent WHERE id = ANY(%s)", [ids])
                deleted += cursor.rowcount
        longest = max(longest, time.perf_counter() - batch_started)
    return {
        "how": "plain delete by batch (no retention.py in this code)",
        "deleted": deleted,
        "delete_seconds": time.perf_counter() - started,
        "longest_batch": longest,
    }


def main(argv: list[str]) -> int:
    if argv[1] == "serve":
        serve()
        return 0
    _setup()
    if argv[1] == "sweep":
        print("@@" + json.dumps(sweep(argv[2], float(argv[3]) if len(argv) > 3 else 3600)), flush=True)
        os._exit(0)  # a sweep stopped by its budget is still running in its thread
    elif argv[1] == "retention":
        print("@@" + json.dumps(retention(argv[2])))
    elif argv[1] == "signins":
        print("@@" + json.dumps(signins(float(argv[2]), int(argv[3]), argv[4])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
