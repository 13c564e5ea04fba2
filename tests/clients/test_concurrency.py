"""Concurrent client writes through the API, served the way production serves Truss (gunicorn, several worker
processes with threads), on a real database file (SQLite) or database (PostgreSQL), against the real Hydra.

pytest-django's own SQLite test database lives in memory and is shared by every thread through one cache, which
is not what `make run` or production do; so this test migrates a database of its own and runs Truss in
separate processes, exactly as an outside caller would meet it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings as django_settings

from tests.fixtures.ory import in_hydra
from tests.fixtures.second_process import child_env
from truss.devstack import free_port

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
THREADS, UPDATES = 8, 20


def _postgres_url(name: str) -> str:
    db = django_settings.DATABASES["default"]
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _postgres_admin(sql: str) -> None:
    import psycopg

    db = django_settings.DATABASES["default"]
    with psycopg.connect(
        dbname="postgres",
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        autocommit=True,
    ) as conn:
        conn.execute(sql)


class Truss:
    """Truss under gunicorn (gunicorn.conf.py: gthread workers) on its own database."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env, self.workdir = env, workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "gunicorn.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stdout}\n{result.stderr}"
        return result.stdout

    def start(self) -> None:
        env = {
            **self.env,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": "3",
            "GUNICORN_THREADS": "4",
        }
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "truss.wsgi"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise AssertionError(f"gunicorn did not start:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@pytest.fixture(params=["sqlite", "postgresql"])
def truss(request: pytest.FixtureRequest, ory: Any, tmp_path: Path) -> Any:
    backend = request.param
    suite_engine = django_settings.DATABASES["default"]["ENGINE"]
    created_db = None
    if backend == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'truss.sqlite3'}"
    elif "postgresql" not in suite_engine:
        pytest.skip("runs when the suite runs on PostgreSQL (DATABASE_URL=postgres://…, as in CI)")
    else:
        created_db = f"{django_settings.DATABASES['default']['NAME']}_conc_{os.getpid()}"
        _postgres_admin(f'DROP DATABASE IF EXISTS "{created_db}"')
        _postgres_admin(f'CREATE DATABASE "{created_db}"')
        database_url = _postgres_url(created_db)
    env = child_env(
        **ory.env(),
        DJANGO_SETTINGS_MODULE="truss.settings",
        DATABASE_URL=database_url,
        SECRET_KEY=django_settings.SECRET_KEY,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
    )
    server = Truss(env, tmp_path)
    server.manage("migrate", "--noinput")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        if created_db:
            _postgres_admin(f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)')


def test_it_holds_8_concurrent_writers_with_one_audit_event_per_change(truss: Truss, ory: Any) -> None:
    # Two tenants, so appends to two audit chains interleave as well as within each chain.
    slugs = [f"conc-{uuid.uuid4().hex[:6]}", f"conc-{uuid.uuid4().hex[:6]}"]
    keys = {}
    for slug in slugs:
        truss.manage("create_tenant", slug)
        keys[slug] = truss.manage("create_api_key", "--tenant", slug, "--role", "service_role").strip()

    clients: list[tuple[str, str]] = []  # (tenant slug, client_id) per thread
    for t in range(THREADS):
        slug = slugs[t % 2]
        resp = requests.post(
            f"{truss.url}/v1/oauth2/clients",
            headers={"apikey": keys[slug]},
            timeout=30,
            json={"client_name": f"conc-{t}-start", "grant_types": ["client_credentials"], "scope": "read"},
        )
        assert resp.status_code == 201, resp.text
        clients.append((slug, resp.json()["client_id"]))

    def writer(t: int) -> list[int]:
        slug, client_id = clients[t]
        http = requests.Session()
        statuses = []
        for i in range(UPDATES):
            resp = http.put(
                f"{truss.url}/v1/oauth2/clients/{client_id}",
                headers={"apikey": keys[slug]},
                json={"client_name": f"conc-{t}-{i}"},
                timeout=60,
            )
            statuses.append(resp.status_code)
        return statuses

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = [s for result in pool.map(writer, range(THREADS)) for s in result]

    assert Counter(statuses) == {200: THREADS * UPDATES}, f"{Counter(statuses)}\n{truss.log_tail()}"

    # Hydra holds every thread's last change…
    for t, (_slug, client_id) in enumerate(clients):
        assert in_hydra(ory, client_id)["client_name"] == f"conc-{t}-{UPDATES - 1}"

    # …and the audit log holds exactly one success event per change made, and nothing else for these clients.
    dump = truss.manage(
        "shell",
        "-c",
        "import json; from truss.models import AuditEvent; print(json.dumps([[e.target, e.outcome, "
        "(e.after or {}).get('client_name')] for e in AuditEvent.objects.filter(action='oauth2.client.update')]))",
    )
    events = Counter(tuple(row) for row in json.loads(dump.strip().splitlines()[-1]))
    expected = Counter(
        (client_id, "success", f"conc-{t}-{i}")
        for t, (_s, client_id) in enumerate(clients)
        for i in range(UPDATES)
    )
    assert events == expected

    assert "intact" in truss.manage("verify_audit")
