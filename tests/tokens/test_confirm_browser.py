"""In Debian's Chromium: one click on "Revoke token…" revokes nothing; the confirmation page states the blast
radius, Cancel keeps the token, and only the confirmation revokes it (checked at the real Hydra)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tokens.conftest import cc_token, introspect_at_hydra

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _introspect(page: Any, token: str) -> None:
    page.fill("#id_token", token)
    page.click("button:has-text('Introspect')")
    page.wait_for_selector("#token-state")


def test_it_confirms_before_revoking_a_client_credentials_token(
    page: Any, live_server: Any, signed_in_as: Any, ory: Any, make_operator: Any, tenant: Any, cc_client: Any
) -> None:
    app = cc_client(client_name="Billing worker")
    token = cc_token(ory, app)
    signed_in_as(make_operator(tenant, "member", username="tia"))
    page.on("dialog", lambda dialog: pytest.fail(f"window.{dialog.type} used: {dialog.message}"))
    page.goto(f"{live_server.url}/console/tokens/")
    _introspect(page, token)

    page.click("button:has-text('Revoke token…')")  # one click
    page.wait_for_selector("h1:has-text('Delete every access token of “Billing worker”?')")
    assert "EVERY access token of “Billing worker”" in page.inner_text("#confirm-consequences")
    assert "Billing worker" in page.inner_text("#confirm-facts")
    assert page.evaluate("window.scrollY") == 0
    assert introspect_at_hydra(ory, token)["active"] is True  # still active at Hydra

    page.click("a:has-text('Cancel')")
    page.wait_for_selector("h1:has-text('Tokens')")
    assert introspect_at_hydra(ory, token)["active"] is True

    _introspect(page, token)
    page.click("button:has-text('Revoke token…')")
    page.expected_statuses.add(400)
    page.fill("#id_confirm", "Billing")  # a client-wide delete is confirmed by typing the client's name
    page.click("button:has-text('Delete all access tokens')")
    page.wait_for_selector("[data-error-summary]:has-text('Type “Billing worker” exactly')")
    assert introspect_at_hydra(ory, token)["active"] is True
    page.fill("#id_confirm", "Billing worker")
    page.click("button:has-text('Delete all access tokens')")
    page.wait_for_selector("#revoked:has-text('Token revoked')")
    assert introspect_at_hydra(ory, token) == {"active": False}
    page.wait_for_timeout(100)  # htmx settles, then the result is focused
    assert page.evaluate("document.activeElement.id") == "revoked"  # what happened, in view


def test_it_shows_what_the_cleanup_deletes_before_running_it(
    page: Any, live_server: Any, signed_in_as: Any, ory: Any, make_operator: Any, tenant: Any, settings: Any
) -> None:
    from django.contrib.auth.models import User

    from oauth2_admin.tokens.models import JanitorRun
    from truss.devstack import binary

    settings.HYDRA_JANITOR_DSN = ory._dsn("hydra")
    settings.HYDRA_BIN = str(binary("hydra"))
    admin = make_operator(tenant, "admin", username="ria")
    User.objects.filter(pk=admin.pk).update(is_superuser=True)
    signed_in_as(admin)
    page.goto(f"{live_server.url}/console/tokens/cleanup")
    page.fill("#id_access_lifespan", "3h")
    page.click("button:has-text('Review cleanup…')")  # one click
    page.wait_for_selector("h1:has-text('Delete these rows')")
    assert "Access tokens issued more than 3h ago" in page.inner_text("#confirm-consequences")
    assert not JanitorRun.objects.exists()  # nothing ran yet
    page.click("button:has-text('Run cleanup')")
    page.wait_for_selector("#last-run", timeout=40_000)
    assert JanitorRun.objects.get().options["access_lifespan"] == "3h"
