"""A client's people page names each person by email (one Kratos call) without asking the ledger again whether
they have a consent in the tenant: its rows are the ledger's own (a person has one row per client)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from oauth2_admin.consents.models import LedgerEntry

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_it_names_the_people_of_the_page_without_looking_them_up_in_the_ledger_again(
    ory, tenant, console, make_identity
):
    people = [make_identity() for _ in range(3)]
    now = timezone.now()
    for client_id in ("app-1", "app-2", "app-3"):
        for person in people:
            LedgerEntry.objects.create(
                tenant=tenant,
                client_id=client_id,
                subject=person["id"],
                decision="accepted",
                state="active",
                scopes=["openid"],
                first_at=now,
                last_at=now,
            )
    viewer = console("viewer")
    with CaptureQueriesContext(connection) as queries:
        html = viewer.get(reverse("console:consents:client_people", args=["app-1"])).content.decode()
    for person in people:
        assert f'title="{person["id"]}"' in html and person["traits"]["email"] in html
    ledger_reads = [q["sql"] for q in queries if "consents_ledgerentry" in q["sql"]]
    assert ledger_reads and not [q for q in ledger_reads if '"subject" IN' in q]  # no visibility check again
