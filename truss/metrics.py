"""Prometheus metrics: every metric Truss exports is defined here, with its labels and their bounded values.

Served at ``/metrics`` (``truss.views.metrics``) to a caller with ``METRICS_TOKEN`` as a bearer token and/or from
``METRICS_ALLOWED_IPS``; with neither configured the path is a 404, like any unknown path.

Where the numbers come from:

- HTTP requests, their latency split into Truss's own time and the wait on Hydra/Kratos (what ``Server-Timing``
  shows), and throttle refusals (any 429): ``truss.middleware.RequestIdMiddleware``, per route *name*.
- Upstream calls: ``truss.ory.http.request``, per service and operation (the ``truss.ory`` function that made
  the call, e.g. ``get_login_request``), status, and latency; unavailability (timeouts, refused connections, 5xx).
- Bridge steps, consent jobs, janitor runs and trust expiries: the audit events themselves, counted when they are
  chained (``post_save`` of ``AuditEvent``, on commit): the same events the console's overview counts, classified
  by one function (``bridge_step``), so both show one source.
- The audit outbox's depth and oldest age: read from the database at scrape time (one query).
- Audit streaming per sink (file, webhook): delivered, failures, lag and oldest undelivered age, read from the
  sink's cursor at scrape time (``truss.audit.stream.status``, what the overview shows), so they hold whichever
  process streams.

Labels never carry a client id, subject, tenant, path or any input: only names from the code (routes, operations,
actions) and small fixed sets. A value outside a set becomes ``other``.

Processes: gunicorn workers are separate processes, so ``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode: each process writes its values to files there, and a scrape answered by
any worker adds up all of them). Without it (``manage.py runserver``, tests) the process's own registry is served.
A management command counts into the same files when it runs with the same ``PROMETHEUS_MULTIPROC_DIR`` on the
same host; otherwise its outcomes are in the audit log only.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models.signals import post_save
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from truss import proxies

log = logging.getLogger(__name__)

# Audit outcomes (truss.models.AuditEvent.Outcome; this module imports no models: truss.ory.http imports it).
SUCCESS, FAILURE, DENIED = "success", "failure", "denied"
OTHER = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SERVICES = frozenset({"Hydra", "Kratos"})
UNMATCHED = "unmatched"  # a request no route matched (404s, slash redirects)

# Latency buckets (seconds): a bridge hop's own time is a few ms, its wait on Hydra/Kratos tens of ms, a slow
# console page or an upstream timeout seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# --- HTTP ---------------------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "truss_http_requests",
    "Requests answered, by route name, method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "truss_http_request_duration_seconds",
    "Time to answer a request, by route name.",
    ["route"],
    buckets=BUCKETS,
)
HTTP_OWN = Histogram(
    "truss_http_request_own_seconds",
    "Truss's own time per request (not waiting on Hydra/Kratos), by route name.",
    ["route"],
    buckets=BUCKETS,
)
HTTP_UPSTREAM = Histogram(
    "truss_http_request_upstream_seconds",
    "Wall time a request waited on Hydra/Kratos (concurrent calls count once), by route name.",
    ["route"],
    buckets=BUCKETS,
)
THROTTLE_REFUSALS = Counter(
    "truss_throttle_refusals",
    "Requests refused by a throttle (429): operator sign-in (route login), device codes (bridge:device).",
    ["route"],
)

# --- Hydra and Kratos ---------------------------------------------------------------------------------------

UPSTREAM_REQUESTS = Counter(
    "truss_upstream_requests",
    "Calls to Hydra/Kratos, by service, operation and HTTP status (or timeout, connection_error, error).",
    ["service", "operation", "status"],
)
UPSTREAM_DURATION = Histogram(
    "truss_upstream_request_duration_seconds",
    "Latency of calls to Hydra/Kratos, by service and operation.",
    ["service", "operation"],
    buckets=BUCKETS,
)
UPSTREAM_UNAVAILABLE = Counter(
    "truss_upstream_unavailable",
    "Calls that found Hydra/Kratos unavailable, by service and reason (timeout, connection, server_error).",
    ["service", "reason"],
)
UNAVAILABLE_REASONS = frozenset({"timeout", "connection", "server_error"})

# --- The bridge, from its audit events ----------------------------------------------------------------------

BRIDGE_KINDS = ("login", "consent", "logout", "device")
BRIDGE_OUTCOMES = ("accepted", "skipped", "denied", "failed", "restarted")
BRIDGE_STEPS = Counter(
    "truss_bridge_steps",
    "Login/consent/logout/device steps of the bridge, by kind and outcome (from their audit events).",
    ["kind", "outcome"],
)


@functools.cache
def _bridge_actions() -> dict[str, tuple[str, str]]:
    """action -> (kind, what a successful event of it means). consent.view is audited only when it is refused.
    Built on first use: this module is imported before the apps (truss.ory.http), the audit package after."""
    from truss.audit.actions import Action

    return {
        Action.LOGIN_ACCEPT: ("login", "accepted"),
        Action.LOGIN_REJECT: ("login", "denied"),
        Action.LOGIN_FORGET_REMEMBERED: ("login", "restarted"),
        Action.LOGIN_RESTART: ("login", "restarted"),
        Action.CONSENT_RESTART: ("consent", "restarted"),
        Action.CONSENT_VIEW: ("consent", "denied"),
        Action.CONSENT_ACCEPT: ("consent", "accepted"),
        Action.CONSENT_REJECT: ("consent", "denied"),
        Action.CONSENT_SWITCH_ACCOUNT: ("consent", "restarted"),
        Action.DEVICE_ACCEPT: ("device", "accepted"),
        Action.LOGOUT_ACCEPT: ("logout", "accepted"),
        Action.LOGOUT_REJECT: ("logout", "denied"),
    }


# The detail the login step writes when it accepted Hydra's remembered login without asking anyone (the login
# event carries no decision as data).
_LOGIN_REMEMBERED = "remembered by Hydra"


def _skipped(action: str, detail: str, after: Any) -> bool:
    """An accept nobody was asked for: a consent whose ``after["decision"]`` is remembered/skipped
    (audit.ConsentDecision), or Hydra's remembered login."""
    from truss.audit.actions import Action, ConsentDecision

    if action == Action.CONSENT_ACCEPT:
        decision = after.get("decision") if isinstance(after, dict) else None
        return decision in (ConsentDecision.REMEMBERED, ConsentDecision.SKIPPED)
    return action == Action.LOGIN_ACCEPT and detail.startswith(_LOGIN_REMEMBERED)


