"""`make bench-scale`: every console page and list/read API at 1,000 of everything beside full scale.

Usage: .venv/bin/python bench/scale.py [--quick] [--regenerate] [--rounds 5] [--repeat 10] [--code DIR]
       [--label TEXT] [--skip-sweeps] [--skip-retention] [--no-write]

Two datasets side by side on PostgreSQL, each with its own Hydra and Kratos (bench/scale_data.py builds and
keeps them; a re-run reuses them): ``small`` holds 1,000 clients, audit events and consent ledger rows for the
tenant; ``full`` holds a tenant with 10,000 clients in a Hydra holding 100,000, 10,000,000 audit events (half
bridge steps over 30 days) and 1,000,000 ledger rows. ``--quick`` uses two tiny datasets instead (a smoke run).

Then, with one timing process per dataset (bench/scale_worker.py: the Django test client in-process, Hydra and
Kratos over HTTP):

1. the fleet sweeps (drift over every tenant, the hygiene refresh and the consent reconcile of the tenant), each
   in a process of its own for its time and peak memory (the reconcile is rolled back: Hydra holds none of the
   generated consents);
2. every page and read API, in interleaved rounds (small, full, small, full, …), ``--repeat`` requests per
   round: p50 and p95 per round, their ratio full/small per round, summarised over rounds (median and min–max);
   the target is 1.5x;
3. the 14-day activity chart: the daily rollup beside the GROUP BY over the audit log;
4. on a copy of the full database: audit retention (truss/audit/retention.py: archive, then delete by batch)
   while a sign-in load writes audit events (the bridge's write path: written ahead, drained into the chain),
   counting its errors and slow writes; and the same month removed from a copy of the audit table partitioned
   by month (DROP of the partition), to say whether native partitioning is worth it.

It prints the tables and writes them into bench/RESULTS.md's "Scale" section (``make bench``'s sections are
left as they are; a ``--quick`` run only prints). ``--code DIR`` measures the code of another checkout (a worktree at an older commit) on the
same data: its migrations are applied first.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import results  # noqa: E402
from bench.results import Table, verdict  # noqa: E402
from bench.scale_data import (  # noqa: E402
    DATASETS,
    TENANT_COUNTS_FROM_CLIENT_COUNTS,
    Dataset,
    admin_sql,
    pg_url,
    prepare,
    say,
)

TARGET = 1.5
WORKER = ROOT / "bench" / "scale_worker.py"
SCALE_START = (
    "<!-- scale: written by `make bench-scale` (bench/scale.py); the next run replaces the latest -->"
)
SCALE_END = "<!-- end of scale -->"
SCALE_INTRO = """## Scale: 1,000 of everything beside full scale

Written by `make bench-scale` (`bench/scale.py`; how it works: its docstring). Two generated datasets on
PostgreSQL, each with its own Hydra: 1,000 clients / audit events / consent ledger rows for the tenant, and a
tenant with 10,000 clients in a Hydra holding 100,000, 10,000,000 audit events and 1,000,000 ledger rows. Pages
and APIs are timed in interleaved rounds; each cell is the median over rounds of that round's p50 or p95, with the
min–max over rounds in brackets; ratios are per round. A new run replaces "Latest scale run" and moves it under
"Earlier scale runs"."""


# --- workers --------------------------------------------------------------------------------------------------


class Worker:
    """bench/scale_worker.py serving one dataset."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, str(WORKER), "serve"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, **request: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith("@@"):
                answer: dict[str, Any] = json.loads(line[2:])
                if "error" in answer:
                    raise RuntimeError(f"{self.name} worker: {answer['error']}")
                return answer
        raise RuntimeError(f"{self.name} worker exited ({self.proc.wait()})")

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=30)
        if self.proc.poll() is None:
            self.proc.terminate()


