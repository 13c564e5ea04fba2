from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.core.checks import run_checks

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "k8R3v9Qz-production-like-secret-key-with-plenty-of-entropy-2c7f",
    "ALLOWED_HOSTS": "truss.example.com",
    "DATABASE_URL": "sqlite:////tmp/truss-deploy-check.sqlite3",
    "HYDRA_ADMIN_URL": "http://hydra:4445",
    "HYDRA_PUBLIC_URL": "https://auth.example.com",
    "KRATOS_ADMIN_URL": "http://kratos:4434",
    "KRATOS_PUBLIC_URL": "https://id.example.com",
    "TRUST_TOKEN_HOOK_SECRET": "a-production-like-token-hook-secret-4d1c9e",
}


def test_it_passes_check_deploy_with_production_settings():
    # A clean environment: nothing from the test settings or the developer's .env may leak in.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **PRODUCTION_ENV}
    env.update(DJANGO_SETTINGS_MODULE="truss.settings", TRUSS_ENV_FILE="/nonexistent/.env")
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_it_reports_missing_ory_settings_with_stable_ids(settings):
    settings.HYDRA_ADMIN_URL = ""
    settings.KRATOS_PUBLIC_URL = "not a url"
    ids = {m.id for m in run_checks()}
    assert {"truss.E001", "truss.E004"} <= ids