def bridge_step(action: str, outcome: str, detail: str = "", after: Any = None) -> tuple[str, str] | None:
    """(kind, outcome) of a bridge step from its audit event, or None when the event is not a bridge step.

    A failure is ``failed`` and a refusal (``denied`` outcome: wrong person, no CSRF token, throttled) is
    ``denied`` whatever the action; a successful reject (the person said no, ``prompt=none`` without a session) is
    ``denied``; an accept without asking anyone is ``skipped`` (told only when ``detail``/``after`` are given);
    starting the request over is ``restarted``."""
    known = _bridge_actions().get(action)
    if known is None:
        return None
    kind, meaning = known
    if outcome == FAILURE:
        return kind, "failed"
    if outcome == DENIED:
        return kind, "denied"
    if meaning == "accepted" and _skipped(action, detail, after):
        return kind, "skipped"
    return kind, meaning


# --- Operations, from their audit events --------------------------------------------------------------------

CONSENT_JOBS = Counter("truss_consent_jobs", "'Revoke for everyone' jobs started and finished.", ["event"])
CONSENT_JOB_PEOPLE = Counter(
    "truss_consent_job_people",
    "People whose consent a finished 'revoke for everyone' job revoked, or failed to.",
    ["outcome"],
)
JANITOR_RUNS = Counter("truss_janitor_runs", "hydra janitor runs from Truss, by outcome.", ["outcome"])
JANITOR_ROWS_REMOVED = Counter(
    "truss_janitor_rows_removed", "Rows hydra janitor runs from Truss removed, by kind.", ["kind"]
)
TRUST_EXPIRIES = Counter("truss_trust_expiries", "Expired jwt-bearer trusts swept from Hydra.")
AUDIT_DRAIN_FAILURES = Counter(
    "truss_audit_drain_failures", "Audit outbox drains that failed (the events wait and are retried)."
)
AUDIT_NOT_CHAINED = Counter(
    "truss_audit_refusals_not_chained",
    "Bridge refusals that named nothing real: counted and logged instead of chained, by action and status.",
    ["action", "reason"],
)
_JANITOR_ROWS = {"access_tokens_removed": "access_token", "refresh_tokens_removed": "refresh_token"}


