"""Every main dependency in pyproject.toml is used by the app (issue 8, item 6); test-only ones live in `dev`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
APP_CODE = "\n".join(
    p.read_text() for d in ("truss", "oauth2_admin", "bridge") for p in (ROOT / d).rglob("*.py")
)

# distribution -> evidence of use outside the tests (a regex over the app's Python, or another file)
USES: dict[str, tuple[str, str]] = {
    "django": ("app", r"^from django\b"),
    "django-htmx": ("app", r'"django_htmx'),
    "django-template-partials": ("app", r'"template_partials"'),
    "django-ninja": ("app", r"^from ninja\b"),
    "django-environ": ("app", r"^import environ\b"),
    "django-csp": ("app", r"^from csp\b"),
    "whitenoise": ("app", r'"whitenoise\.'),
    "gunicorn": ("Dockerfile", r'"gunicorn", "-c", "gunicorn.conf.py"'),  # the production server
    "requests": ("app", r"^import requests\b"),
    "pyjwt": ("app", r"^import jwt\b"),
    "cryptography": ("app", r"^from cryptography\b"),
    "psycopg": ("compose.yaml", r"DATABASE_URL: postgres://"),  # Django's PostgreSQL backend imports it
    "pydantic": ("app", r"^from pydantic\b"),
    "jsonpatch": ("app", r"^import jsonpatch\b"),
    "redis": ("compose.yaml", r"CACHE_URL: redis://"),  # Django's RedisCache imports it
    "segno": ("app", r"^import segno\b"),  # the device run's QR code
    "prometheus-client": ("app", r"^from prometheus_client\b"),  # /metrics
}


def _name(requirement: str) -> str:
    return re.split(r"[\[<>=~! ;]", requirement, maxsplit=1)[0].lower()


def test_it_lists_only_dependencies_the_app_uses() -> None:
    main = [_name(r) for r in PYPROJECT["project"]["dependencies"]]
    unexplained = sorted(set(main) - set(USES))
    assert not unexplained, (
        f"used where? add to USES, or move to the dev extra if only tests need it: {unexplained}"
    )
    for dist in main:
        where, pattern = USES[dist]
        text = APP_CODE if where == "app" else (ROOT / where).read_text()
        assert re.search(pattern, text, re.MULTILINE), f"{dist}: no use found in {where} ({pattern})"


def test_it_keeps_test_only_packages_out_of_the_main_dependencies() -> None:
    main = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    dev = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}
    assert {"pytest", "pyyaml", "responses", "playwright"} <= dev
    assert not main & dev
    assert "authlib" not in main  # listed but never imported before
