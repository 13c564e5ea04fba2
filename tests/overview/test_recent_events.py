"""The overview's recent audit events name what they show: the action's label, the client's name, the API key,
the person's email; the raw id stays in the tooltip."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oauth2_admin.clients import service as clients
from tests.clients.test_home_names import consented
from tests.hygiene.conftest import CLEAN
from truss import apikeys, audit
from truss.audit import Action
from truss.audit.actions import label

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_names_actors_and_targets_of_the_recent_events(ory, tenant, console, make_identity):
    client, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    key, _ = apikeys.generate(tenant, "service_role", name="deploy bot")
    person = make_identity()
    consented(tenant, person["id"])
    audit.record(
        None, Action.CLIENT_UPDATE, tenant=tenant, actor=f"apikey:{key.prefix}", target=client.client_id
    )
    audit.record(None, Action.CONSENT_REVOKE, tenant=tenant, actor="user:ada", target=person["id"])

    html = console("viewer").get(reverse("console:overview")).content.decode()

    card = html[html.index('id="events-title"') :]
    assert f'title="{client.client_id}"' in card and ">Demo web app</a>" in card
    assert f"API key {key.prefix}… (deploy bot)" in card
    assert f">{person['traits']['email']}</a>" in card and f'title="{person["id"]}"' in card
    assert label(Action.CLIENT_UPDATE) in card
    assert f"<code>{client.client_id}" not in card