def count_event(action: str, outcome: str, detail: str, after: Any) -> None:
    """Count one chained audit event in whichever metric it belongs to (most belong to none)."""
    from truss.audit.actions import Action

    step = bridge_step(action, outcome, detail, after)
    if step is not None:
        BRIDGE_STEPS.labels(*step).inc()
    elif action == Action.CONSENT_REVOKE_ALL_START and outcome == SUCCESS:
        CONSENT_JOBS.labels("started").inc()
    elif action == Action.CONSENT_REVOKE_ALL:
        CONSENT_JOBS.labels("finished").inc()
        if isinstance(after, dict):
            for key in ("revoked", "failed"):
                if isinstance(after.get(key), int) and after[key] > 0:
                    CONSENT_JOB_PEOPLE.labels(key).inc(after[key])
    elif action == Action.TOKENS_FLUSH:
        JANITOR_RUNS.labels(str(outcome)).inc()
        if outcome == SUCCESS and isinstance(after, dict):
            for key, kind in _JANITOR_ROWS.items():
                if isinstance(after.get(key), int) and after[key] > 0:
                    JANITOR_ROWS_REMOVED.labels(kind).inc(after[key])
    elif action == Action.TRUST_EXPIRE and outcome == SUCCESS:
        TRUST_EXPIRIES.inc()


def _chained(sender: type[Any], instance: Any, created: bool, **kwargs: Any) -> None:
    """Counted once the event's transaction commits: a chain's savepoint that rolls back counts nothing."""
    if not created:
        return
    action, outcome, detail, after = instance.action, instance.outcome, instance.detail, instance.after
    transaction.on_commit(lambda: count_event(action, outcome, detail, after))


def connect() -> None:
    """Count chained audit events from now on (TrussConfig.ready)."""
    from truss.models import AuditEvent

    post_save.connect(_chained, sender=AuditEvent, dispatch_uid="truss.metrics.count_event")


def audit_drain_failed() -> None:
    """One failed drain of the audit outbox (called by the drainer)."""
    AUDIT_DRAIN_FAILURES.inc()


# --- Recording (the hot paths) ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _route_children(route: str) -> tuple[Any, Any, Any]:
    return HTTP_DURATION.labels(route), HTTP_OWN.labels(route), HTTP_UPSTREAM.labels(route)


@functools.lru_cache(maxsize=4096)
def _request_child(route: str, method: str, status: int) -> Any:
    return HTTP_REQUESTS.labels(route, method if method in METHODS else OTHER, str(status))


def request_done(route: str, method: str, status: int, seconds: float, upstream_seconds: float) -> None:
    """One answered request: its count, total, own and upstream time; a 429 is a throttle refusal."""
    _request_child(route, method, status).inc()
    duration, own, upstream = _route_children(route)
    duration.observe(seconds)
    own.observe(max(seconds - upstream_seconds, 0.0))
    upstream.observe(upstream_seconds)
    if status == 429:
        THROTTLE_REFUSALS.labels(route).inc()


@functools.lru_cache(maxsize=4096)
def _upstream_children(service: str, operation: str, status: str) -> tuple[Any, Any]:
    service = service if service in SERVICES else OTHER
    return UPSTREAM_REQUESTS.labels(service, operation, status), UPSTREAM_DURATION.labels(service, operation)


def upstream_call(service: str, operation: str, status: str, seconds: float) -> None:
    """One call to Hydra/Kratos; ``status`` is the HTTP status or timeout/connection_error/error."""
    count, duration = _upstream_children(service, operation, status)
    count.inc()
    duration.observe(seconds)


def upstream_unavailable(service: str, reason: str) -> None:
    UPSTREAM_UNAVAILABLE.labels(
        service if service in SERVICES else OTHER, reason if reason in UNAVAILABLE_REASONS else OTHER
    ).inc()


