"""The overview's numbers over JSON (`/api/hydra/overview` in an operator's session, `/v1/oauth2/overview` with a
service_role key): the same read as the page, from stored counts and the daily rollup, the caller's tenant only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from oauth2_admin.clients import counts
from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import ScopeCount
from truss import apikeys, audit
from truss.audit import Action

pytestmark = [pytest.mark.django_db]


def _fill(tenant, other_tenant):
    counts.reconcile(tenant, 3, {"client_credentials": 2, "authorization_code": 1})
    counts.reconcile(other_tenant, 50, {"client_credentials": 50})
    for _ in range(2):
        audit.record(None, Action.LOGIN_ACCEPT, tenant=tenant)
    audit.record(None, Action.LOGIN_ACCEPT, tenant=other_tenant)
    ScopeCount.objects.create(tenant=tenant, client_id="a", scope="", people=4)
    ScopeCount.objects.create(tenant=tenant, client_id="a", scope="openid", people=4)
    ledger.recount_tenant(tenant)


def test_it_answers_the_tenants_numbers_with_a_service_key(
    client, tenant, other_tenant, make_api_key, hydra_down
):
    _fill(tenant, other_tenant)
    response = client.get("/v1/oauth2/overview", headers={"apikey": make_api_key(tenant)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["clients"]["state"] == "counted" and body["clients"]["total"] == 3
    assert body["clients"]["by_grant"] == {"client_credentials": 2, "authorization_code": 1}
    assert body["clients"]["counted_at"]
    today = body["activity"]["days"][-1]
    assert today["day"] == datetime.now(UTC).date().isoformat() and today["sign_ins"] == 2
    assert len(body["activity"]["days"]) == 14
    assert body["scopes"] == {
        "consents": 4,
        "scopes": [{"scope": "openid", "title": "", "grants": 4}],
        "more": 0,
    }


def test_it_answers_in_an_operators_session(console, tenant, other_tenant, hydra_down):
    _fill(tenant, other_tenant)
    response = console("viewer").get("/api/hydra/overview")
    assert response.status_code == 200 and response.json()["clients"]["total"] == 3


def test_it_says_unavailable_for_a_tenant_never_counted_while_hydra_is_down(
    client, tenant, make_api_key, hydra_down
):
    body = client.get("/v1/oauth2/overview", headers={"apikey": make_api_key(tenant)}).json()
    assert body["clients"] == {"state": "unavailable", "total": None, "by_grant": {}, "counted_at": None}


def test_it_refuses_callers_without_a_service_key(tenant):
    _, anon = apikeys.generate(tenant, "anon", name="public")
    assert Client().get("/v1/oauth2/overview").status_code == 401
    assert Client().get("/v1/oauth2/overview", headers={"apikey": anon}).status_code == 403
    assert Client().get("/api/hydra/overview").status_code == 401
