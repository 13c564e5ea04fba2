"""Client names for a page (truss/names.py) without listing the tenant's fleet: one Hydra GET per client id on
the page, at most MAX_CLIENTS, none for ids the shared cache holds; Truss's own writes forget a cached name;
another tenant's client keeps its raw id."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oauth2_admin.clients import service as clients
from tests.fixtures.ory import client_gets, client_lists
from truss import names

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CC = {"grant_types": ["client_credentials"], "scope": "read"}


def _make(tenant, name):
    made, _ = clients.create_for(None, tenant, {"client_name": name, **CC})
    return made.client_id


def test_it_names_the_clients_of_a_page_by_id_without_listing_the_fleet(ory, tenant, other_tenant, ory_sent):
    mine = [_make(tenant, f"App {i}") for i in range(12)]
    theirs = _make(other_tenant, "Their app")
    ory_sent.clear()
    found = names.resolve(tenant, clients=[mine[0], mine[5], theirs, "no-such-client"])
    assert found.of(mine[0]).label == "App 0" and found.of(mine[5]).label == "App 5"
    assert found.of(mine[5]).url == reverse("console:clients:detail", args=[mine[5]])
    assert found.of(theirs).label == theirs and not found.of(theirs).url  # not the tenant's: its raw id
    assert found.of("no-such-client").label == "no-such-client"
    assert client_lists(ory_sent) == []  # the fleet is never listed
    assert len(client_gets(ory_sent)) == 4  # one per id on the page


def test_it_asks_hydra_nothing_for_names_the_shared_cache_holds_until_truss_changes_the_client(
    ory, tenant, ory_sent, settings, make_hydra_client
):
    settings.SHARED_CACHE = True
    made = [
        make_hydra_client(
            owner=tenant.hydra_owner, client_name=f"Cached {i}", response_types=[], scope="read"
        )
        for i in range(3)
    ]
    ids = [m["client_id"] for m in made]
    ory_sent.clear()
    names.resolve(tenant, clients=ids)
    assert len(client_gets(ory_sent)) == 3
    ory_sent.clear()
    again = names.resolve(tenant, clients=ids)
    assert ory_sent == [] and again.of(ids[1]).label == "Cached 1"
    clients.update_for(None, tenant, ids[1], {"client_name": "Renamed"})
    ory_sent.clear()
    renamed = names.resolve(tenant, clients=ids)
    assert renamed.of(ids[1]).label == "Renamed" and len(client_gets(ory_sent)) == 1


def test_it_looks_up_at_most_a_page_of_ids(ory, tenant, ory_sent):
    wanted = [f"not-a-client-{i:03}" for i in range(names.MAX_CLIENTS + 20)]
    names.resolve(tenant, clients=wanted)
    assert len(client_gets(ory_sent)) == names.MAX_CLIENTS and client_lists(ory_sent) == []


def test_it_keeps_raw_ids_and_caches_nothing_while_hydra_is_down(tenant, hydra_down, settings):
    settings.SHARED_CACHE = True
    found = names.resolve(tenant, clients=["abc-client-id-123"])
    assert found.of("abc-client-id-123").label == "abc-client-id-123"
    from django.core.cache import cache

    from truss import caching

    assert cache.get(caching.client_name_key("abc-client-id-123")) is None
