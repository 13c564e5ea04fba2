"""In Chromium: a client's people list and the Consent page's summary show names people recognise (the person's
email, the client's name) with the raw id in the tooltip, each linked to its page."""

from __future__ import annotations

import pytest
from django.utils import timezone

from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import LedgerEntry, ScopeCount

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_shows_the_people_of_a_client_by_email_in_the_browser(
    page, live_server, signed_in_as, make_operator, tenant, make_app, make_identity
):
    app = make_app(tenant, client_name="Named App")
    person = make_identity()
    now = timezone.now()
    LedgerEntry.objects.create(
        tenant=tenant,
        client_id=app["client_id"],
        subject=person["id"],
        decision="accepted",
        state="active",
        first_at=now,
        last_at=now,
    )
    ScopeCount.objects.create(tenant=tenant, client_id=app["client_id"], scope=ledger.PEOPLE, people=1)
    email = person["traits"]["email"]
    signed_in_as(make_operator(tenant, "viewer", username="vic"), start="/console/")

    page.goto(f"{live_server.url}/console/consents/")
    client_link = page.locator(f"a[data-id='{app['client_id']}']")
    assert client_link.inner_text() == "Named App"
    assert client_link.get_attribute("title") == app["client_id"]
    client_link.click()

    page.wait_for_selector(f"a[title='{person['id']}']")
    link = page.locator(f"a[title='{person['id']}']")
    assert link.inner_text() == email
    assert link.get_attribute("href") == f"/console/consents/people/{person['id']}/"
    assert person["id"] not in page.inner_text("main")  # the id is in the tooltip, not in the text
