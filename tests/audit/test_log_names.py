"""The audit log names the people it shows through the one batched resolver (truss/names.py): an identity that
acted (a bridge step) or was acted on (a consent revoked) appears as their email, linked to their page, the raw
id in the tooltip; a bridge step's client by its name; someone without a consent in the tenant stays an id."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from oauth2_admin.clients import service as clients
from tests.clients.test_home_names import consented
from tests.fixtures.ory import client_gets, client_lists
from tests.hygiene.conftest import CLEAN
from truss import audit
from truss.audit import Action
from truss.ory import kratos

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_shows_people_by_email_and_a_bridge_steps_client_by_name(
    ory, tenant, console, make_identity, monkeypatch
):
    client, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    jane, stranger = make_identity(), make_identity()
    consented(tenant, jane["id"])
    audit.record(
        None, "bridge.login.accept", tenant=tenant, actor=f"identity:{jane['id']}", target=client.client_id
    )
    audit.record(None, Action.CONSENT_REVOKE, tenant=tenant, actor="user:ada", target=jane["id"])
    audit.record(None, Action.CONSENT_REVOKE, tenant=tenant, actor="user:ada", target=stranger["id"])
    calls: list[dict[str, Any]] = []
    listed = kratos.list_identities

    def counted(**kwargs: Any) -> kratos.IdentityPage:
        calls.append(kwargs)
        return listed(**kwargs)

    monkeypatch.setattr(kratos, "list_identities", counted)

    html = console("viewer").get(reverse("console:audit:log")).content.decode()

    email, person_url = jane["traits"]["email"], reverse("console:consents:person", args=[jane["id"]])
    assert f'<a href="{person_url}" title="identity:{jane["id"]}">{email}</a>' in html  # the actor
    assert f'<a href="{person_url}" title="{jane["id"]}">{email}</a>' in html  # the target
    detail_url = reverse("console:clients:detail", args=[client.client_id])
    assert f'<a href="{detail_url}" title="{client.client_id}">Demo web app</a>' in html
    assert stranger["traits"]["email"] not in html and f"<code>{stranger['id']}</code>" in html
    assert len(calls) == 1  # one Kratos call for the page


def test_it_names_the_pages_clients_by_id_without_listing_the_fleet(
    ory, tenant, other_tenant, console, ory_sent
):
    kept, _ = clients.create_for(None, tenant, {"client_name": "Kept app", **CLEAN})
    gone, _ = clients.create_for(None, tenant, {"client_name": "Gone app", **CLEAN})
    theirs, _ = clients.create_for(None, other_tenant, {"client_name": "Their app", **CLEAN})
    clients.delete_for(None, tenant, gone.client_id)
    # An event naming another tenant's client can only be forged; it must still not reveal the name.
    audit.record(None, "bridge.login.accept", tenant=tenant, actor="system", target=theirs.client_id)
    ory_sent.clear()

    html = console("viewer").get(reverse("console:audit:log")).content.decode()

    detail_url = reverse("console:clients:detail", args=[kept.client_id])
    assert f'<a href="{detail_url}" title="{kept.client_id}">Kept app</a>' in html
    assert f"client {gone.client_id[:8]}… (deleted)" in html
    assert "Their app" not in html
    assert client_lists(ory_sent) == []  # never the tenant's fleet
    assert len(client_gets(ory_sent)) == 3  # one GET per client id on the page
