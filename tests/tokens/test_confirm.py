"""Revoke and cleanup ask first: one click shows a confirmation page that states what goes with the token (by
token type) or what the janitor will delete; nothing changes in Hydra until it is confirmed."""

from __future__ import annotations

from typing import Any

import pytest

from oauth2_admin.tokens.models import JanitorRun
from tests.tokens.conftest import cc_token, introspect_at_hydra
from truss.devstack import binary
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLEANUP = {
    "tokens": "on",
    "access_lifespan": "2h",
    "refresh_lifespan": "720h",
    "consent_request_lifespan": "45m",
    "keep_if_younger": "10m",
    "limit": "5000",
    "batch_size": "100",
}


def test_it_asks_before_deleting_every_access_token_of_a_client(
    ory: Any, console: Any, cc_client: Any
) -> None:
    app = cc_client(client_name="Billing worker")
    token, other = cc_token(ory, app), cc_token(ory, app)
    member = console("member")
    asked = member.post("/console/tokens/revoke", {"token": token})
    assert asked.status_code == 200 and asked["Cache-Control"] == "no-store"
    text = asked.content.decode()
    assert "Delete every access token of “Billing worker”?" in text
    assert "client-credentials token" in text and "EVERY access token of “Billing worker”" in text
    assert 'name="confirmed" value="True"' in text and 'name="confirm"' in text  # type the name
    assert introspect_at_hydra(ory, token)["active"] is True  # nothing revoked yet, at the real Hydra
    assert introspect_at_hydra(ory, other)["active"] is True
    assert not AuditEvent.objects.filter(action="oauth2.token.revoke").exists()

    wrong = member.post("/console/tokens/revoke", {"token": token, "confirmed": "True", "confirm": "Billing"})
    assert wrong.status_code == 400 and "Type “Billing worker” exactly" in wrong.content.decode()
    assert (
        introspect_at_hydra(ory, token)["active"] is True
        and introspect_at_hydra(ory, other)["active"] is True
    )
    assert AuditEvent.objects.get(action="oauth2.token.revoke").outcome == "failure"  # the refusal, once

    done = member.post(
        "/console/tokens/revoke", {"token": token, "confirmed": "True", "confirm": "Billing worker"}
    )
    assert done.status_code == 200 and "Token revoked" in done.content.decode()
    assert introspect_at_hydra(ory, token) == {"active": False}
    assert introspect_at_hydra(ory, other) == {"active": False}  # the blast radius the page stated
    outcomes = AuditEvent.objects.filter(action="oauth2.token.revoke").values_list("outcome", flat=True)
    assert sorted(outcomes) == ["failure", "success"]


def test_it_states_a_users_consent_as_the_blast_radius(
    user_tokens: Any, console: Any, live_bridge: Any
) -> None:
    tokens = user_tokens()
    asked = console("member").post("/console/tokens/revoke", {"token": tokens["access_token"]})
    text = asked.content.decode()
    assert f"Revoke {tokens['person']['email']}" in text and "consent for" in text
    assert "Every access and refresh token Hydra issued to" in text
    assert introspect_at_hydra(live_bridge, tokens["access_token"])["active"] is True


def test_it_states_this_grant_for_a_public_client(user_tokens: Any, console: Any, live_bridge: Any) -> None:
    tokens = user_tokens(public=True)
    text = (
        console("member").post("/console/tokens/revoke", {"token": tokens["refresh_token"]}).content.decode()
    )
    assert "Revoke this refresh token of" in text and "public client" in text
    assert introspect_at_hydra(live_bridge, tokens["refresh_token"])["active"] is True


def test_it_answers_an_unknown_token_like_a_missing_one_without_asking(ory: Any, console: Any) -> None:
    response = console("member").post("/console/tokens/revoke", {"token": "ory_at_nothing.here"})
    assert response.status_code == 404 and 'name="confirmed"' not in response.content.decode()


@pytest.fixture
def platform_admin(console: Any, tenant: Any, ory: Any, settings: Any) -> Any:
    from django.contrib.auth.models import User

    settings.HYDRA_JANITOR_DSN = ory._dsn("hydra")
    settings.HYDRA_BIN = str(binary("hydra"))
    admin = console("admin")
    User.objects.filter(memberships__tenant=tenant).update(is_superuser=True)
    return admin


def test_it_says_what_the_cleanup_will_delete_before_running_it(platform_admin: Any) -> None:
    asked = platform_admin.post("/console/tokens/cleanup", CLEANUP)
    assert asked.status_code == 200
    text = asked.content.decode()
    assert "Delete these rows from Hydra&#x27;s database?" in text and "every tenant" in text
    assert "Access tokens issued more than 2h ago (none issued in the last 10m)" in text
    assert "Refresh tokens issued more than 720h ago" in text and "At most 5,000 rows per table" in text
    assert "Login and consent requests" not in text  # not chosen
    assert "Hydra cannot tell beforehand" in text
    assert 'name="confirmed" value="True"' in text and 'name="access_lifespan" value="2h"' in text
    assert (
        not JanitorRun.objects.exists()
        and not AuditEvent.objects.filter(action="oauth2.tokens.flush").exists()
    )

    done = platform_admin.post(
        "/console/tokens/cleanup", {**CLEANUP, "requests": "False", "confirmed": "True"}
    )
    assert done.status_code == 200 and "Cleanup finished" in done.content.decode()
    run = JanitorRun.objects.get()
    assert run.options["access_lifespan"] == "2h" and run.options["keep_if_younger"] == "10m"
    assert run.options["requests"] is False
