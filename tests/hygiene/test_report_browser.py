"""The report's progress fragment in Debian's Chromium: an unchecked fleet is walked by the page's polls, and the
page reloads its results once the walk is done, with htmx attributes only (no CSP violation: the page fixture
fails on any)."""

from __future__ import annotations

import pytest

from oauth2_admin.hygiene import freshness, snapshot
from oauth2_admin.hygiene.models import SnapshotRefresh
from tests.hygiene.test_sweep_scale import fleet_of
from truss.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_polls_the_walk_to_its_end_and_reloads_the_results(
    signed_in_as, live_server, ory, tenant, make_operator, monkeypatch
):
    fleet_of(ory, tenant, 30)
    monkeypatch.setattr(snapshot, "PAGE_SIZE", 10)
    monkeypatch.setattr(freshness, "POLL_PAGE", 10)
    page = signed_in_as(make_operator(tenant, Role.VIEWER, username="vic"), start="/console/")
    page.goto(f"{live_server.url}/console/hygiene/")
    assert "(first view): 10 of about" in page.inner_text("#hygiene-progress")
    assert "Not current" in page.inner_text("#hygiene-results")
    # The polls walk the rest; the one that ends the walk makes the page reload its results, current now.
    page.wait_for_selector("#hygiene-results p.muted:has-text('30 clients · ')", timeout=15_000)
    assert "Not current" not in page.inner_text("#hygiene-results")
    assert page.locator("#hygiene-progress").count() == 0
    assert SnapshotRefresh.objects.get(tenant=tenant).clients == 30
    assert page.locator("#hygiene-table tbody tr").count() == 30
    assert page.locator("#hygiene-results").count() == 1 and page.locator("#hygiene-table").count() == 1
    with page.expect_response(lambda r: "sort=name" in r.url):
        page.select_option("#id_sort", "name")
    page.wait_for_timeout(200)  # the swap follows the response
    assert page.locator("#hygiene-table").count() == 1  # replaced, not nested in the old one
    assert page.locator("#hygiene-table tbody tr").count() == 30
