"""The Consent page's summary names each client (truss/names.py: one Hydra list call), the id in the tooltip."""

from __future__ import annotations

import pytest

from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import ScopeCount

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_names_the_clients_people_authorised_and_keeps_the_id_of_one_hydra_no_longer_has(
    console, tenant, make_app
):
    app = make_app(tenant, client_name="Named App")
    ScopeCount.objects.create(tenant=tenant, client_id=app["client_id"], scope=ledger.PEOPLE, people=3)
    ScopeCount.objects.create(tenant=tenant, client_id="gone-client-0001", scope=ledger.PEOPLE, people=1)

    html = console("viewer").get("/console/consents/").content.decode()

    people_url = f"/console/consents/clients/{app['client_id']}/"
    assert (
        f'<a href="{people_url}" title="{app["client_id"]}" data-id="{app["client_id"]}">Named App</a>'
        in html
    )
    assert ">gone-client-0001</a>" in html  # deleted in Hydra: the raw id, still linked to its ledger
