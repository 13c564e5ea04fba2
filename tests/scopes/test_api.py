"""The scope catalogue's API (`/api/hydra/scopes*`, `/v1/oauth2/scopes*`) and service: validation, audit, roles,
tenant isolation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from oauth2_admin.scopes.models import Scope
from truss.models import AuditEvent, ClaimsConfig, Tenant

JSON = "application/json"
GOOD = {
    "name": "invoices:read",
    "title_en": "Read your invoices",
    "description_en": "See the invoices in your account.",
    "title_de": "Ihre Rechnungen lesen",
    "description_de": "Die Rechnungen in Ihrem Konto sehen.",
    "claims": ["billing_account"],
    "rememberable": False,
}


def _templates(tenant: Tenant) -> None:
    ClaimsConfig.objects.create(
        tenant=tenant,
        id_token_claims={"org": "{{metadata_public.org}}"},
        access_token_claims={"billing_account": "{{metadata_public.billing_account}}"},
    )


def _events(tenant: Tenant, action: str) -> list[tuple[str, str]]:
    rows = AuditEvent.objects.filter(tenant=tenant, action=action).order_by("id")
    return [(e.outcome, e.target) for e in rows]


def _post(client: Client, url: str, body: Any, **extra: Any) -> Any:
    return client.post(url, json.dumps(body), content_type=JSON, **extra)


@pytest.mark.django_db
def test_it_creates_reads_changes_and_deletes_a_scope_audited_once_each(console, tenant):
    _templates(tenant)
    member = console("member")
    created = _post(member, "/api/hydra/scopes", GOOD)
    assert created.status_code == 201, created.content
    assert created.json()["claims"] == ["billing_account"] and created.json()["rememberable"] is False
    assert member.get("/api/hydra/scopes").json()["items"][0]["name"] == "invoices:read"
    assert member.get("/api/hydra/scopes/invoices:read").json()["title_de"] == "Ihre Rechnungen lesen"

    changed = member.put(
        "/api/hydra/scopes/invoices:read",
        json.dumps({"title_en": "Read invoices", "rememberable": True}),
        content_type=JSON,
    )
    assert changed.status_code == 200 and changed.json()["title_en"] == "Read invoices"
    assert changed.json()["description_de"] == GOOD["description_de"]  # untouched
    assert member.delete("/api/hydra/scopes/invoices:read").status_code == 204
    assert not Scope.objects.filter(tenant=tenant).exists()

    assert _events(tenant, "oauth2.scope.create") == [("success", "invoices:read")]
    update = AuditEvent.objects.get(tenant=tenant, action="oauth2.scope.update")
    assert update.before["title_en"] == GOOD["title_en"] and update.after["title_en"] == "Read invoices"
    assert update.before["rememberable"] is False and update.after["rememberable"] is True
    deleted = AuditEvent.objects.get(tenant=tenant, action="oauth2.scope.delete")
    assert deleted.before["name"] == "invoices:read" and deleted.after is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "has space"}, "name"),
        ({"name": 'quote"d'}, "name"),
        ({"name": "back\\slash"}, "name"),
        ({"name": "é"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": ""}, "name"),
        ({"name": "email"}, "name"),
        ({"name": "offline_access"}, "name"),
        ({"title_en": ""}, "title_en"),
        ({"title_en": "   "}, "title_en"),
        ({"title_en": "a\nb"}, "title_en"),
        ({"title_en": "evil\u202etxt"}, "title_en"),
        ({"title_en": "x" * 101}, "title_en"),
        ({"description_en": "x" * 301}, "description_en"),
        ({"description_de": "tab\there"}, "description_de"),
        ({"claims": ["not_a_template"]}, "claims"),
        ({"claims": "billing_account"}, "claims"),
        ({"rememberable": "yes"}, "rememberable"),
        ({"extra": 1}, "extra"),
    ],
)
def test_it_refuses_a_bad_scope_with_a_field_message_and_one_audit_event(console, tenant, change, field):
    _templates(tenant)
    body = {**GOOD, **change}
    response = _post(console("member"), "/api/hydra/scopes", body)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"], response.json()
    assert not Scope.objects.exists()
    assert [o for o, _ in _events(tenant, "oauth2.scope.create")] == ["failure"]


@pytest.mark.django_db
def test_it_refuses_a_duplicate_name_as_a_conflict(console, tenant):
    _templates(tenant)
    member = console("member")
    assert _post(member, "/api/hydra/scopes", GOOD).status_code == 201
    again = _post(member, "/api/hydra/scopes", {**GOOD, "title_en": "Other"})
    assert again.status_code == 409 and "name" in again.json()["fields"]
    assert Scope.objects.get().title_en == GOOD["title_en"]
    assert [o for o, _ in _events(tenant, "oauth2.scope.create")] == ["success", "failure"]


@pytest.mark.django_db
def test_it_refuses_renaming_and_unknown_claims_on_update(console, tenant):
    _templates(tenant)
    member = console("member")
    _post(member, "/api/hydra/scopes", GOOD)
    renamed = member.put("/api/hydra/scopes/invoices:read", json.dumps({"name": "x"}), content_type=JSON)
    assert renamed.status_code == 400 and "name" in renamed.json()["fields"]
    claims = member.put(
        "/api/hydra/scopes/invoices:read", json.dumps({"claims": ["nope"]}), content_type=JSON
    )
    assert claims.status_code == 400 and "claims" in claims.json()["fields"]
    assert Scope.objects.get().claims == ["billing_account"]
    assert [o for o, _ in _events(tenant, "oauth2.scope.update")] == ["failure", "failure"]


@pytest.mark.django_db
def test_it_keeps_tenants_apart_another_tenants_scope_is_a_404_like_a_missing_one(
    console, tenant, other_tenant, make_api_key
):
    _templates(tenant)
    _post(console("member"), "/api/hydra/scopes", GOOD)
    globex = console("admin", for_tenant=other_tenant)
    key = {"HTTP_APIKEY": make_api_key(other_tenant)}
    assert globex.get("/api/hydra/scopes").json() == {"items": []}
    for client, prefix, extra in ((globex, "/api/hydra", {}), (Client(), "/v1/oauth2", key)):
        theirs = client.get(f"{prefix}/scopes/invoices:read", **extra)
        missing = client.get(f"{prefix}/scopes/no-such-scope", **extra)
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json() == missing.json()
        put = client.put(
            f"{prefix}/scopes/invoices:read", json.dumps({"title_en": "Mine"}), content_type=JSON, **extra
        )
        assert put.status_code == 404 and put.json() == missing.json()
        assert client.delete(f"{prefix}/scopes/invoices:read", **extra).status_code == 404
    assert Scope.objects.get().title_en == GOOD["title_en"]
    assert _events(tenant, "oauth2.scope.update") == [] and _events(tenant, "oauth2.scope.delete") == []


@pytest.mark.django_db
def test_it_lets_viewers_and_anon_keys_read_nothing_they_may_not_change(console, tenant, make_api_key):
    _templates(tenant)
    viewer = console("viewer")
    assert viewer.get("/api/hydra/scopes").status_code == 200
    assert _post(viewer, "/api/hydra/scopes", GOOD).status_code == 403
    anon = {"HTTP_APIKEY": make_api_key(tenant, "anon")}
    assert Client().post("/v1/oauth2/scopes", json.dumps(GOOD), content_type=JSON, **anon).status_code == 403
    service = {"HTTP_APIKEY": make_api_key(tenant)}
    made = Client().post("/v1/oauth2/scopes", json.dumps(GOOD), content_type=JSON, **service)
    assert made.status_code == 201
    assert [o for o, _ in _events(tenant, "oauth2.scope.create")] == ["denied", "denied", "success"]


@pytest.mark.django_db
def test_it_names_a_scope_with_a_slash_in_the_path(console, tenant):
    _templates(tenant)
    member = console("member")
    name = "https://api.example.com/invoices.read"
    assert _post(member, "/api/hydra/scopes", {**GOOD, "name": name}).status_code == 201
    assert member.get(f"/api/hydra/scopes/{name}").json()["name"] == name
    assert member.delete(f"/api/hydra/scopes/{name}").status_code == 204


@pytest.mark.django_db
def test_it_lets_a_scope_keep_a_claim_whose_template_is_gone_but_not_add_one(console, tenant):
    _templates(tenant)
    member = console("member")
    _post(member, "/api/hydra/scopes", GOOD)
    ClaimsConfig.objects.filter(tenant=tenant).update(access_token_claims={})
    retitled = member.put("/api/hydra/scopes/invoices:read", json.dumps({"title_en": "T"}), content_type=JSON)
    assert retitled.status_code == 200 and retitled.json()["claims"] == ["billing_account"]
    added = member.put(
        "/api/hydra/scopes/invoices:read",
        json.dumps({"claims": ["billing_account", "gone_too"]}),
        content_type=JSON,
    )
    assert added.status_code == 400 and "gone_too" in added.json()["fields"]["claims"][0]
