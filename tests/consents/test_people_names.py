"""The people who authorised a client are shown by email where the tenant may see it (truss/names.py)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from oauth2_admin.consents.models import LedgerEntry

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_lists_the_people_by_email_with_the_id_in_the_tooltip(console, tenant, make_app, make_identity):
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

    html = console("viewer").get(f"/console/consents/clients/{app['client_id']}/").content.decode()

    email = person["traits"]["email"]
    assert f'title="{person["id"]}"' in html and f">{email}</a>" in html
    assert f"/console/consents/people/{person['id']}/" in html
