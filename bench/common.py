"""What the benches share: a private Ory stack on PostgreSQL (or SQLite files), Redis, gunicorn servers, stats.

Hydra's ``DSN=memory`` fails under concurrent writes ("Unable to serialize access"), so the benches never use
it: by default Hydra, Kratos and Truss each get a fresh PostgreSQL database (``BENCH_PG``, default
``postgres://truss:truss@127.0.0.1:5432``; databases ``truss_bench_<pid>_{hydra,kratos,app}``, dropped at the
end); ``--sqlite`` uses SQLite files instead. A private ``redis-server`` (when installed) is the shared cache
(``CACHE_URL``), as in production. Servers run ``gunicorn -c gunicorn.conf.py``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from truss.devstack import Stack, free_port  # noqa: E402

__all__ = ["Bench", "bench", "cpu_ms", "free_port", "load", "median", "pct", "row", "server_timing", "spread"]

PG = os.environ.get("BENCH_PG", "postgres://truss:truss@127.0.0.1:5432")


class _DsnStack(Stack):
    """The devstack with an explicit DSN per service (PostgreSQL), migrated on start like a file DSN."""

    dsns: dict[str, str]

    def _dsn(self, name: str) -> str:
        return self.dsns.get(name) or super()._dsn(name)


def _psql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@dataclass
class Bench:
    """A private Ory stack, database(s), cache and the gunicorn servers a bench starts; stops them all."""

    sqlite: bool = False
    work: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="truss-bench-")))
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    databases: list[str] = field(default_factory=list)
    truss_url: str = ""

    def __post_init__(self) -> None:
        self.truss_port = free_port()
        self.truss_url = f"http://127.0.0.1:{self.truss_port}"
        ports = {k: free_port() for k in ("hydra_public", "hydra_admin", "kratos_public", "kratos_admin")}
        self.stack = _DsnStack(
            state_dir=self.work / "ory", ports=ports, truss_url=self.truss_url, persistent=True
        )
        self.stack.dsns = {}
        if not self.sqlite:
            prefix = f"truss_bench_{os.getpid()}"
            for name in ("hydra", "kratos", "app"):
                db = f"{prefix}_{name}"
                _psql(f"DROP DATABASE IF EXISTS {db}")
                _psql(f"CREATE DATABASE {db}")
                self.databases.append(db)
            self.stack.dsns = {
                "hydra": f"{PG}/{prefix}_hydra?sslmode=disable&max_conns=20&max_idle_conns=10",
                "kratos": f"{PG}/{prefix}_kratos?sslmode=disable&max_conns=20&max_idle_conns=10",
            }
        self.database_url = (
            f"sqlite:///{self.work}/truss.sqlite3" if self.sqlite else f"{PG}/{self.databases[-1]}"
        )
        self.cache_url = "locmemcache://"

    @property
    def backend(self) -> str:
        return "SQLite files" if self.sqlite else "PostgreSQL"

    def start(self) -> dict[str, str]:
        """Start Redis, Hydra and Kratos, migrate Truss's database; returns the environment for servers."""
        (self.work / "ory").mkdir(parents=True, exist_ok=True)
        if shutil.which("redis-server"):
            port = free_port()
            self.servers.append(
                subprocess.Popen(
                    [
                        "redis-server",
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ],
                    stdout=(self.work / "redis.log").open("ab"),
                    stderr=subprocess.STDOUT,
                )
            )
            self.cache_url = f"redis://127.0.0.1:{port}/0"
        self.stack.start(timeout=120)
        env = {
            **self.stack.env(),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            # tests/settings.py reads no caller's environment unless told the process was started with one.
            "TRUSS_TEST_CHILD": "1",
            "DATABASE_URL": self.database_url,
            "CACHE_URL": self.cache_url,
            "TRUSS_PUBLIC_URL": self.truss_url,
            "TRUSS_SERVER_TIMING": "1",
            # tests/settings.py chains the audit outbox inline for the test suite; benches run production's drainer.
            "AUDIT_DRAIN_DELAY": os.environ.get("AUDIT_DRAIN_DELAY", "0.02"),
        }
        os.environ.update(env)  # only now: Hydra/Kratos read some of the same names (LOG_LEVEL, …)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return {**os.environ, "LOG_LEVEL": "WARNING"}

    def gunicorn(
        self, app: str, *, port: int, workers: int, threads: int, name: str, env: dict[str, str]
    ) -> str:
        """Serve ``app`` with gunicorn.conf.py (workers × threads); returns its base URL once it answers."""
        env = {
            **env,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
        }
        args = [
            str(ROOT / ".venv/bin/gunicorn"),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            app,
            "--log-level",
            "warning",
            "--access-logfile",
            str(self.work / f"{name}.access.log"),
        ]
        log = (self.work / f"{name}.log").open("ab")
        self.servers.append(subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                requests.get(f"{base}/healthz", timeout=1)
                return base
            time.sleep(0.1)
        raise SystemExit(f"{name} did not come up; see {self.work / f'{name}.log'}")

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=10)
        self.stack.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        for db in self.databases:
            with contextlib.suppress(Exception):
                _psql(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


@contextlib.contextmanager
def bench(sqlite: bool = False) -> Iterator[tuple[Bench, dict[str, str]]]:
    b = Bench(sqlite=sqlite)
    try:
        yield b, b.start()
    finally:
        b.stop()


# --- Statistics ----------------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """min–max over rounds, the honest error bar on a noisy shared machine."""
    return f"{min(values):.2f}–{max(values):.2f}" if values else "-"


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def server_timing(response: requests.Response) -> dict[str, float]:
    """Truss's ``Server-Timing: app;dur=…, upstream;dur=…`` (present with TRUSS_SERVER_TIMING=1)."""
    found: dict[str, float] = {}
    for part in response.headers.get("Server-Timing", "").split(","):
        name, _, rest = part.strip().partition(";dur=")
        if rest:
            found[name] = float(rest)
    return found


def cpu_ms() -> dict[str, float]:
    """CPU time (user + system, ms) used so far by each kind of process on this machine (Linux /proc): Truss's
    and the reference's gunicorn processes, Hydra, Kratos, PostgreSQL and this load generator. Differences
    between two calls show where the cores went: on these 2-core machines flows/s is bound by the sum."""
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(pid) == os.getpid():
            kind = "load generator"
        elif "bench.reference_bridge" in cmd:
            kind = "reference"
        elif "gunicorn" in cmd and "truss.wsgi" in cmd:
            kind = "Truss"
        elif "serve" in cmd and ("/hydra" in cmd or "/kratos" in cmd):
            kind = "Hydra" if "/hydra" in cmd else "Kratos"
        elif (
            cmd.startswith("postgres") or "postgres:" in cmd or "/bin/postgres " in cmd
        ):  # backends, postmaster
            kind = "PostgreSQL"
        else:
            continue
        # utime + stime, plus cutime + cstime: what reaped children used (PostgreSQL backends that exit,
        # replaced gunicorn workers) moves to their parent, so totals never go backwards.
        out[kind] = out.get(kind, 0.0) + sum(int(f) for f in fields[11:15]) * tick_ms
    return out


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


def row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "| " + " | ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)) + " |"
