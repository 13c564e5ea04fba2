"""Test settings: the real settings module, with test-friendly environment defaults set first."""

from __future__ import annotations

import os

for key, value in {
    "DEBUG": "false",
    "SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdef",
    "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    # Unit tests see these; integration fixtures point them at the real stack they start.
    "HYDRA_ADMIN_URL": "http://127.0.0.1:9",
    "HYDRA_PUBLIC_URL": "http://127.0.0.1:9",
    "KRATOS_ADMIN_URL": "http://127.0.0.1:9",
    "KRATOS_PUBLIC_URL": "http://127.0.0.1:9",
    "HYDRA_TIMEOUT": "3",
    "KRATOS_TIMEOUT": "3",
    # Tests read the audit log the moment a response arrives: chain written-ahead events inline, right after
    # the response (tests/perf/test_audit_outbox.py covers the drainer thread production uses).
    "AUDIT_DRAIN_DELAY": "",
}.items():
    os.environ.setdefault(key, value)

from truss.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; never in production
# Serve static files from the finders: tests never run collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True

# SQLite: a file-backed test database, not the shared in-memory one. Live-server threads then get their own
# connections (as under `make run`), so concurrent requests (lazy htmx fragments, the concurrency tests) do not
# share one connection across threads.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    import tempfile as _tempfile

    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.path.join(  # noqa: F405
        _tempfile.gettempdir(), f"truss-test-{os.getpid()}.sqlite3"
    )
