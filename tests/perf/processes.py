"""A second app process for the cache tests: same settings, the same shared (file) cache and, where it needs one,
the same test database. It runs a small script that answers one line of stdin with one line of stdout."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The test database, as a DATABASE_URL for the other process."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    assert db["ENGINE"].endswith("postgresql"), db["ENGINE"]
    user, password = quote(db["USER"], safe=""), quote(db["PASSWORD"], safe="")
    return f"postgres://{user}:{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class OtherProcess:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    def ask(self, line: str) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()


@contextmanager
def other_process(script: str, cache_dir: Path, *, database: str | None = None) -> Iterator[OtherProcess]:
    env = {"DJANGO_SETTINGS_MODULE": "tests.settings", "CACHE_URL": f"filecache://{cache_dir}",
           "DATABASE_URL": database or "sqlite:///:memory:", "PATH": "/usr/bin:/bin"}  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    try:
        yield OtherProcess(proc)
    finally:
        proc.kill()
        proc.wait()
