"""Test settings: the real settings module, with test-friendly environment defaults set first."""

from __future__ import annotations

import os

import environ

# The caller's environment and a developer's `.env` never reach the settings: django-environ reads this dict
# instead of os.environ. Only what selects the test infrastructure passes through (the database CI chose,
# binaries to test against).
PASSED_THROUGH = ("DATABASE_URL", "HYDRA_BIN", "KRATOS_BIN")
TEST_ENVIRONMENT = {
    "TRUSS_ENV_FILE": os.devnull,
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
    # the response (tests/audit/test_outbox.py covers the drainer thread production uses).
    "AUDIT_DRAIN_DELAY": "",
}
# A second process started by a test (same settings module) may carry its own values in its environment;
# TRUSS_TEST_CHILD marks such a process, whose environment the test wrote.
_source = os.environ if os.environ.get("TRUSS_TEST_CHILD") == "1" else {}
environ.Env.ENVIRON = {
    **TEST_ENVIRONMENT,
    **{key: os.environ[key] for key in PASSED_THROUGH if key in os.environ},
    **_source,
}

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

# An audit action missing from truss/audit/actions.py is an error here (production logs it and writes the event).
AUDIT_STRICT_ACTIONS = True
