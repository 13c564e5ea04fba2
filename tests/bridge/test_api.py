"""The bridge's JSON consent API answers anyone: refusals that concern a real consent request are audited, those
that name nothing real are counted (a log line and audit.not_chained), never chained."""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.test import Client

from tests.bridge.oauth import CALLBACK
from truss import audit
from truss.models import AuditEvent

pytestmark = pytest.mark.django_db

ACTIONS = [("accept", "bridge.consent.accept"), ("reject", "bridge.consent.reject")]


def _post(path: str, body: Any, client: Client | None = None) -> Any:
    client = client or Client(enforce_csrf_checks=True)
    raw = body if isinstance(body, str) else json.dumps(body)
    return client.post(f"/api/hydra/bridge/consent/{path}", raw, content_type="application/json")


def _counted(action: str, reason: str) -> int:
    return audit.not_chained_counts().get((action, reason), 0)


@pytest.mark.parametrize(("path", "action"), ACTIONS)
def test_it_counts_a_decision_without_a_csrf_token_for_a_challenge_hydra_does_not_know(
    settings, caplog, path, action
):
    settings.HYDRA_ADMIN_URL = "http://127.0.0.1:9"  # Hydra cannot be asked: nothing real is named
    before = _counted(action, "403")
    with caplog.at_level(logging.INFO, logger="truss.audit"):
        response = _post(path, {"challenge": "a" * 40})
    assert response.status_code == 403 and "X-CSRFToken" in response.json()["message"]
    assert not AuditEvent.objects.exists()
    assert _counted(action, "403") == before + 1
    assert f"refused, not chained (names nothing real): {action} 403" in caplog.text


@pytest.mark.parametrize(("path", "action"), ACTIONS)
@pytest.mark.parametrize(
    "body", ["{}", '{"challenge": "<script>"}', "{not json", '{"challenge": "a\\u0000aaaaaaa"}']
)
def test_it_counts_a_malformed_decision_instead_of_chaining_it(settings, path, action, body):
    settings.HYDRA_ADMIN_URL = "http://127.0.0.1:9"  # never reached
    before = _counted(action, "400")
    response = _post(path, body, client=Client())
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert not AuditEvent.objects.exists()
    assert _counted(action, "400") == before + 1


@pytest.mark.integration
def test_it_does_not_let_anyone_fill_the_audit_log(ory):
    """A hundred anonymous answers, with an empty body or without a CSRF token: counted, none chained."""
    before = _counted("bridge.consent.accept", "400") + _counted("bridge.consent.accept", "403")
    started = time.perf_counter()
    answers = [_post("accept", {} if i % 2 else {"challenge": secrets.token_hex(20)}) for i in range(100)]
    took = time.perf_counter() - started
    assert {a.status_code for a in answers} == {400, 403}
    assert not AuditEvent.objects.exists()
    after = _counted("bridge.consent.accept", "400") + _counted("bridge.consent.accept", "403")
    assert after == before + 100, took


def _consent_challenge(ory: Any, client_id: str, subject: str) -> str:
    """A real consent request at Hydra, reached through its admin API (no bridge, no browser)."""
    jar = requests.Session()
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "openid",
        "state": secrets.token_urlsafe(12),
        "code_challenge": "x" * 43,
        "code_challenge_method": "S256",
    }
    hop = jar.get(f"{ory.hydra_public_url}/oauth2/auth", params=params, allow_redirects=False, timeout=10)
    login = parse_qs(urlsplit(hop.headers["Location"]).query)["login_challenge"][0]
    accepted = requests.put(
        f"{ory.hydra_admin_url}/admin/oauth2/auth/requests/login/accept",
        params={"login_challenge": login},
        json={"subject": subject},
        timeout=10,
    ).json()
    hop = jar.get(accepted["redirect_to"], allow_redirects=False, timeout=10)
    return parse_qs(urlsplit(hop.headers["Location"]).query)["consent_challenge"][0]


@pytest.mark.integration
@pytest.mark.parametrize(("path", "action"), ACTIONS)
def test_it_audits_a_decision_without_a_csrf_token_for_a_real_challenge_as_denied(
    ory, make_app, tenant, path, action
):
    app = make_app()
    challenge = _consent_challenge(ory, app["client_id"], "someone-real")
    before = _counted(action, "403")
    response = _post(path, {"challenge": challenge})
    assert response.status_code == 403
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.actor) == (action, "denied", "anonymous")
    assert (event.tenant_id, event.target) == (tenant.pk, app["client_id"])
    assert _counted(action, "403") == before


@pytest.mark.integration
def test_it_counts_a_decision_with_a_csrf_token_for_a_challenge_hydra_does_not_know(ory):
    client = Client(enforce_csrf_checks=True)
    client.get("/console/login/")  # any page hands out the CSRF cookie
    csrf = client.cookies["truss_csrftoken"].value
    before = _counted("bridge.consent.accept", "404")
    response = client.post(
        "/api/hydra/bridge/consent/accept",
        json.dumps({"challenge": "b" * 40}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert response.status_code == 404
    assert not AuditEvent.objects.exists()
    assert _counted("bridge.consent.accept", "404") == before + 1
