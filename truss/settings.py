"""Truss settings: every environment variable is read here, once, through django-environ."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for `make run`; production passes real environment variables (which win).
environ.Env.read_env(env.str("TRUSS_ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str(
    "SECRET_KEY", default="" if not DEBUG else "dev-insecure-secret-key-change-me-0123456789abcdef"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The URL browsers use to reach Truss (Hydra's login/consent/logout URLs point here).
TRUSS_PUBLIC_URL = env.str("TRUSS_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_htmx",
    "template_partials",
    "ninja",
    "csp",
    "truss",
    "oauth2_admin",
    "oauth2_admin.consents.apps.ConsentsConfig",
    "oauth2_admin.keys.apps.KeysConfig",
    "oauth2_admin.trust.apps.TrustConfig",
    "oauth2_admin.tokens.apps.TokensConfig",
    "oauth2_admin.hygiene.apps.HygieneConfig",
    "oauth2_admin.scopes.apps.ScopesConfig",
    "bridge",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "truss.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "truss.middleware.HtmxMessagesMiddleware",
    "truss.middleware.HtmxRedirectMiddleware",
    "truss.middleware.UpstreamUnavailableMiddleware",
]

ROOT_URLCONF = "truss.urls"
WSGI_APPLICATION = "truss.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "truss.tenancy.context_processor",
                "truss.context_processors.htmx_base",
                "truss.context_processors.navigation",
            ],
        },
    },
]

# Widgets may use project templates (components/list_widget.html).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# Database: SQLite by default (zero setup), PostgreSQL via DATABASE_URL=postgres://…
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'truss.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn threads/processes write at once. WAL lets readers run beside the one writer; every
    # transaction takes the write lock when it begins (BEGIN IMMEDIATE), so none fails half-way trying to
    # upgrade a read lock ("database is locked"); and a writer waits up to `timeout` seconds for its turn.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.float("SQLITE_BUSY_TIMEOUT", default=20.0),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND", default="whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security -------------------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Hydra calls its token hook, and Prometheus scrapes /metrics, on the internal network, not through TLS.
SECURE_REDIRECT_EXEMPT = [r"^hooks/", r"^metrics$"]
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# Preloading commits every subdomain to HTTPS for months: an explicit opt-in, hence W021 is silenced.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Kratos and Hydra own cookies on the same host (127.0.0.1); keep ours distinctly named.
SESSION_COOKIE_NAME = "truss_session"
CSRF_COOKIE_NAME = "truss_csrftoken"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
X_FRAME_OPTIONS = "DENY"
# Hydra challenges exceed 1,000 characters; keep request lines generous (see gunicorn.conf.py too).
DATA_UPLOAD_MAX_MEMORY_SIZE = 512 * 1024

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:"],  # client logos on the consent screen are remote
        "connect-src": [SELF],
        "form-action": [SELF, "http:", "https:"],  # bridge forms redirect on to Hydra/Kratos
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}

# --- Ory --------------------------------------------------------------------------------------------------
HYDRA_ADMIN_URL = env.str("HYDRA_ADMIN_URL", default="").rstrip("/")
HYDRA_PUBLIC_URL = env.str("HYDRA_PUBLIC_URL", default="").rstrip("/")
HYDRA_TIMEOUT = env.float("HYDRA_TIMEOUT", default=5.0)
HYDRA_JANITOR_DSN = env.str("HYDRA_JANITOR_DSN", default="")  # Hydra's database, for `hydra janitor`
HYDRA_BIN = env.str("HYDRA_BIN", default="hydra")  # the hydra binary the cleanup page runs
# What Hydra's `oauth2.pkce.enforced` / `enforced_for_public_clients` say (Hydra has no API to read its config):
# "off" (Hydra's own default), "public" (what ory/hydra.yml ships: enforced_for_public_clients) or "all".
# The hygiene linter trusts this; set it to what your Hydra runs with.
HYDRA_PKCE_ENFORCED = env.str("HYDRA_PKCE_ENFORCED", default="public")
# Seconds after which viewing the hygiene report re-checks the tenant's clients against Hydra first.
HYGIENE_REPORT_MAX_AGE = env.int("HYGIENE_REPORT_MAX_AGE", default=120)
# Hydra's token hook (oauth2_admin/trust/hook.py, ory/hydra.yml oauth2.token_hook). On: a client may exchange a
# jwt-bearer assertion only under a trust of its own tenant, and Truss is on the path of every token Hydra issues
# (Truss down: Hydra issues none). Off: the hook answers 204 to everything, so any client with the jwt-bearer
# grant may use any tenant's trust (Hydra's own behaviour). The secret is the header value Hydra sends; the DEBUG
# default is the one ory/hydra.yml ships.
TRUST_TOKEN_HOOK = env.bool("TRUST_TOKEN_HOOK", default=True)
TRUST_TOKEN_HOOK_SECRET = env.str(
    "TRUST_TOKEN_HOOK_SECRET", default="dev-only-token-hook-secret-0123456789" if DEBUG else ""
)
KRATOS_ADMIN_URL = env.str("KRATOS_ADMIN_URL", default="").rstrip("/")
KRATOS_PUBLIC_URL = env.str("KRATOS_PUBLIC_URL", default="").rstrip("/")
KRATOS_TIMEOUT = env.float("KRATOS_TIMEOUT", default=5.0)

# --- Login/consent bridge ---------------------------------------------------------------------------------
# Hydra remembers a login this long (never past the Kratos session's own expiry); 0 turns remembering off.
BRIDGE_REMEMBER_LOGIN_FOR = env.int("BRIDGE_REMEMBER_LOGIN_FOR", default=24 * 3600)
# "Remember this decision" on the consent screen lasts this long (Hydra: 0 would mean forever).
BRIDGE_REMEMBER_CONSENT_FOR = env.int("BRIDGE_REMEMBER_CONSENT_FOR", default=30 * 24 * 3600)

# Cache: per-process memory by default (dev, tests, one process); CACHE_URL=redis://host:6379/0 selects Redis
# (Django's RedisCache keeping one client per pool), shared by every worker and host (README, "Scaling out").
CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://"),
    # Per process, on purpose: only for values that are never invalidated anyway, just expire (a client's owner,
    # Hydra's public JWKS), where a round trip to a shared cache would cost as much as the lookup saves.
    "process": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "truss-process"},
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "truss.rediscache.RedisCache"  # the same, minus a client built per call
# Whether every process reads and writes the same cache. Only then are sessions, the signed-in user, their
# tenants and API keys cached (truss/authcache.py): a logout, password change, removed membership or revoked key
# invalidates the entry for all processes at once. A per-process cache would keep them alive in other workers.
SHARED_CACHE = env.bool(
    "TRUSS_SHARED_CACHE",
    default=CACHES["default"]["BACKEND"]
    not in ("django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache"),
)
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if SHARED_CACHE else "django.contrib.sessions.backends.db"
)
# Django's ModelBackend, reading the user through the cache when SHARED_CACHE. (Sessions signed in before it was
# configured name ModelBackend: Django signs those out once.)
AUTHENTICATION_BACKENDS = ["truss.authcache.CachedModelBackend"]

# --- API keys and audit -----------------------------------------------------------------------------------
API_KEY_LAST_USED_RESOLUTION = env.int("API_KEY_LAST_USED_RESOLUTION", default=60)  # seconds between writes
# Signed audit checkpoints (manage.py audit_checkpoint, verify_audit --checkpoint): HMAC key, derived from
# SECRET_KEY unless set; a dedicated key lets checkpoints outlive a SECRET_KEY rotation.
AUDIT_CHECKPOINT_KEY = env.str("AUDIT_CHECKPOINT_KEY", default="")
# Every Nth audit event also logs a signed checkpoint of its chain (logger "truss.audit"); 0 turns it off.
AUDIT_CHECKPOINT_EVERY = env.int("AUDIT_CHECKPOINT_EVERY", default=100)
# The bridge's accepts are written ahead to an outbox and chained after the answer, by a drainer thread per
# process this many seconds later (what other requests queue meanwhile shares the batch: one head lock, one
# INSERT). Empty: chained inline on the request's thread right after the response (the test suite does this,
# reading the audit log the moment a response arrives).
_drain_delay = env.str("AUDIT_DRAIN_DELAY", default="0.02")
AUDIT_DRAIN_DELAY: float | None = float(_drain_delay) if _drain_delay.strip() else None
# Audit streaming (manage.py stream_audit, truss/audit/stream.py): every chained event delivered at least once,
# in order per tenant, to a JSON-lines file (appended and fsynced) and/or an HTTPS webhook signed with
# HMAC-SHA256 (AUDIT_STREAM_WEBHOOK_SECRET). Empty: that sink is off.
AUDIT_STREAM_FILE = env.str("AUDIT_STREAM_FILE", default="")
AUDIT_STREAM_WEBHOOK_URL = env.str("AUDIT_STREAM_WEBHOOK_URL", default="")
AUDIT_STREAM_WEBHOOK_SECRET = env.str("AUDIT_STREAM_WEBHOOK_SECRET", default="")
AUDIT_STREAM_WEBHOOK_TIMEOUT = env.float("AUDIT_STREAM_WEBHOOK_TIMEOUT", default=10.0)  # seconds per POST
# Plain http to a loopback webhook (a receiver on this machine); never to any other host.
AUDIT_STREAM_WEBHOOK_HTTP_LOOPBACK = env.bool("AUDIT_STREAM_WEBHOOK_HTTP_LOOPBACK", default=DEBUG)
AUDIT_STREAM_BATCH = env.int("AUDIT_STREAM_BATCH", default=100)  # events per append or POST
AUDIT_STREAM_POLL = env.float("AUDIT_STREAM_POLL", default=1.0)  # seconds between looks when caught up
# After a failed delivery: retry in 1, 2, 4, ... seconds (with jitter), at most AUDIT_STREAM_RETRY_MAX.
AUDIT_STREAM_RETRY_BASE = env.float("AUDIT_STREAM_RETRY_BASE", default=1.0)
AUDIT_STREAM_RETRY_MAX = env.float("AUDIT_STREAM_RETRY_MAX", default=300.0)
# An id not visible while later ones are (a transaction still open, or rolled back) is waited for this long.
AUDIT_STREAM_HOLE_TIMEOUT = env.float("AUDIT_STREAM_HOLE_TIMEOUT", default=300.0)
# Audit retention (manage.py archive_audit, truss/audit/retention.py): events older than this many days are
# archived to AUDIT_ARCHIVE_DIR (gzip JSON lines, a signed cut per file) and removed from the table. 0 (the
# default): kept forever. How long audit evidence must be kept is each deployment's own legal decision, and an
# upgrade must never start deleting it: set it (e.g. 400) and schedule the command.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=0)
AUDIT_ARCHIVE_DIR = env.str("AUDIT_ARCHIVE_DIR", default=str(BASE_DIR / "var" / "audit-archive"))

# --- Operator sign-in throttling ------------------------------------------------------------------------
# Failed sign-ins allowed per username and per client IP within the window (seconds); counted in CACHES.
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=5)
LOGIN_FAILURES_PER_IP = env.int("LOGIN_FAILURES_PER_IP", default=20)
LOGIN_FAILURE_WINDOW = env.int("LOGIN_FAILURE_WINDOW", default=15 * 60)

# --- Operations: proxies, metrics, logs --------------------------------------------------------------------


def _networks(name: str) -> list[str]:
    """A list of CIDRs or addresses; a malformed one stops the start-up, naming the variable."""
    values = [v.strip() for v in env.list(name, default=[]) if v.strip()]
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {value!r} is not an IP address or CIDR network") from exc
    return values


# The proxies in front of Truss (CIDRs): only from these is X-Forwarded-For followed to the client's address
# (sign-in and device-code throttles, audit events, logs) and an incoming X-Request-ID kept (truss/proxies.py).
TRUSTED_PROXIES = _networks("TRUSTED_PROXIES")
# /metrics (Prometheus): never public. A bearer token, and/or the client addresses (CIDRs) allowed; with neither
# the path answers 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = _networks("METRICS_ALLOWED_IPS")
# "plain" (default) or "json": one JSON object per log line (truss/logs.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="plain").strip().lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT: {LOG_FORMAT!r} is neither 'plain' nor 'json'")
if LOG_FORMAT == "json":
    logging.captureWarnings(True)  # Python's warnings become records of logger py.warnings: JSON lines too

# One handler on the root logger; Django's own loggers are re-declared without handlers so their records reach it
# once (Django's default "django" console handler plus propagation printed dev-server lines twice), except
# django.server (runserver's access log), which keeps one handler of its own and does not propagate.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "truss.redaction.RedactingFilter"},
        "expected_refusals": {"()": "truss.middleware.ExpectedRefusalFilter"},
        "request_id": {"()": "truss.logs.RequestIdFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "server": {"format": "%(asctime)s %(message)s"},
        "json": {"()": "truss.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["redact", "expected_refusals", "request_id"],
        },
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "server",
            "filters": ["redact", "request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}
