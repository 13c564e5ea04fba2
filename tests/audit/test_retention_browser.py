"""In Chromium: after retention, the audit log says where older events are (how many, up to when, the oldest
event left, the archive files) and passes axe. With TRUSS_SHOTS=<dir> it saves a screenshot of the page."""

from __future__ import annotations

import pytest

from tests.audit.test_retention import CUTOFF, old_events, young_events
from tests.bridge.test_browser import assert_accessible
from tests.console.test_nav_browser import shot
from truss.audit import chain_for, retention
from truss.models import AuditCut

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_shows_where_older_events_are(
    page, live_server, signed_in_as, make_operator, tenant, tmp_path, settings
):
    settings.AUDIT_ARCHIVE_DIR = str(tmp_path)
    old_events(tenant, 40)
    young_events(tenant, 3)
    retention.run(CUTOFF)
    cut = AuditCut.objects.get(chain=chain_for(tenant.pk))
    signed_in_as(make_operator(tenant, "viewer", username="vic"), start="/console/")

    page.click("nav >> text=Audit log")
    page.wait_for_selector("h1:has-text('Audit log')")
    note = page.locator("section.archived")
    assert "Older events are archived: 40 events up to" in note.inner_text()
    page.click("section.archived summary")
    assert cut.archive in page.locator("ul.archive-files").inner_text()
    assert str(tmp_path) not in page.content()  # the server's directory is for admins
    assert_accessible(page)
    shot(page, "audit_log_archived")
