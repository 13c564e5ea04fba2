"""Raw identifiers resolved to names people recognise (truss/names.py), batched per page: one Kratos call for
every identity on the page, and nothing of another tenant named."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from oauth2_admin.clients import service as clients
from oauth2_admin.consents.models import LedgerEntry
from tests.hygiene.conftest import CLEAN
from truss import apikeys, names
from truss.ory import kratos

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def consented(tenant, subject: str) -> None:
    now = timezone.now()
    LedgerEntry.objects.create(
        tenant=tenant,
        client_id=f"c-{uuid.uuid4().hex[:8]}",
        subject=subject,
        decision="accepted",
        state="active",
        first_at=now,
        last_at=now,
    )


def test_it_names_the_tenants_people_with_one_kratos_call(ory, tenant, make_identity, monkeypatch):
    people = [make_identity() for _ in range(3)]
    stranger = make_identity()  # no consent with this tenant's clients: stays an id
    for person in people:
        consented(tenant, person["id"])
    calls: list[list[str]] = []
    listed = kratos.list_identities

    def counting(**kwargs):
        calls.append(kwargs.get("ids") or [])
        return listed(**kwargs)

    monkeypatch.setattr(kratos, "list_identities", counting)
    raws = [f"identity:{p['id']}" for p in people] + [f"identity:{stranger['id']}"]
    found = names.resolve(tenant, actors=raws, subjects=[people[0]["id"]])
    assert len(calls) == 1 and len(calls[0]) == 3
    for person in people:
        name = found.of(f"identity:{person['id']}")
        assert name.label == person["traits"]["email"]
        assert name.url == reverse("console:consents:person", args=[person["id"]])
        assert f'title="identity:{person["id"]}"' in name.__html__()
    assert found.of(people[0]["id"]).label == people[0]["traits"]["email"]
    hidden = found.of(f"identity:{stranger['id']}")
    assert stranger["traits"]["email"] not in hidden.label and hidden.url == ""


def test_it_names_only_the_tenants_clients_and_keys(ory, tenant, other_tenant):
    mine, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    theirs, _ = clients.create_for(None, other_tenant, {"client_name": "Their app", **CLEAN})
    key, _ = apikeys.generate(tenant, "service_role", name="deploy bot")
    found = names.resolve(
        tenant, clients=[mine.client_id, theirs.client_id], actors=[f"apikey:{key.prefix}", "user:demo"]
    )
    assert found.of(mine.client_id).label == "Demo web app"
    assert found.of(mine.client_id).url == reverse("console:clients:detail", args=[mine.client_id])
    assert "Their app" not in found.of(theirs.client_id).label
    assert found.of(f"apikey:{key.prefix}").label == f"API key {key.prefix}… (deploy bot)"
    assert found.of("user:demo").label == "demo" and found.of("system").label == "system"


def test_it_shows_who_changed_the_client_by_name_on_its_history(ory, tenant, console):
    client, _ = clients.create_for(None, tenant, {"client_name": "Demo web app", **CLEAN})
    html = console("member").get(reverse("console:clients:history", args=[client.client_id])).content.decode()
    assert '<td><span title="system" data-id="system">system</span></td>' in html