def run_child(env: dict[str, str], *args: str, timeout: float) -> dict[str, Any]:
    """One worker command in a process of its own; its ``@@`` answer, or what went wrong."""
    try:
        done = subprocess.run(  # noqa: S603
            [sys.executable, str(WORKER), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"not finished after {timeout:.0f}s", "timeout": True}
    for line in done.stdout.splitlines():
        if line.startswith("@@"):
            answer: dict[str, Any] = json.loads(line[2:])
            return answer
    return {"error": f"exit {done.returncode}: {done.stderr.strip()[-400:]}"}


# --- statistics -----------------------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def per_round(values: Sequence[float]) -> tuple[float, float]:
    return statistics.median(values), pct(values, 0.95)


def med(values: Sequence[float]) -> float:
    found = [v for v in values if not math.isnan(v)]
    return statistics.median(found) if found else float("nan")


# --- the parts of a run ---------------------------------------------------------------------------------------


def setup_table(infos: dict[str, dict[str, Any]], datasets: Sequence[Dataset]) -> Table:
    table = Table(
        "Set-up: building the datasets (once; a re-run reuses them)",
        ("rows", "seconds", "rows/s"),
        note="Parts are built once and recorded in the dataset's database; a re-run only starts Hydra and Kratos "
        "over them and applies Truss's migrations. Hydra's clients: the tenant's through the admin API "
        "(parallel), the other tenants' by the bulk SQL path (rows copied from clients the API created).",
    )
    for ds in datasets:
        info = infos[ds.name]
        for part, (rows, seconds, detail) in info["parts"].items():
            label = f"{ds.name}: {part}"
            if part == "hydra":
                rates = json.loads(detail)
                label += f" (admin API {rates['api_per_s']:,.0f} clients/s" + (
                    f", bulk SQL {rates['sql_per_s']:,.0f}/s)"
                    if rates["sql_per_s"] == rates["sql_per_s"]
                    else ")"
                )
            table.add(label, [float(rows)], [round(seconds, 1)], [round(rows / seconds) if seconds else 0.0])
        table.add(f"{ds.name}: start Hydra + Kratos (this run)", "", [round(info["stack_s"], 1)], "")
        table.add(f"{ds.name}: Truss migrations (this run)", "", [round(info["migrate_s"], 1)], "")
    return table


def _reset_walks(ds: Dataset) -> None:
    """Forget where earlier (stopped) sweeps stood, so each sweep walks everything from the start."""
    with psycopg.connect(pg_url(ds.app_db), autocommit=True) as conn:
        for table in ("console_hygiene_sweeprun", "console_consents_reconcilerun"):
            if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone() != (None,):
                conn.execute(f"DELETE FROM {table}")  # type: ignore[arg-type]


def _restore_ledger(ds: Dataset) -> int:
    """Put back what the reconcile sweep changed (Hydra holds none of the generated consents: every person it
    asked about lost their active rows to "gone"); returns the people it handled."""
    with psycopg.connect(pg_url(ds.app_db), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(DISTINCT subject) FROM console_consents_ledgerentry WHERE state = 'gone'"
        ).fetchone()
        handled = int(row[0]) if row else 0
        if handled:
            conn.execute(
                "UPDATE console_consents_ledgerentry SET state = 'active', state_changed_at = NULL "
                "WHERE state = 'gone'"
            )
            conn.execute("DELETE FROM console_consents_scopecount")
            conn.execute(
                "INSERT INTO console_consents_scopecount (tenant_id, client_id, scope, people) "
                "SELECT tenant_id, client_id, '', count(*) FROM console_consents_ledgerentry "
                "WHERE state = 'active' GROUP BY 1, 2 UNION ALL "
                "SELECT tenant_id, client_id, s, count(*) FROM console_consents_ledgerentry, "
                "jsonb_array_elements_text(scopes) AS s WHERE state = 'active' GROUP BY 1, 2, 3"
            )
            conn.execute(TENANT_COUNTS_FROM_CLIENT_COUNTS)
    return handled


def sweeps(envs: dict[str, dict[str, str]], datasets: Sequence[Dataset], budget: float) -> Table:
    small, full = datasets
    table = Table(
        f"Fleet sweeps: {small.hydra_clients:,} clients in Hydra beside {full.hydra_clients:,}",
        ("1k: seconds", "full: seconds", "1k: peak RSS, MB", "full: peak RSS, MB", "full / 1k peak RSS"),
        note="Each sweep in a fresh process, from the start (earlier walks forgotten): seconds, and peak "
        "resident memory of the process (Django loaded is about 90 MB of it). Drift: `manage.py sweep_drift` "
        "over every tenant (the whole fleet; it also refreshes each tenant's hygiene snapshot). Hygiene: the "
        "tenant's snapshot refresh. Reconcile: `manage.py reconcile_consents --tenant scale` (asks Hydra about "
        "each person; Hydra holds none of the generated consents, so the ledger is put back after it). A sweep "
        f"still running after {budget:.0f} s is stopped there: its rate is given. Memory bounded: the full-scale "
        f"peak within {TARGET}x of the small one.",
    )
    for name in ("drift", "hygiene", "reconcile"):
        got: dict[str, dict[str, Any]] = {}
        for ds in datasets:
            _reset_walks(ds)
            say(f"sweep {name} on {ds.name}")
            got[ds.name] = run_child(envs[ds.name], "sweep", name, str(budget), timeout=budget + 300)
            if name == "reconcile":
                got[ds.name]["people"] = _restore_ledger(ds)
            say(f"sweep {name} on {ds.name}: {got[ds.name]}")
        a, b = got[small.name], got[full.name]

        def seconds(answer: dict[str, Any]) -> Any:
            if answer.get("timeout"):
                return f"> {budget:.0f} (killed)"
            if "seconds" not in answer:
                return f"error: {answer.get('error', '?')[:80]}"
            if answer.get("stopped"):
                rate = (
                    f"; {answer['people'] / answer['seconds']:,.0f} people/s" if answer.get("people") else ""
                )
                return f"> {answer['seconds']:.0f} (stopped{rate})"
            return [round(answer["seconds"], 1)]

        def memory(answer: dict[str, Any]) -> Any:
            return [round(answer["peak_rss_mb"], 1)] if "peak_rss_mb" in answer else ""

        ratio: Any = ""
        met = ""
        if "peak_rss_mb" in a and "peak_rss_mb" in b:
            ratio = [b["peak_rss_mb"] / a["peak_rss_mb"]]
            met = verdict(ratio[0] <= TARGET and not b.get("error"))
        errors = "; ".join(f"{k}: {v['error'][:60]}" for k, v in got.items() if v.get("error"))
        people = (
            f", {a.get('people', 0):,} / {b.get('people', 0):,} people asked" if name == "reconcile" else ""
        )
        table.add(
            name + people + (f" ({errors})" if errors else ""),
            seconds(a),
            seconds(b),
            memory(a),
            memory(b),
            ratio,
            target=f"memory <= {TARGET}x",
            verdict=met,
        )
    return table


def pages(workers: dict[str, Worker], datasets: Sequence[Dataset], rounds: int, repeat: int) -> Table:
    small, full = datasets
    names: list[str] = workers[small.name].ask(op="cases")["cases"]
    facts = {ds.name: workers[ds.name].ask(op="cases")["facts"] for ds in datasets}
    for ds in datasets:  # warm: caches, connections, templates
        workers[ds.name].ask(op="time", cases=names, repeat=2)
    p50: dict[str, dict[str, list[float]]] = {n: {ds.name: [] for ds in datasets} for n in names}
    p95: dict[str, dict[str, list[float]]] = {n: {ds.name: [] for ds in datasets} for n in names}
    statuses: dict[str, dict[str, int]] = {}
    for r in range(rounds):
        for ds in datasets:
            answer = workers[ds.name].ask(op="time", cases=names, repeat=repeat)
            statuses[ds.name] = answer["statuses"]
            for name, samples in answer["samples"].items():
                mid, high = per_round(samples)
                p50[name][ds.name].append(mid)
                p95[name][ds.name].append(high)
        say(f"pages: round {r + 1}/{rounds} done")
    table = Table(
        f"Pages and read APIs: {small.describe()} beside {full.describe()}",
        ("1k p50, ms", "full p50, ms", "p50 full/1k", "1k p95, ms", "full p95, ms", "p95 full/1k"),
        note=f"{rounds} interleaved rounds of {repeat} requests per page per dataset; in-process Django test "
        "client (middleware, session, tenancy, view, template), Hydra and Kratos over HTTP. Client home and "
        f"consent ledger: the client with most people ({facts[full.name]['client_id']} at full scale).",
    )
    for name in names:
        r50 = results.ratios(p50[name][full.name], p50[name][small.name])
        r95 = results.ratios(p95[name][full.name], p95[name][small.name])
        bad = [f"{ds}: HTTP {statuses[ds][name]}" for ds in statuses if name in statuses[ds]]
        table.add(
            name + (f" ({', '.join(bad)})" if bad else ""),
            p50[name][small.name],
            p50[name][full.name],
            r50,
            p95[name][small.name],
            p95[name][full.name],
            r95,
            # A reference row (Hydra measured straight) explains a Truss row; it has no target of its own.
            target="" if name.startswith("reference:") else f"<= {TARGET}x",
            verdict=""
            if name.startswith("reference:")
            else verdict(med(r50) <= TARGET and med(r95) <= TARGET and not bad),
        )
    return table


def activity(worker: Worker, rounds: int, repeat: int) -> Table:
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name, values in worker.ask(op="activity", repeat=repeat)["samples"].items():
            samples.setdefault(name, []).append(statistics.median(values))
    table = Table(
        "Activity chart at full scale: 14 days from the daily rollup beside GROUP BY over the audit log",
        ("ms (p50 per round)",),
        note="SQL only, the tenant's bridge steps by day, action and outcome; then the overview's activity() as "
        "the code under test has it.",
    )
    for name, values in samples.items():
        table.add(name, values)
    return table


# --- retention and partitioning on a copy of the full database ----------------------------------------------------


SCRATCH = "truss_scale_scratch"


def copy_full(ds: Dataset) -> float:
    started = time.perf_counter()
    admin_sql(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {SCRATCH} TEMPLATE {ds.app_db} STRATEGY FILE_COPY")
    return time.perf_counter() - started


def partitioned_copy(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """The audit table copied into one partitioned by month (created_at) with the same secondary indexes
    (PostgreSQL cannot keep the unique hash or the id primary key across partitions without the partition key:
    both lose their global uniqueness). Returns the build times and the oldest month's partition."""
    months = conn.execute(
        "SELECT date_trunc('month', min(created_at)), date_trunc('month', max(created_at)) FROM truss_auditevent"
    ).fetchone()
    assert months is not None
    first, last = months
    conn.execute("DROP TABLE IF EXISTS audit_by_month CASCADE")
    conn.execute(
        "CREATE TABLE audit_by_month (LIKE truss_auditevent INCLUDING DEFAULTS) PARTITION BY RANGE (created_at)"
    )
    partitions = []
    month = first
    while month <= last:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        name = f"audit_by_month_{month:%Y_%m}"
        conn.execute(
            f"CREATE TABLE {name} PARTITION OF audit_by_month FOR VALUES FROM ('{month.isoformat()}') "  # type: ignore[arg-type]
            f"TO ('{following.isoformat()}')"
        )
        partitions.append(name)
        month = following
    conn.commit()
    started = time.perf_counter()
    conn.execute("INSERT INTO audit_by_month SELECT * FROM truss_auditevent")
    conn.commit()
    copied = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '512MB'")
    for columns in ("tenant_id, id DESC", "tenant_id, action, id DESC", "chain, id", "created_at"):
        conn.execute(f"CREATE INDEX ON audit_by_month ({columns})")  # type: ignore[arg-type]
    conn.commit()
    indexed = time.perf_counter() - started
    oldest = partitions[0]
    count = conn.execute(f"SELECT count(*) FROM {oldest}").fetchone()  # type: ignore[arg-type]
    return {
        "copy_s": copied,
        "index_s": indexed,
        "oldest": oldest,
        "oldest_rows": int(count[0]) if count else 0,
        "until": (first + dt.timedelta(days=32)).replace(day=1),
    }


def retention(
    ds: Dataset, env: dict[str, str], *, load_seconds: float, threads: int, days_removed: float
) -> Table:
    table = Table(
        f"Audit retention on a copy of the full database ({ds.events:,} events)",
        ("rows", "seconds", "rows/s"),
        note="",
    )
    say("retention: copying the full database")
    copy_s = copy_full(ds)
    env = {**env, "DATABASE_URL": pg_url(SCRATCH)}
    with psycopg.connect(pg_url(SCRATCH)) as conn:
        say("retention: building the copy partitioned by month")
        part = partitioned_copy(conn)
        cutoff: dt.datetime = part["until"]
        oldest = conn.execute("SELECT min(created_at) FROM truss_auditevent").fetchone()
        assert oldest is not None
        removed_before = min(cutoff, oldest[0] + dt.timedelta(days=days_removed))
        to_delete = conn.execute(
            "SELECT count(*) FROM truss_auditevent WHERE created_at < %s", (removed_before,)
        ).fetchone()
        old_rows = int(to_delete[0]) if to_delete else 0
    table.add("copy of the full database (CREATE DATABASE … TEMPLATE)", "", [round(copy_s, 1)], "")
    table.add(
        "partitioned copy: INSERT … SELECT of every event", [float(ds.events)], [round(part["copy_s"], 1)], ""
    )
    table.add("partitioned copy: 4 secondary indexes", "", [round(part["index_s"], 1)], "")
    # The retention run (or, before truss/audit/retention.py exists, a plain delete by batch) beside the load.
    archive = Path(tempfile.mkdtemp(prefix="truss-scale-archive-"))
    retention_env = {**env, "AUDIT_ARCHIVE_DIR": str(archive)}
    say(
        f"retention: {old_rows:,} events before {removed_before} to remove; sign-in load of {threads} threads"
    )
    stop = archive / "stop-load"
    load = subprocess.Popen(  # noqa: S603
        [sys.executable, str(WORKER), "signins", str(load_seconds), str(threads), str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(5)  # the load is running before retention starts
    answer = run_child(retention_env, "retention", removed_before.isoformat(), timeout=3600)
    time.sleep(2)
    stop.touch()
    out, _ = load.communicate(timeout=load_seconds + 300)
    signin = next((json.loads(x[2:]) for x in out.splitlines() if x.startswith("@@")), {"error": "no answer"})
    say(f"retention: {answer}; sign-ins: {signin}")
    how = answer.get("how", "?")
    if "deleted" in answer:
        table.add(
            f"retention by {how}: events before {removed_before:%Y-%m-%d %H:%M} removed",
            [float(answer["deleted"])],
            [round(answer["delete_seconds"], 1)],
            [round(answer["deleted"] / answer["delete_seconds"]) if answer["delete_seconds"] else 0.0],
        )
        if answer.get("archive_seconds"):
            table.add(
                "retention: archiving them first (gzip JSON lines, checked)",
                [float(answer["archived"])],
                [round(answer["archive_seconds"], 1)],
                [round(answer["archived"] / answer["archive_seconds"])],
            )
        table.add(
            "retention: longest delete transaction, ms",
            "",
            [round(answer.get("longest_batch", 0) * 1000)],
            "",
        )
    else:
        table.add(f"retention ({answer.get('error', '?')[:120]})", "", "", "")
    with psycopg.connect(pg_url(SCRATCH), autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute(f"ALTER TABLE audit_by_month DETACH PARTITION {part['oldest']}")  # type: ignore[arg-type]
        conn.execute(f"DROP TABLE {part['oldest']}")  # type: ignore[arg-type]
        dropped = time.perf_counter() - started
    table.add(
        f"partitioned: the same month dropped (DETACH + DROP of {part['oldest']})",
        [float(part["oldest_rows"])],
        [round(dropped, 3)],
        [round(part["oldest_rows"] / dropped) if dropped else 0.0],
    )
    if "error" in signin:
        table.add(f"sign-in load: {signin['error']}", "", "", "")
    else:
        table.add(
            f"sign-in load beside it ({threads} threads, {signin.get('seconds', 0):.0f} s, from before retention "
            "started until after it ended): audit events written and chained",
            [float(signin["writes"])],
            "",
            "",
        )
        table.rows.append(
            results.Row(
                f"sign-in load: errors; writes slower than 1 s (lock waits); p50 / p99 / max ms "
                f"{signin['p50_ms'] or 0:.0f} / {signin['p99_ms'] or 0:.0f} / {signin['max_ms'] or 0:.0f}",
                [[float(signin["errors"])], [float(signin["slow_over_1s"])], ""],
                "0 errors",
                verdict(signin["errors"] == 0),
            )
        )
    table.note = (
        f"Retention removes the oldest {days_removed:g} days ({old_rows:,} events; archived first, then deleted "
        "by batch, each batch its own transaction) while the sign-in load appends to the same tenant's chain. "
        f"The partitioned copy drops its oldest month ({part['oldest_rows']:,} events) in one statement. Compare "
        "rows/s. The copy of the database is dropped afterwards."
    )
    admin_sql(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
    return table


# --- RESULTS.md -----------------------------------------------------------------------------------------------


def write_section(title: str, facts: list[str], tables: list[Table], path: Path = results.RESULTS) -> None:
    """Replace the Scale section's latest run; the one it replaces moves under "Earlier scale runs"."""
    body = "\n".join(
        [f"### Latest scale run: {title}", "", *facts, "", *(demote(results.markdown(t)) for t in tables)]
    )
    text = path.read_text() if path.exists() else results.HEADER
    start, end = text.find(SCALE_START), text.find(SCALE_END)
    earlier = ""
    if start != -1 and end != -1:
        old = text[start + len(SCALE_START) : end]
        at = old.find("### Latest scale run: ")
        marker = "### Earlier scale runs"
        previous = old[old.find(marker) + len(marker) :].strip() if marker in old else ""
        latest_old = old[at : old.find(marker) if marker in old else len(old)].strip() if at != -1 else ""
        if latest_old:
            latest_old = demote(latest_old.replace("### Latest scale run: ", "### Scale run: ", 1))
        earlier = "\n\n".join(x for x in (latest_old, previous) if x)
        text = text[:start].rstrip() + "\n\n" + text[end + len(SCALE_END) :].lstrip("\n")
    section = f"{SCALE_START}\n{SCALE_INTRO}\n\n{body.rstrip()}\n"
    if earlier:
        section += f"\n### Earlier scale runs\n\n{earlier}\n"
    section += f"{SCALE_END}\n"
    anchor = text.find(results.LATEST_END)
    if anchor == -1:
        text = text.rstrip() + "\n\n" + section
    else:
        at = anchor + len(results.LATEST_END)
        text = text[:at].rstrip() + "\n\n" + section + "\n" + text[at:].lstrip("\n")
    path.write_text(text)


def demote(markdown: str) -> str:
    return re.sub(r"^(#{3,5}) ", lambda m: "#" + m.group(1) + " ", markdown, flags=re.MULTILINE)


def facts(code: Path, label: str, datasets: Sequence[Dataset], load_before: tuple[float, float]) -> list[str]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, cwd=code, check=False)  # noqa: S603,S607
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    dirty = " with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    one, five = os.getloadavg()[:2]
    return [
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; code measured: {commit}{dirty} ({label})",
        f"- command: `{results.command_line()}`",
        f"- machine: {os.cpu_count()} cores; load average (1 min / 5 min) {load_before[0]:.1f} / "
        f"{load_before[1]:.1f} before, {one:.1f} / {five:.1f} after (other work shares the cores)",
        f"- datasets: {datasets[0].name} = {datasets[0].describe()}; {datasets[1].name} = {datasets[1].describe()}",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two tiny datasets: a smoke run (prints only)")
    parser.add_argument("--regenerate", action="store_true", help="drop and rebuild the datasets")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--code", default=os.environ.get("TRUSS_CODE", str(ROOT)), help="checkout to measure")
    parser.add_argument("--label", default="", help="what the code measured is, for RESULTS.md")
    parser.add_argument("--skip-sweeps", action="store_true")
    parser.add_argument("--skip-retention", action="store_true")
    parser.add_argument("--sweep-timeout", type=float, default=300, help="seconds a sweep may take")
    parser.add_argument("--retention-days", type=float, default=6, help="days of the oldest events removed")
    parser.add_argument("--load-seconds", type=float, default=1800, help="sign-in load beside it, at most")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    datasets = (
        [DATASETS["quick_small"], DATASETS["quick_full"]]
        if args.quick
        else [DATASETS["small"], DATASETS["full"]]
    )
    code = Path(args.code).resolve()
    load_before = os.getloadavg()[:2]
    stacks = []
    envs: dict[str, dict[str, str]] = {}
    infos: dict[str, dict[str, Any]] = {}
    workers: dict[str, Worker] = {}
    tables: list[Table] = []
    try:
        for ds in datasets:
            say(f"{ds.name}: preparing ({ds.describe()})")
            stack, env, info = prepare(ds, regenerate=args.regenerate, code=code)
            stacks.append(stack)
            envs[ds.name] = {**env, "TRUSS_CODE": str(code), "PYTHONPATH": str(code)}
            infos[ds.name] = info
        tables.append(setup_table(infos, datasets))
        print(results.markdown(tables[-1]), flush=True)
        if not args.skip_sweeps:
            tables.append(sweeps(envs, datasets, args.sweep_timeout))
            print(results.markdown(tables[-1]), flush=True)
        for ds in datasets:
            workers[ds.name] = Worker(ds.name, envs[ds.name])
        tables.append(pages(workers, datasets, args.rounds, args.repeat))
        print(results.markdown(tables[-1]), flush=True)
        tables.append(activity(workers[datasets[1].name], args.rounds, args.repeat))
        print(results.markdown(tables[-1]), flush=True)
        for worker in workers.values():
            worker.stop()
        workers.clear()
        if not args.skip_retention:
            tables.append(
                retention(
                    datasets[1],
                    envs[datasets[1].name],
                    load_seconds=args.load_seconds,
                    threads=4,
                    days_removed=args.retention_days,
                )
            )
            print(results.markdown(tables[-1]), flush=True)
    finally:
        for worker in workers.values():
            worker.stop()
        for stack in stacks:
            stack.stop()
    if not (args.no_write or args.quick):  # a smoke run never replaces measured numbers
        title = f"{dt.datetime.now(dt.UTC):%Y-%m-%d}, {'quick smoke run' if args.quick else 'full scale'}"
        write_section(title, facts(code, args.label or "this checkout", datasets, load_before), tables)
        say(f"wrote the Scale section of {results.RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
