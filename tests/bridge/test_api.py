"""The bridge's JSON consent API refuses, and audits, what never reaches a flow."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from truss.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("path", "action"), [("accept", "bridge.consent.accept"), ("reject", "bridge.consent.reject")]
)
def test_it_audits_a_consent_decision_without_a_csrf_token_as_denied(settings, path, action):
    settings.HYDRA_ADMIN_URL = "http://127.0.0.1:9"  # never reached: the CSRF check comes first
    response = Client(enforce_csrf_checks=True).post(
        f"/api/hydra/bridge/consent/{path}",
        json.dumps({"challenge": "a" * 40}),
        content_type="application/json",
    )
    assert response.status_code == 403 and "X-CSRFToken" in response.json()["message"]
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.actor) == (action, "denied", "anonymous")


def test_it_audits_a_malformed_consent_decision_once(client):
    response = client.post(
        "/api/hydra/bridge/consent/accept", '{"challenge": "<script>"}', content_type="application/json"
    )
    assert response.status_code == 400 and "challenge" in response.json()["fields"]
    assert AuditEvent.objects.get().outcome == "failure"