# --- Read at scrape time ------------------------------------------------------------------------------------


class ScrapeTime(Collector):
    """What the database knows, read when Prometheus asks: the audit outbox's depth and its oldest event's age,
    and each audit sink's delivery (truss/audit/stream.py: the numbers the overview shows, one source)."""

    def describe(self) -> Iterator[Metric]:
        return iter(())  # nothing is read at registration

    def collect(self) -> Iterator[Metric]:
        from truss.audit import stream

        try:
            outbox = stream.outbox_state()
            sinks = stream.status()
        except DatabaseError:
            log.warning("metrics: could not read the audit outbox or stream", exc_info=True)
            return
        depth = GaugeMetricFamily(
            "truss_audit_outbox_events", "Audit events written ahead and not chained yet."
        )
        depth.add_metric([], float(outbox.waiting))
        yield depth
        age = GaugeMetricFamily(
            "truss_audit_outbox_oldest_age_seconds",
            "Age of the oldest audit event waiting in the outbox (0 when it is empty).",
        )
        age.add_metric([], outbox.oldest_age)
        yield age
        yield from _stream_families(sinks)


def _stream_families(sinks: list[Any]) -> Iterator[Metric]:
    """Per configured audit sink (label ``sink``: file or webhook), from its cursor in the database: counted
    by whichever process streams, read by whichever process is scraped."""
    delivered = CounterMetricFamily(
        "truss_audit_stream_delivered", "Audit events a sink acknowledged.", labels=["sink"]
    )
    failures = CounterMetricFamily(
        "truss_audit_stream_failures",
        "Audit deliveries a sink failed (retried with backoff).",
        labels=["sink"],
    )
    failing = GaugeMetricFamily(
        "truss_audit_stream_consecutive_failures",
        "Failed deliveries since a sink last acknowledged one (0: healthy).",
        labels=["sink"],
    )
    lag = GaugeMetricFamily(
        "truss_audit_stream_lag_events", "Audit events not yet delivered to a sink.", labels=["sink"]
    )
    oldest = GaugeMetricFamily(
        "truss_audit_stream_oldest_undelivered_age_seconds",
        "Age of the oldest audit event not yet delivered to a sink (0 when caught up).",
        labels=["sink"],
    )
    for sink in sinks:
        delivered.add_metric([sink.kind], float(sink.delivered))
        failures.add_metric([sink.kind], float(sink.failures))
        failing.add_metric([sink.kind], float(sink.consecutive_failures))
        lag.add_metric([sink.kind], float(sink.lag))
        oldest.add_metric([sink.kind], sink.oldest_undelivered_age)
    yield from (delivered, failures, failing, lag, oldest)


_scrape_time = ScrapeTime()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition() -> bytes:
    """The text format of every metric: all processes' values in multiprocess mode, else this process's (the
    default registry: these metrics and the process's own); then what is read at scrape time."""
    at_scrape = CollectorRegistry()
    at_scrape.register(_scrape_time)
    if multiprocess_dir() is None:
        return generate_latest(REGISTRY) + generate_latest(at_scrape)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry) + generate_latest(at_scrape)


# --- Who may read /metrics ----------------------------------------------------------------------------------


def allowed(request: HttpRequest) -> HttpResponse | None:
    """None when the caller may read the metrics; otherwise the answer. Never public: with neither
    METRICS_TOKEN nor METRICS_ALLOWED_IPS the path does not exist (404). A client outside METRICS_ALLOWED_IPS
    gets the same 404; a missing or wrong bearer token (when METRICS_TOKEN is set) a 401. Both settings: both
    must pass."""
    token: str = settings.METRICS_TOKEN
    nets = proxies.networks("METRICS_ALLOWED_IPS")
    if not token and not nets:
        raise Http404
    if nets and not proxies.in_networks(proxies.client_ip(request), nets):
        raise Http404
    if token:
        given = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, credentials = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credentials.strip().encode(), token.encode()
        ):
            response = HttpResponse("metrics: bearer token required\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return None


__all__ = ["CONTENT_TYPE_LATEST", "allowed", "bridge_step", "exposition", "request_done", "upstream_call"]
