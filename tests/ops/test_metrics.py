"""/metrics (truss/metrics.py): never public, Prometheus names and bounded labels, and each source of numbers:
requests, upstream calls, bridge steps and operations from their audit events, the outbox, throttles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
import responses
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from truss import audit, metrics
from truss.models import AuditOutbox, Tenant
from truss.ory import hydra, kratos

TOKEN = "metrics-token-0123456789abcdef"
HYDRA, KRATOS = "http://127.0.0.1:9", "http://127.0.0.1:10"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: Client, **headers: Any) -> Any:
    return client.get("/metrics", **headers)


# --- Never public ------------------------------------------------------------------------------------------------


def test_it_does_not_exist_unless_configured(client: Client) -> None:
    assert scrape(client).status_code == 404
    assert scrape(client, HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.django_db
def test_it_needs_the_bearer_token(settings: Any, client: Client) -> None:
    settings.METRICS_TOKEN = TOKEN
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": f"Basic {TOKEN}"}):
        refused = scrape(client, **headers)
        assert refused.status_code == 401 and refused["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert b"truss_" not in refused.content
    answered = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answered.status_code == 200
    assert answered["Content-Type"].startswith("text/plain; version=")  # the text format
    assert b"# TYPE truss_http_requests_total counter" in answered.content


@pytest.mark.django_db
def test_it_answers_only_the_allowed_addresses(settings: Any) -> None:
    settings.METRICS_ALLOWED_IPS = ["10.9.0.0/16"]
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    assert scrape(Client(REMOTE_ADDR="10.9.1.2")).status_code == 200
    assert scrape(Client(REMOTE_ADDR="203.0.113.7")).status_code == 404
    # A spoofed header from outside does not get in; the real client behind a trusted proxy does.
    assert scrape(Client(REMOTE_ADDR="203.0.113.7"), HTTP_X_FORWARDED_FOR="10.9.1.2").status_code == 404
    assert scrape(Client(REMOTE_ADDR="10.0.0.5"), HTTP_X_FORWARDED_FOR="10.9.1.2").status_code == 200
    assert scrape(Client(REMOTE_ADDR="10.0.0.5"), HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 404
    # Both settings: both must pass.
    settings.METRICS_TOKEN = TOKEN
    assert scrape(Client(REMOTE_ADDR="10.9.1.2")).status_code == 401
    assert scrape(Client(REMOTE_ADDR="203.0.113.7"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404
    assert scrape(Client(REMOTE_ADDR="10.9.1.2"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


# --- Names and labels --------------------------------------------------------------------------------------------

# Label names that would carry a person, a client or input: never used.
UNBOUNDED = {"client", "client_id", "subject", "user", "identity", "tenant", "path", "url", "challenge", "ip"}


@pytest.mark.django_db
def test_it_follows_prometheus_naming_with_bounded_labels(settings: Any, client: Client) -> None:
    settings.METRICS_TOKEN = TOKEN
    client.get("/healthz")
    text = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    families = [f for f in text_string_to_metric_families(text) if f.name.startswith("truss_")]
    names = {f.name: f.type for f in families}
    for name, kind in names.items():
        if kind == "counter":
            assert not name.endswith("_total")  # the parser strips it: the exposition has name_total
            assert f"# TYPE {name}_total counter" in text
        if kind == "histogram":
            assert name.endswith("_seconds"), name
    for family in families:
        for sample in family.samples:
            assert not (set(sample.labels) & UNBOUNDED), (family.name, sample.labels)
    assert {
        "truss_http_requests",
        "truss_upstream_requests",
        "truss_bridge_steps",
        "truss_audit_outbox_events",
        "truss_http_request_own_seconds",
        "truss_http_request_upstream_seconds",
    } <= set(names)


# --- Requests ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_counts_requests_by_route_name_with_own_and_upstream_time(
    settings: Any, rsps: responses.RequestsMock
) -> None:
    settings.HYDRA_ADMIN_URL, settings.KRATOS_ADMIN_URL = HYDRA, KRATOS
    rsps.get(f"{HYDRA}/health/ready", json={"status": "ok"})
    rsps.get(f"{KRATOS}/admin/health/ready", json={"status": "ok"})
    before = {
        "count": value("truss_http_requests_total", route="readyz", method="GET", status="200"),
        "own": value("truss_http_request_own_seconds_count", route="readyz"),
        "upstream": value("truss_http_request_upstream_seconds_sum", route="readyz"),
        "unmatched": value("truss_http_requests_total", route="unmatched", method="GET", status="404"),
    }
    assert Client().get("/readyz").status_code == 200
    assert Client().get("/no/such/page?login_challenge=abc").status_code == 404
    assert (
        value("truss_http_requests_total", route="readyz", method="GET", status="200") == before["count"] + 1
    )
    assert value("truss_http_request_own_seconds_count", route="readyz") == before["own"] + 1
    assert value("truss_http_request_upstream_seconds_sum", route="readyz") > before["upstream"]
    assert (
        value("truss_http_requests_total", route="unmatched", method="GET", status="404")
        == before["unmatched"] + 1
    )


@pytest.mark.django_db
def test_it_counts_throttle_refusals(settings: Any) -> None:
    settings.LOGIN_FAILURES_PER_IP = 1
    cache.clear()
    User.objects.create_user("alice", password="the-right-password-1")
    before = value("truss_throttle_refusals_total", route="login")
    client = Client(REMOTE_ADDR="203.0.113.9")
    assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": "alice", "password": "wrong"}).status_code == 429
    assert value("truss_throttle_refusals_total", route="login") == before + 1
    cache.clear()


# --- Upstream calls ----------------------------------------------------------------------------------------------


def test_it_counts_upstream_calls_by_operation_status_and_unavailability(
    settings: Any, rsps: responses.RequestsMock
) -> None:
    settings.HYDRA_ADMIN_URL, settings.KRATOS_PUBLIC_URL = HYDRA, KRATOS
    rsps.get(f"{HYDRA}/admin/oauth2/auth/requests/login", status=404, json={"error": "not_found"})
    rsps.get(f"{KRATOS}/sessions/whoami", body=requests.ConnectTimeout())
    rsps.get(f"{HYDRA}/admin/oauth2/auth/requests/consent", status=502)
    labels = {"service": "Hydra", "operation": "get_login_request", "status": "404"}
    before = (
        value("truss_upstream_requests_total", **labels),
        value(
            "truss_upstream_request_duration_seconds_count", service="Hydra", operation="get_login_request"
        ),
        value("truss_upstream_requests_total", service="Kratos", operation="whoami", status="timeout"),
        value("truss_upstream_unavailable_total", service="Kratos", reason="timeout"),
        value("truss_upstream_unavailable_total", service="Hydra", reason="server_error"),
    )
    with pytest.raises(hydra.HydraNotFound):
        hydra.get_login_request("a-challenge-that-is-never-a-label")
    with pytest.raises(kratos.KratosUnavailable):
        kratos.whoami("ory_kratos_session=x")
    with pytest.raises(hydra.HydraUnavailable):
        hydra.get_consent_request("another-challenge")
    after = (
        value("truss_upstream_requests_total", **labels),
        value(
            "truss_upstream_request_duration_seconds_count", service="Hydra", operation="get_login_request"
        ),
        value("truss_upstream_requests_total", service="Kratos", operation="whoami", status="timeout"),
        value("truss_upstream_unavailable_total", service="Kratos", reason="timeout"),
        value("truss_upstream_unavailable_total", service="Hydra", reason="server_error"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [
        1,
        1,
        1,
        1,
        1,
    ]  # a retried read counts once


def test_it_names_a_call_made_outside_the_clients_other(rsps: responses.RequestsMock) -> None:
    from truss.ory import http

    rsps.get(f"{HYDRA}/x", json={})
    service = hydra._SERVICE
    before = value("truss_upstream_requests_total", service="Hydra", operation="other", status="200")
    http.request(service, "GET", f"{HYDRA}/x")
    assert (
        value("truss_upstream_requests_total", service="Hydra", operation="other", status="200") == before + 1
    )


# --- Bridge steps and operations, from their audit events -------------------------------------------------------

STEPS = [
    ("bridge.login.accept", "success", "", ("login", "accepted")),
    ("bridge.login.accept", "success", "remembered by Hydra, Kratos session confirmed", ("login", "skipped")),
    (
        "bridge.login.reject",
        "success",
        "login_required (prompt=none; no Kratos session)",
        ("login", "denied"),
    ),
    ("bridge.login.forget_remembered", "success", "", ("login", "restarted")),
    # The consent decision is read from after["decision"] (below), not from the detail's text.
    ("bridge.consent.accept", "success", "skipped: client.skip_consent", ("consent", "accepted")),
    ("bridge.consent.accept", "success", "", ("consent", "accepted")),
    ("bridge.consent.accept", "failure", "replay", ("consent", "failed")),
    ("bridge.consent.view", "denied", "the browser's Kratos session does not belong", ("consent", "denied")),
    ("bridge.consent.reject", "success", "", ("consent", "denied")),
    ("bridge.consent.switch_account", "success", "", ("consent", "restarted")),
    ("bridge.device.accept", "denied", "too many wrong user codes", ("device", "denied")),
    ("bridge.device.accept", "failure", "Hydra refused the user code", ("device", "failed")),
    ("bridge.logout.accept", "success", "", ("logout", "accepted")),
    ("bridge.logout.reject", "success", "", ("logout", "denied")),
    ("bridge.logout.subject", "success", "", None),  # an operator's action, not a step of the bridge
    ("oauth2.client.create", "success", "", None),
]


@pytest.mark.parametrize(("action", "outcome", "detail", "step"), STEPS)
def test_it_classifies_bridge_steps(action: str, outcome: str, detail: str, step: Any) -> None:
    assert metrics.bridge_step(action, outcome, detail) == step


@pytest.mark.parametrize(
    ("decision", "step"),
    [
        (audit.ConsentDecision.ACCEPTED, "accepted"),
        (audit.ConsentDecision.REMEMBERED, "skipped"),
        (audit.ConsentDecision.SKIPPED, "skipped"),
        (None, "accepted"),
    ],
)
def test_it_reads_the_consent_decision_from_the_events_data(decision: Any, step: str) -> None:
    after = {"decision": decision} if decision is not None else None
    assert metrics.bridge_step("bridge.consent.accept", "success", "", after) == ("consent", step)


@pytest.mark.django_db
def test_it_counts_chained_events_once_committed(
    tenant: Tenant, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    before = {
        "login": value("truss_bridge_steps_total", kind="login", outcome="accepted"),
        "denied": value("truss_bridge_steps_total", kind="consent", outcome="denied"),
        "jobs": value("truss_consent_jobs_total", event="finished"),
        "people": value("truss_consent_job_people_total", outcome="revoked"),
        "janitor": value("truss_janitor_runs_total", outcome="success"),
        "rows": value("truss_janitor_rows_removed_total", kind="refresh_token"),
        "trusts": value("truss_trust_expiries_total"),
    }
    with django_capture_on_commit_callbacks(execute=True):
        audit.record(None, "bridge.login.accept", tenant=tenant, actor="identity:x", target="client-1")
        audit.record(None, "bridge.consent.view", tenant=tenant, outcome="denied", actor="anonymous")
        audit.record(
            None,
            "consent.client.revoke_all",
            tenant=tenant,
            actor="system",
            after={"revoked": 7, "failed": 1, "seconds": 2.0},
        )
        audit.record(
            None,
            "oauth2.tokens.flush",
            tenant=None,
            actor="system",
            after={"access_tokens_removed": 5, "refresh_tokens_removed": 3},
        )
        audit.record(None, "oauth2.trust.expire", tenant=tenant, actor="system")
    assert value("truss_bridge_steps_total", kind="login", outcome="accepted") == before["login"] + 1
    assert value("truss_bridge_steps_total", kind="consent", outcome="denied") == before["denied"] + 1
    assert value("truss_consent_jobs_total", event="finished") == before["jobs"] + 1
    assert value("truss_consent_job_people_total", outcome="revoked") == before["people"] + 7
    assert value("truss_janitor_runs_total", outcome="success") == before["janitor"] + 1
    assert value("truss_janitor_rows_removed_total", kind="refresh_token") == before["rows"] + 3
    assert value("truss_trust_expiries_total") == before["trusts"] + 1


@pytest.mark.django_db
def test_it_counts_nothing_that_is_rolled_back(
    tenant: Tenant, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    from django.db import transaction

    before = value("truss_bridge_steps_total", kind="logout", outcome="accepted")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):  # noqa: SIM117
        with transaction.atomic():
            audit.record(None, "bridge.logout.accept", tenant=tenant, actor="identity:x")
            raise RuntimeError("the chain's savepoint rolls back")
    assert value("truss_bridge_steps_total", kind="logout", outcome="accepted") == before


# --- The outbox, the refusals the audit log does not chain, the drainer ------------------------------------------


@pytest.mark.django_db
def test_it_reads_the_outbox_depth_and_oldest_age_at_scrape_time(settings: Any, client: Client) -> None:
    settings.METRICS_TOKEN = TOKEN
    AuditOutbox.objects.all().delete()
    text = scrape(client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert "truss_audit_outbox_events 0.0" in text and "truss_audit_outbox_oldest_age_seconds 0.0" in text
    for _ in range(3):
        AuditOutbox.objects.create(chain="global", event={})
    AuditOutbox.objects.update(created_at=timezone.now() - timedelta(seconds=90))
    found = {
        f.name: f.samples[0].value
        for f in text_string_to_metric_families(metrics.exposition().decode())
        if f.name.startswith("truss_audit_outbox")
    }
    assert found["truss_audit_outbox_events"] == 3
    assert 90 <= found["truss_audit_outbox_oldest_age_seconds"] < 120


def test_it_exports_refusals_counted_instead_of_chained(client: Client) -> None:
    labels = {"action": "bridge.consent.accept", "reason": "403"}
    before = value("truss_audit_refusals_not_chained_total", **labels)
    audit.not_chained("bridge.consent.accept", "403")
    audit.not_chained("bridge.consent.accept", "403")
    assert (
        value("truss_audit_refusals_not_chained_total", **labels) == before + 2
    )  # counted at once, no request
    client.get("/healthz")
    assert value("truss_audit_refusals_not_chained_total", **labels) == before + 2


def test_it_counts_drain_failures() -> None:
    before = value("truss_audit_drain_failures_total")
    metrics.audit_drain_failed()
    assert value("truss_audit_drain_failures_total") == before + 1
