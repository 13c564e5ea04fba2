"""Log lines: one per request (method, route name, status, duration, tenant, actor, request id), plain by default,
JSON with LOG_FORMAT=json, secrets redacted in both."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import responses
from django.test import Client

from tests.fixtures.second_process import ROOT, child_env
from truss.models import Tenant

HYDRA = "http://127.0.0.1:9"
CHALLENGE = "c0ffee" * 10


@pytest.mark.django_db
def test_it_logs_the_route_name_never_the_path_with_its_challenge(
    settings: Any, rsps: responses.RequestsMock, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    settings.HYDRA_ADMIN_URL = HYDRA
    rsps.get(f"{HYDRA}/admin/oauth2/auth/requests/login", status=404, json={"error": "not_found"})
    response = Client(REMOTE_ADDR="203.0.113.7").get(f"/api/hydra/bridge/login?login_challenge={CHALLENGE}")
    assert response.status_code in (400, 404, 410)
    [line] = [line for line in log_lines() if line["logger"] == "truss.request"]
    assert line == {
        "time": line["time"],
        "level": "INFO",
        "logger": "truss.request",
        "message": line["message"],
        "request_id": response["X-Request-ID"],
        "pid": line["pid"],
        "method": "GET",
        "route": "bridge:login",
        "status": response.status_code,
        "duration_ms": line["duration_ms"],
        "tenant": None,
        "actor": "anonymous",  # nobody signed in to Truss (the error page asked)
        "client_ip": "203.0.113.7",
    }
    assert line["time"].endswith("Z") and line["duration_ms"] > 0
    assert CHALLENGE not in json.dumps(log_lines())


@pytest.mark.django_db
def test_it_logs_the_tenant_and_the_operator_of_a_console_page(
    console: Callable[..., Client], tenant: Tenant, log_lines: Callable[[], list[dict[str, Any]]]
) -> None:
    client = console("viewer")
    response = client.get("/console/audit/")
    assert response.status_code == 200
    [line] = [line for line in log_lines() if line["logger"] == "truss.request"]
    assert (line["route"], line["status"], line["tenant"]) == ("console:audit:log", 200, tenant.slug)
    assert line["actor"].startswith("user:op-")


def run_logging(log_format: str | None) -> list[str]:
    """A process on the real settings (LOG_FORMAT as given) that serves one request, logs a secret and an
    exception whose text holds one; its stderr lines."""
    script = (
        "import django, logging; django.setup()\n"
        "from django.test import Client\n"
        "Client().get('/healthz', HTTP_X_REQUEST_ID='ignored-untrusted')\n"
        "log = logging.getLogger('truss.test')\n"
        "log.warning('calling with client_secret=s3cr3t-value and Bearer abc.def.ghi')\n"
        "try:\n"
        "    raise ValueError('password=hunter2-hunter2')\n"
        "except ValueError:\n"
        "    log.exception('it failed')\n"
    )
    extra = {"LOG_FORMAT": log_format} if log_format else {}
    env = child_env(DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL="sqlite:///:memory:", **extra)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()


def test_it_writes_one_json_object_per_line_with_secrets_redacted() -> None:
    lines = run_logging("json")
    records = [json.loads(line) for line in lines]  # every line is JSON (a traceback included)
    request = next(r for r in records if r["logger"] == "truss.request")
    assert (request["method"], request["route"], request["status"]) == ("GET", "healthz", 200)
    assert len(request["request_id"]) == 32 and request["request_id"] != "ignored-untrusted"
    secret = next(r for r in records if r["message"].startswith("calling"))
    assert secret["message"] == "calling with client_secret=[redacted] and Bearer [redacted]"
    assert secret["request_id"] == "-"  # outside a request
    failed = next(r for r in records if r["message"] == "it failed")
    assert "ValueError: password=[redacted]" in failed["exc"]
    text = "\n".join(lines)
    assert "s3cr3t-value" not in text and "hunter2" not in text and "abc.def.ghi" not in text


def test_it_writes_plain_lines_with_the_request_id_by_default() -> None:
    lines = run_logging(None)
    request = next(line for line in lines if " truss.request " in line)
    assert " GET healthz 200 " in request
    rid = request.split("[", 1)[1].split("]", 1)[0]
    assert len(rid) == 32
    assert any("truss.test [-] calling with client_secret=[redacted]" in line for line in lines)
    assert not any(line.startswith("{") for line in lines)


def test_it_refuses_an_unknown_log_format() -> None:
    env = child_env(DJANGO_SETTINGS_MODULE="tests.settings", LOG_FORMAT="xml")
    done = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0 and "LOG_FORMAT: 'xml' is neither 'plain' nor 'json'" in done.stderr
