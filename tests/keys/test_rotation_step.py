"""The keys console's rotation step: the posted step picks one of a fixed set of actions; anything else is a
refused form audited under one fixed action, never an action made of the input."""

from __future__ import annotations

import pytest

from truss.audit import Action
from truss.models import AuditEvent

pytestmark = pytest.mark.django_db

UNKNOWN_STEPS = ["promote.now", "evil" * 30, "", "PROMOTE"]


@pytest.mark.parametrize("step", UNKNOWN_STEPS)
def test_it_refuses_an_unknown_step_under_one_fixed_action(platform_admin, step):
    response = platform_admin.post("/console/jwks/rotations/1", {"action": step})
    assert response.status_code == 302
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.target) == (Action.KEY_ROTATION_STEP, "failure", "")
    assert "action" in event.detail


def test_it_refuses_a_post_without_a_step_under_the_same_action(platform_admin):
    assert platform_admin.post("/console/jwks/rotations/1", {}).status_code == 302
    assert AuditEvent.objects.get().action == Action.KEY_ROTATION_STEP


@pytest.mark.parametrize(
    ("step", "action"),
    [
        ("promote", Action.KEY_ROTATION_PROMOTE),
        ("retire", Action.KEY_ROTATION_RETIRE),
        ("cancel", Action.KEY_ROTATION_CANCEL),
        ("retire.later", Action.KEY_ROTATION_STEP),
    ],
)
def test_a_viewers_step_is_denied_under_the_steps_action(console, step, action):
    response = console("viewer").post("/console/jwks/rotations/1", {"action": step})
    assert response.status_code == 403
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.target) == (action, "denied", "rotation:1")
