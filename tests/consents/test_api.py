"""The consent API against the real Hydra: tenant scoping, per-client revocation, tokens, errors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from oauth2_admin.consents.models import LedgerEntry
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_shows_and_revokes_only_the_tenants_own_consent_and_tokens(
    console, tenant, other_tenant, make_app, grant, make_identity, in_hydra, active
):
    person = make_identity()
    ours, theirs = make_app(tenant), make_app(other_tenant)
    our_tokens, their_tokens = grant(ours, person["id"]), grant(theirs, person["id"])
    me, them = console("member"), console("member", for_tenant=other_tenant)
    url = f"/api/hydra/consent/{person['id']}"

    listed = me.get(url)
    assert listed.status_code == 200
    assert [c["client_id"] for c in listed.json()] == [ours["client_id"]]
    assert listed.json()[0]["grant_scope"] == ["openid", "offline_access"]
    assert listed.json()[0]["remember"] is True
    assert [c["client_id"] for c in them.get(url).json()] == [theirs["client_id"]]

    # Another tenant's client: 404 like a missing one, nothing revoked.
    refused = me.delete(f"{url}?client={theirs['client_id']}")
    assert refused.status_code == 404
    assert in_hydra(person["id"]) == sorted([ours["client_id"], theirs["client_id"]])

    done = me.delete(f"{url}?client={ours['client_id']}")
    assert done.status_code == 200, done.content
    assert done.json() == {
        "subject": person["id"],
        "revoked_clients": [ours["client_id"]],
        "login_sessions_ended": False,
    }
    assert in_hydra(person["id"]) == [theirs["client_id"]]
    assert not active(our_tokens["refresh_token"]) and not active(our_tokens["access_token"])
    assert active(their_tokens["refresh_token"]) and active(their_tokens["access_token"])
    assert me.get(url).json() == []

    events = AuditEvent.objects.filter(tenant=tenant, action="consent.revoke", target=person["id"])
    assert [e.outcome for e in events.order_by("id")] == ["failure", "success"]
    assert events.get(outcome="success").before["consents"] == [
        {"client_id": ours["client_id"], "grant_scope": ["openid", "offline_access"]}
    ]


def test_it_revokes_all_of_the_tenants_consents_but_not_another_tenants(
    console, tenant, other_tenant, make_app, grant, make_identity, in_hydra, active
):
    person = make_identity()
    one, two, theirs = make_app(tenant), make_app(tenant), make_app(other_tenant)
    tokens = [grant(app, person["id"]) for app in (one, two, theirs)]
    answer = console("member").delete(f"/api/hydra/consent/{person['id']}")
    assert answer.status_code == 200
    assert answer.json()["revoked_clients"] == sorted([one["client_id"], two["client_id"]])
    assert in_hydra(person["id"]) == [theirs["client_id"]]
    assert [active(t["refresh_token"]) for t in tokens] == [False, False, True]
    # Nothing left of this tenant's: the person is now invisible to it.
    assert console("member").delete(f"/api/hydra/consent/{person['id']}").status_code == 404


def test_it_refuses_bad_input_with_field_messages_and_changes_nothing(
    console, tenant, make_app, grant, make_identity, in_hydra
):
    person = make_identity()
    app = make_app(tenant)
    grant(app, person["id"])
    member = console("member")
    too_long = member.delete(f"/api/hydra/consent/{'x' * 300}")
    assert too_long.status_code == 400 and "subject" in too_long.json()["fields"]
    empty_client = member.delete(f"/api/hydra/consent/{person['id']}?client=")
    assert empty_client.status_code == 400 and "client" in empty_client.json()["fields"]
    assert in_hydra(person["id"]) == [app["client_id"]]


def test_it_needs_the_member_role_and_a_platform_admin_to_end_login_sessions(
    console, tenant, make_app, grant, make_identity, in_hydra
):
    person = make_identity()
    app = make_app(tenant)
    grant(app, person["id"])
    url = f"/api/hydra/consent/{person['id']}"
    assert console("viewer").get(url).status_code == 200
    assert console("viewer").delete(url).status_code == 403
    refused = console("admin").delete(f"{url}?end_login_sessions=true")
    assert refused.status_code == 403 and "platform admins" in refused.json()["message"]
    assert in_hydra(person["id"]) == [app["client_id"]]
    root = Client()
    root.force_login(User.objects.create_superuser(f"root-{person['id'][:6]}", password="pw-for-tests-123"))
    done = root.delete(f"{url}?end_login_sessions=true")
    assert done.status_code == 200 and done.json()["login_sessions_ended"] is True


def test_it_serves_service_role_keys_under_v1_and_refuses_anon_keys(
    tenant, make_app, grant, make_identity, make_api_key, in_hydra
):
    person = make_identity()
    app = make_app(tenant)
    grant(app, person["id"])
    client = Client()
    url = f"/v1/oauth2/consent/{person['id']}"
    anon = make_api_key(tenant, "anon")
    assert client.get(url, HTTP_APIKEY=anon).status_code == 403
    assert client.get(url).status_code == 401
    key = make_api_key(tenant)
    assert [c["client_id"] for c in client.get(url, HTTP_APIKEY=key).json()] == [app["client_id"]]
    assert client.delete(f"{url}?client={app['client_id']}", HTTP_APIKEY=key).status_code == 200
    assert in_hydra(person["id"]) == []


def test_it_answers_503_when_hydra_is_down(console, tenant, hydra_down):
    member = console("member")
    listed = member.get("/api/hydra/consent/someone")
    assert listed.status_code == 503 and listed["Retry-After"]
    revoked = member.delete("/api/hydra/consent/someone?client=x")
    assert revoked.status_code == 503
    assert AuditEvent.objects.filter(tenant=tenant, action="consent.revoke", outcome="failure").count() == 1


def test_it_keeps_post_logout_working_and_updates_the_ledger(
    console, tenant, make_app, grant, make_identity, in_hydra
):
    person = make_identity()
    app = make_app(tenant)
    grant(app, person["id"])
    LedgerEntry.objects.create(
        tenant=tenant,
        client_id=app["client_id"],
        subject=person["id"],
        decision="accepted",
        state="active",
        scopes=["openid"],
        first_at="2025-01-01T00:00Z",
        last_at="2025-01-01T00:00Z",
    )
    answer = console("member").post(
        "/api/hydra/logout", {"subject": person["id"]}, content_type="application/json"
    )
    assert answer.status_code == 200 and answer.json()["revoked_clients"] == [app["client_id"]]
    assert in_hydra(person["id"]) == []
    assert LedgerEntry.objects.get(subject=person["id"]).state == "revoked"
