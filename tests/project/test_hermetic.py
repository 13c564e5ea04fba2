"""The suite's settings do not depend on the shell that runs it, nor on a developer's `.env`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PRINT = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.SECRET_KEY, s.DEBUG, s.CACHES['default']['BACKEND'], s.HYDRA_ADMIN_URL, s.LOGGING['root']['level']]))"
)


def _settings_seen_with(env: dict[str, str]) -> list[object]:
    done = subprocess.run(
        [sys.executable, "-c", _PRINT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_it_ignores_the_callers_environment_and_env_file(tmp_path: Path) -> None:
    dot_env = tmp_path / "dev.env"
    dot_env.write_text("LOG_LEVEL=DEBUG\nCACHE_URL=redis://127.0.0.1:1/0\n")
    clean = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "tests.settings"}
    polluted = {
        **clean,
        "SECRET_KEY": "from-the-shell-" + "x" * 40,
        "DEBUG": "true",
        "CACHE_URL": "redis://127.0.0.1:1/0",
        "HYDRA_ADMIN_URL": "http://127.0.0.1:4445",
        "TRUSS_ENV_FILE": str(dot_env),
    }

    assert _settings_seen_with(polluted) == _settings_seen_with(clean)
