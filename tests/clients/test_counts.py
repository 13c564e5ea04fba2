"""A tenant's pre-aggregated client counts (oauth2_admin/clients/counts.py): set whole by a full count, moved
exactly by Truss's own creates, edits and deletes (console and API), also when they run at the same time, and
never below zero; a tenant never counted has nothing to move."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import close_old_connections
from django.urls import reverse

from oauth2_admin.clients import counts
from oauth2_admin.clients import service as clients
from tests.clients.test_views import FORM
from truss.models import ClientCount
from truss.ory import hydra

CC = {"client_name": "Machine", "grant_types": ["client_credentials"], "scope": "read"}
WEB = {
    "client_name": "Web",
    "grant_types": ["authorization_code", "refresh_token"],
    "redirect_uris": ["https://app.example.com/cb"],
    "scope": "openid",
}


def _counts(tenant):
    row = ClientCount.objects.get(tenant=tenant)
    return row.total, row.by_grant


@pytest.mark.django_db
class TestMoves:
    def test_it_sets_the_counts_from_a_full_count_and_stamps_when(self, tenant):
        counts.reconcile(tenant, 3, {"client_credentials": 2, "authorization_code": 1, "implicit": 0})
        row = ClientCount.objects.get(tenant=tenant)
        assert (row.total, row.by_grant) == (3, {"authorization_code": 1, "client_credentials": 2})
        assert row.reconciled_at is not None
        first = row.reconciled_at
        counts.reconcile(tenant, 1, {"client_credentials": 1})
        row.refresh_from_db()
        assert (row.total, row.by_grant) == (1, {"client_credentials": 1}) and row.reconciled_at >= first
        assert ClientCount.objects.count() == 1

    def test_it_moves_with_clients_or_their_grant_types(self, tenant):
        counts.reconcile(tenant, 0, {})
        web = hydra.OAuth2Client.model_validate({"client_id": "w", **WEB})
        counts.added(tenant, web)
        counts.added(tenant, ["client_credentials"])  # as the drift sweep reports a client it saw appear
        assert _counts(tenant) == (2, {"authorization_code": 1, "client_credentials": 1, "refresh_token": 1})
        counts.changed(tenant, web, ["authorization_code", "client_credentials"])
        assert _counts(tenant) == (2, {"authorization_code": 1, "client_credentials": 2})
        counts.removed(tenant, ["client_credentials"])
        counts.removed(tenant, ["authorization_code", "client_credentials"])
        assert _counts(tenant) == (0, {})
        counts.removed(tenant, ["client_credentials"])  # a count that was already off stays at zero
        assert _counts(tenant) == (0, {})

    def test_it_moves_nothing_for_a_tenant_never_counted(self, tenant, other_tenant):
        counts.reconcile(other_tenant, 5, {"client_credentials": 5})
        counts.added(tenant, ["client_credentials"])
        assert not ClientCount.objects.filter(tenant=tenant).exists()
        assert _counts(other_tenant) == (5, {"client_credentials": 5})


@pytest.mark.django_db(transaction=True)
def test_it_stays_exact_when_moves_run_at_the_same_time(tenant):
    counts.reconcile(tenant, 10, {"client_credentials": 10})

    def move(i: int) -> None:
        try:
            if i % 3 == 2:
                counts.removed(tenant, ["client_credentials"])
            else:
                counts.added(tenant, ["client_credentials", "authorization_code"])
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(move, range(60)))
    # 40 added, 20 removed
    assert _counts(tenant) == (30, {"authorization_code": 40, "client_credentials": 30})


@pytest.mark.integration
@pytest.mark.django_db
class TestTrussWrites:
    def test_it_counts_creates_edits_and_deletes_through_the_api(self, ory, client, tenant, make_api_key):
        counts.reconcile(tenant, 0, {})
        key = {"apikey": make_api_key(tenant)}

        def call(method, path="", body=None):
            data = json.dumps(body) if body is not None else ""
            return client.generic(
                method, f"/v1/oauth2/clients{path}", data, content_type="application/json", headers=key
            )

        one = call("POST", body=CC).json()
        two = call("POST", body=WEB).json()
        assert _counts(tenant) == (2, {"authorization_code": 1, "client_credentials": 1, "refresh_token": 1})
        edited = call(
            "PATCH",
            f"/{two['client_id']}",
            [
                {
                    "op": "replace",
                    "path": "/grant_types",
                    "value": ["authorization_code", "client_credentials"],
                }
            ],
        )
        assert edited.status_code == 200, edited.content
        assert _counts(tenant) == (2, {"authorization_code": 1, "client_credentials": 2})
        assert call("DELETE", f"/{one['client_id']}").status_code == 204
        assert _counts(tenant) == (1, {"authorization_code": 1, "client_credentials": 1})
        refused = call("POST", body={**CC, "grant_types": ["no_such_grant"]})
        assert refused.status_code == 400
        assert _counts(tenant) == (1, {"authorization_code": 1, "client_credentials": 1})

    def test_it_counts_creates_and_deletes_through_the_console(self, ory, console, tenant):
        counts.reconcile(tenant, 4, {"client_credentials": 4})
        member = console("member")
        response = member.post(reverse("console:clients:create"), FORM)
        assert response.status_code == 201
        client_id = response.context["client"].client_id
        assert _counts(tenant) == (
            5,
            {"authorization_code": 1, "client_credentials": 5, "refresh_token": 1},
        )
        done = member.post(reverse("console:clients:delete", args=[client_id]), {"confirm": "Console app"})
        assert done.status_code == 302
        assert _counts(tenant) == (4, {"client_credentials": 4})


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_stays_exact_under_concurrent_creates(ory, tenant):
    counts.reconcile(tenant, 0, {})

    def create(i: int) -> str:
        try:
            made, _ = clients.create_for(None, tenant, {**(CC if i % 2 else WEB), "client_name": f"c{i}"})
            return made.client_id
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=6) as pool:
        made = list(pool.map(create, range(18)))
    assert len(set(made)) == 18
    assert _counts(tenant) == (18, {"authorization_code": 9, "client_credentials": 9, "refresh_token": 9})

    def delete(client_id: str) -> None:
        try:
            clients.delete_for(None, tenant, client_id)
        finally:
            close_old_connections()

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(delete, made[:12]))
    assert _counts(tenant) == (6, {"authorization_code": 3, "client_credentials": 3, "refresh_token": 3})
