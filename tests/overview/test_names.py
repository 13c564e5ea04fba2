"""Client names for a page (truss/names.py) without listing the tenant's fleet: one Hydra GET per client id on
the page, at most MAX_CLIENTS, none for ids the shared cache holds; Truss's own writes forget a cached name;
another tenant's client keeps its raw id."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse

from oauth2_admin.clients import service as clients
from tests.overview.test_counts import _client_lists
from truss import names
from truss.ory import http as ory_http

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CC = {"grant_types": ["client_credentials"], "scope": "read"}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    log: list[tuple[str, str, dict[str, Any]]] = []
    real = ory_http.request

    def request(service: Any, method: str, url: str, **kwargs: Any) -> Any:
        log.append((method, ory_http._path(url), dict(kwargs.get("params") or {})))
        return real(service, method, url, **kwargs)

    monkeypatch.setattr(ory_http, "request", request)
    yield log


def _gets(log: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return [path for method, path, _ in log if method == "GET" and path.startswith("/admin/clients/")]


def _make(tenant, name):
    made, _ = clients.create_for(None, tenant, {"client_name": name, **CC})
    return made.client_id


def test_it_names_the_clients_of_a_page_by_id_without_listing_the_fleet(ory, tenant, other_tenant, sent):
    mine = [_make(tenant, f"App {i}") for i in range(12)]
    theirs = _make(other_tenant, "Their app")
    sent.clear()
    found = names.resolve(tenant, clients=[mine[0], mine[5], theirs, "no-such-client"])
    assert found.of(mine[0]).label == "App 0" and found.of(mine[5]).label == "App 5"
    assert found.of(mine[5]).url == reverse("console:clients:detail", args=[mine[5]])
    assert found.of(theirs).label == theirs and not found.of(theirs).url  # not the tenant's: its raw id
    assert found.of("no-such-client").label == "no-such-client"
    assert _client_lists(sent) == []  # the fleet is never listed
    assert len(_gets(sent)) == 4  # one per id on the page


def test_it_asks_hydra_nothing_for_names_the_shared_cache_holds_until_truss_changes_the_client(
    ory, tenant, sent, settings, make_hydra_client
):
    settings.SHARED_CACHE = True
    made = [
        make_hydra_client(
            owner=tenant.hydra_owner, client_name=f"Cached {i}", response_types=[], scope="read"
        )
        for i in range(3)
    ]
    ids = [m["client_id"] for m in made]
    sent.clear()
    names.resolve(tenant, clients=ids)
    assert len(_gets(sent)) == 3
    sent.clear()
    again = names.resolve(tenant, clients=ids)
    assert sent == [] and again.of(ids[1]).label == "Cached 1"
    clients.update_for(None, tenant, ids[1], {"client_name": "Renamed"})
    sent.clear()
    renamed = names.resolve(tenant, clients=ids)
    assert renamed.of(ids[1]).label == "Renamed" and len(_gets(sent)) == 1


def test_it_looks_up_at_most_a_page_of_ids(ory, tenant, sent):
    wanted = [f"not-a-client-{i:03}" for i in range(names.MAX_CLIENTS + 20)]
    names.resolve(tenant, clients=wanted)
    assert len(_gets(sent)) == names.MAX_CLIENTS and _client_lists(sent) == []


def test_it_keeps_raw_ids_and_caches_nothing_while_hydra_is_down(tenant, hydra_down, settings):
    settings.SHARED_CACHE = True
    found = names.resolve(tenant, clients=["abc-client-id-123"])
    assert found.of("abc-client-id-123").label == "abc-client-id-123"
    from django.core.cache import cache

    from truss import caching

    assert cache.get(caching.client_name_key("abc-client-id-123")) is None
