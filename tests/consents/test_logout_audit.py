"""`POST /api/hydra/logout` writes exactly one audit event on every refusal, as on success."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from truss.models import AuditEvent

pytestmark = pytest.mark.django_db

ACTION = "bridge.logout.subject"


def _post(client: Client, body: Any) -> Any:
    return client.post(
        "/api/hydra/logout",
        body if isinstance(body, str) else json.dumps(body),
        content_type="application/json",
    )


@pytest.mark.parametrize(
    ("role", "body", "status", "outcome"),
    [
        ("viewer", {"subject": "someone"}, 403, "denied"),
        ("member", {"subject": "someone", "end_login_sessions": True}, 403, "denied"),
        ("admin", {"subject": "someone", "end_login_sessions": True}, 403, "denied"),
        ("member", {"subject": ""}, 400, "failure"),
        ("member", {"end_login_sessions": True}, 400, "failure"),
        ("member", "{not json", 400, "failure"),
        ("viewer", "{not json", 403, "denied"),
    ],
)
def test_it_audits_each_refused_logout_once(console, tenant, settings, role, body, status, outcome):
    settings.HYDRA_ADMIN_URL = "http://127.0.0.1:9"  # never reached: every one is refused before Hydra
    answer = _post(console(role), body)
    assert answer.status_code == status, answer.content
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.tenant_id) == (ACTION, outcome, tenant.pk)
    assert event.actor.startswith("user:")


def test_it_audits_a_logout_hydra_cannot_answer_once(console, tenant, hydra_down):
    answer = _post(console("member"), {"subject": "someone"})
    assert answer.status_code == 503
    assert AuditEvent.objects.filter(action=ACTION).values_list("outcome", flat=True).get() == "failure"


def test_it_does_not_audit_a_logout_without_credentials():
    """Nobody named: a 401 is not audited (anyone could fill the log with them)."""
    answer = _post(Client(), {"subject": "someone"})
    assert answer.status_code == 401
    assert not AuditEvent.objects.exists()


def test_it_audits_an_operator_without_a_tenant_once(settings):
    settings.HYDRA_ADMIN_URL = "http://127.0.0.1:9"
    loner = Client()
    loner.force_login(User.objects.create_user("loner", password="pw-for-tests-123"))
    answer = _post(loner, {"subject": "someone"})
    assert answer.status_code == 403
    assert AuditEvent.objects.get().action == ACTION
