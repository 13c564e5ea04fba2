"""In Chromium: the audit log shows a person by email (linked to their page, the id in the tooltip) and a
bridge step's client by name, and passes axe. With TRUSS_SHOTS=<dir> it saves a screenshot of the page."""

from __future__ import annotations

import pytest

from oauth2_admin.clients import service as clients
from tests.bridge.test_browser import assert_accessible
from tests.clients.test_home_names import consented
from tests.console.test_nav_browser import shot
from tests.hygiene.conftest import CLEAN
from truss import audit
from truss.audit import Action

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_shows_a_resolved_email_in_the_audit_log(
    page, ory, live_server, signed_in_as, make_operator, tenant, make_identity
):
    client, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    jane = make_identity()
    consented(tenant, jane["id"])
    audit.record(
        None, "bridge.login.accept", tenant=tenant, actor=f"identity:{jane['id']}", target=client.client_id
    )
    audit.record(None, Action.CONSENT_REVOKE, tenant=tenant, actor="user:ada", target=jane["id"])
    signed_in_as(make_operator(tenant, "viewer", username="vic"), start="/console/")

    page.click("nav >> text=Audit log")
    page.wait_for_selector("h1:has-text('Audit log')")
    email = jane["traits"]["email"]
    actor = page.locator(f"td.ref a[title='identity:{jane['id']}']")
    target = page.locator(f"td.ref a[title='{jane['id']}']")
    assert actor.inner_text() == email and target.inner_text() == email
    named = page.locator(f"td.ref a[title='{client.client_id}']")  # the client's creation and the sign-in
    assert set(named.all_inner_texts()) == {"Demo web app"}
    assert_accessible(page)
    shot(page, "audit_log")
    assert target.get_attribute("href") == f"/console/consents/people/{jane['id']}/"
