"""The client's ledger search: an email nobody has is an empty answer (on PostgreSQL too), found with the same
queries as for a person who has no consent with the client; text no subject can hold is a 400."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oauth2_admin.consents.models import LedgerEntry

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _entry(tenant, client_id: str, subject: str) -> LedgerEntry:
    at = "2025-01-01T00:00Z"
    return LedgerEntry.objects.create(
        tenant=tenant,
        client_id=client_id,
        subject=subject,
        decision="accepted",
        state="active",
        scopes=["openid"],
        first_at=at,
        last_at=at,
    )


def test_it_answers_an_email_without_an_identity_with_an_empty_page(console, tenant, make_app, make_identity):
    app = make_app(tenant, client_name="Ledger App")
    person = make_identity()
    _entry(tenant, app["client_id"], person["id"])
    viewer = console("viewer")
    url = f"/console/consents/clients/{app['client_id']}/"

    nobody = viewer.get(url, {"q": "nobody@example.test"})
    assert nobody.status_code == 200, nobody.content[:300]
    assert "Nobody matching" in nobody.content.decode() and person["id"] not in nobody.content.decode()
    found = viewer.get(url, {"q": person["email"].upper()})
    assert found.status_code == 200 and person["id"] in found.content.decode()
    partial = viewer.get(url, {"q": "nobody@example.test"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "Nobody matching" in partial.content.decode()


def test_it_refuses_a_search_text_with_a_nul_character(console, tenant, make_app):
    app = make_app(tenant)
    url = f"/console/consents/clients/{app['client_id']}/"
    for q in ("a\x00b", "x\x00@example.test"):
        answer = console("viewer").get(url, {"q": q})
        assert answer.status_code == 400 and "NUL character" in answer.content.decode()
    found = console("viewer").get("/console/consents/", {"q": "x\x00@example.test"})
    assert found.status_code == 400 and "NUL character" in found.content.decode()


def test_it_searches_for_an_unknown_email_with_the_same_queries_as_for_someone_elses_person(
    console, tenant, other_tenant, make_app, make_identity
):
    """Kratos identities are shared by every tenant: whether an address has one must not show, not even in
    what the database is asked."""
    app = make_app(tenant)
    theirs = make_identity()
    _entry(other_tenant, app["client_id"], theirs["id"])
    viewer = console("viewer")
    url = f"/console/consents/clients/{app['client_id']}/"
    viewer.get(url)  # session, tenant and caches warm

    def statements(q: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            page = viewer.get(url, {"q": q})
        assert page.status_code == 200 and "Nobody matching" in page.content.decode()
        # What the page asks of the consent tables (the session's own writes come and go with its age).
        return [
            q["sql"].split(" WHERE ")[0] for q in queries.captured_queries if "console_consents" in q["sql"]
        ]

    nobody = statements("nobody-at-all@example.test")
    assert nobody == statements(theirs["email"])
    assert any("ledgerentry" in sql for sql in nobody)
