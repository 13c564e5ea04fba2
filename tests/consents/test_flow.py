"""Through the real bridge: the ledger follows consent decisions, and a revoked consent is asked for again."""

from __future__ import annotations

import pytest

from oauth2_admin.consents.models import LedgerEntry, ScopeCount

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_asks_for_consent_again_after_a_per_client_revoke_and_keeps_the_ledger(
    browser_for, make_app, make_identity, tenant, console, in_hydra, active, live_bridge
):
    person, app, browser = make_identity(), make_app(tenant), browser_for()
    auth, login_page = browser.authorize(app["client_id"], scope="openid email offline_access")
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    result = browser.callback(browser.answer_consent(consent_page, remember=True))
    tokens = browser.tokens(app["client_id"], result["code"], auth)
    _, again = browser.authorize(app["client_id"], scope="openid email offline_access")
    browser.callback(again)  # remembered: straight back, no consent screen

    entry = LedgerEntry.objects.get(tenant=tenant, client_id=app["client_id"], subject=person["id"])
    assert (entry.state, entry.decision, entry.granted_count) == ("active", "remembered", 2)
    assert entry.scopes == ["openid", "email", "offline_access"] and entry.remembered
    assert ScopeCount.objects.get(tenant=tenant, client_id=app["client_id"], scope="email").people == 1

    answer = console("member").delete(f"/api/hydra/consent/{person['id']}?client={app['client_id']}")
    assert answer.status_code == 200
    assert in_hydra(person["id"]) == []
    assert not active(tokens["refresh_token"])
    entry.refresh_from_db()
    assert entry.state == "revoked"
    assert ScopeCount.objects.get(tenant=tenant, client_id=app["client_id"], scope="email").people == 0

    _, asked = browser.authorize(app["client_id"], scope="openid email offline_access")
    assert asked.status_code == 200 and "/api/hydra/bridge/consent" in asked.url
    assert app["client_name"] in asked.text
    browser.callback(browser.answer_consent(asked, action="reject"))
    entry.refresh_from_db()
    assert (entry.state, entry.decision, entry.denied_count) == ("revoked", "denied", 1)
