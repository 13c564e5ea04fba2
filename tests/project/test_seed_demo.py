"""`manage.py seed_demo` records what the console would have: the demo client's creation (so its history and
the secret's age start at the seed) and the demo API key's."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from oauth2_admin.hygiene import history
from oauth2_admin.hygiene import service as hygiene
from truss.audit import Action
from truss.management.commands import seed_demo
from truss.models import ApiKey, AuditEvent, Tenant
from truss.ory import hydra


def _remove_demo_clients() -> None:
    for old in hydra.list_clients(
        owner="truss:demo", client_name=seed_demo.DEMO_CLIENT_NAME, page_size=50
    ).items:
        hydra.delete_client(old.client_id)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_audits_the_seeded_client_and_api_key(ory, settings):
    settings.TRUSS_PUBLIC_URL = "http://127.0.0.1:8000"
    _remove_demo_clients()
    try:
        call_command("seed_demo", stdout=io.StringIO())
        tenant = Tenant.objects.get(slug="demo")
        client = hydra.list_clients(
            owner="truss:demo", client_name=seed_demo.DEMO_CLIENT_NAME, page_size=1
        ).items[0]
        created = AuditEvent.objects.get(tenant=tenant, action=Action.CLIENT_CREATE, target=client.client_id)
        assert created.outcome == "success" and created.actor == "cli"
        assert (
            created.after["client_name"] == seed_demo.DEMO_CLIENT_NAME
            and "client_secret" not in created.after
        )
        key = ApiKey.objects.get(tenant=tenant, name="demo")
        made = AuditEvent.objects.get(tenant=tenant, action=Action.APIKEY_CREATE, target=key.prefix)
        assert made.after == {"prefix": key.prefix, "role": key.role, "name": "demo"}

        versions = history.versions_for(tenant, client.client_id)
        assert [(v.action, v.actor) for v in versions] == [
            (Action.CLIENT_CREATE, "cli")
        ]  # not "outside Truss"
        facts = hygiene.facts_for(tenant, [client.client_id])
        assert facts.secret_set_at.get(client.client_id) == created.created_at

        call_command("seed_demo", stdout=io.StringIO())  # idempotent: no second event for either
        assert AuditEvent.objects.filter(tenant=tenant, action=Action.CLIENT_CREATE).count() == 1
        assert AuditEvent.objects.filter(tenant=tenant, action=Action.APIKEY_CREATE).count() == 1
    finally:
        _remove_demo_clients()  # the stack is shared: leave no demo client behind


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_audits_the_fix_of_an_old_demo_clients_redirect_uri(ory, settings):
    settings.TRUSS_PUBLIC_URL = "http://127.0.0.1:8000"
    _remove_demo_clients()
    stale = hydra.create_client(
        {
            "client_name": seed_demo.DEMO_CLIENT_NAME,
            "owner": "truss:demo",
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "redirect_uris": ["http://127.0.0.1:8000/callback"],
            "scope": "openid",
            "token_endpoint_auth_method": "client_secret_basic",
        }
    )
    try:
        call_command("seed_demo", stdout=io.StringIO())
        fixed = AuditEvent.objects.get(action=Action.CLIENT_PATCH, target=stale.client_id)
        assert fixed.before["redirect_uris"] == ["http://127.0.0.1:8000/callback"]
        assert fixed.after["redirect_uris"] == ["http://127.0.0.1:8000/console/devtools/callback"]
    finally:
        _remove_demo_clients()
