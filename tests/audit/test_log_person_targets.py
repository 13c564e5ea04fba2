"""The audit log never asks Hydra about the target of a person's action (a consent revoked, a subject logged
out): it is a Kratos identity id, named as a person or left as an id, never a client."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from tests.fixtures.ory import client_gets
from truss import audit
from truss.audit import Action

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_sends_no_client_lookup_for_the_targets_of_peoples_actions(ory, tenant, console, ory_sent):
    subjects = [str(uuid.uuid4()) for _ in range(3)]
    for subject in subjects:
        audit.record(None, Action.CONSENT_REVOKE, tenant=tenant, actor="user:alice", target=subject)
    audit.record(None, Action.LOGOUT_SUBJECT, tenant=tenant, actor="user:alice", target=subjects[0])
    audit.record(None, Action.LOGIN_ACCEPT, tenant=tenant, actor="system", target="some-client-id")
    ory_sent.clear()

    html = console("viewer").get(reverse("console:audit:log")).content.decode()
    filtered = console("viewer").get(reverse("console:audit:log") + "?action=consent.revoke").content.decode()

    assert all(s in html and s in filtered for s in subjects)
    # Only the bridge step's target may be a client: one GET, for the unfiltered page.
    assert client_gets(ory_sent) == ["/admin/clients/some-client-id"]
