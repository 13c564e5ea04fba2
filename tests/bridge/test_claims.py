"""Custom claims: templates, validation, the API and the console editor with its preview."""

from __future__ import annotations

import json

import pytest

from truss import claims
from truss.models import AuditEvent, ClaimsConfig
from truss.ory import kratos

IDENTITY = kratos.Identity.model_validate({
    "id": "7d0e1b7c-0000-4000-8000-000000000001",
    "traits": {"email": "ada@example.test", "name": "Ada", "address": {"city": "London"}},
    "metadata_public": {"org_id": 42, "roles": ["admin", "dev"], "tenant_id": "acme"},
    "verifiable_addresses": [{"value": "ada@example.test", "verified": True, "via": "email"}],
})  # fmt: skip


def test_it_keeps_json_types_for_whole_placeholders_and_interpolates_text():
    config = {
        "org": "{{metadata_public.org_id}}",
        "roles": "{{ metadata_public.roles }}",
        "city": "{{traits.address.city}}",
        "label": "{{traits.name}} <{{traits.email}}> in {{metadata_public.org_id}}",
        "uid": "{{id}}",
        "plain": "constant",
    }
    assert claims.render(config, claims.identity_context(IDENTITY)) == {
        "org": 42,
        "roles": ["admin", "dev"],
        "city": "London",
        "label": "Ada <ada@example.test> in 42",
        "uid": IDENTITY.id,
        "plain": "constant",
    }


def test_it_leaves_out_claims_whose_variables_do_not_resolve():
    config = {"missing": "{{traits.nickname}}", "half": "Hi {{traits.nickname}}", "ok": "{{traits.name}}"}
    assert claims.render(config, claims.identity_context(IDENTITY)) == {"ok": "Ada"}


def test_it_adds_standard_claims_only_for_granted_scopes():
    built = claims.build(
        IDENTITY,
        ["openid", "email"],
        {"org": "{{metadata_public.org_id}}"},
        {"t": "{{metadata_public.tenant_id}}"},
    )
    assert built.id_token == {"email": "ada@example.test", "email_verified": True, "org": 42}
    assert built.access_token == {"t": "acme"}
    assert "name" in claims.build(IDENTITY, ["profile"], {}, {}).id_token


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"sub": "{{id}}"}, "set by Hydra"),
        ({"x": "{{metadata_admin.secret}}"}, "Unknown variable"),
        ({"x": "{{traits.email"}, "Unbalanced"),
        ({"bad name": "{{id}}"}, "Claim names"),
        ({"x": 5}, "must be a string"),
        ({"x": "a" * 501}, "At most 500"),
    ],
)
def test_it_refuses_invalid_templates(config, problem):
    errors = claims.validate("id_token_claims", config)
    assert any(problem in message for messages in errors.values() for message in messages), errors


def test_it_reserves_access_token_claims_separately():
    assert claims.validate("access_token_claims", {"scp": "x"})
    assert claims.validate("access_token_claims", {"email": "{{traits.email}}"}) == {}
    assert claims.validate("id_token_claims", []) == {
        "id_token_claims": ["Must be a JSON object of claim name to template."]
    }


@pytest.mark.django_db
def test_the_api_reads_validates_and_saves_the_tenants_config(console, tenant, other_tenant):
    member = console("member")
    assert member.get("/api/hydra/claims-config").json() == {"id_token_claims": {}, "access_token_claims": {}}
    body = {
        "id_token_claims": {"email": "{{traits.email}}"},
        "access_token_claims": {"role": "{{metadata_public.role}}"},
    }
    saved = member.put("/api/hydra/claims-config", json.dumps(body), content_type="application/json")
    assert saved.status_code == 200 and saved.json() == body
    assert ClaimsConfig.objects.get(tenant=tenant).access_token_claims == {"role": "{{metadata_public.role}}"}
    assert not ClaimsConfig.objects.filter(tenant=other_tenant).exists()
    bad = member.put(
        "/api/hydra/claims-config",
        json.dumps({"id_token_claims": {"iss": "x"}}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "id_token_claims.iss" in bad.json()["fields"]
    viewer = console("viewer").put(
        "/api/hydra/claims-config", json.dumps(body), content_type="application/json"
    )
    assert viewer.status_code == 403
    assert AuditEvent.objects.filter(tenant=tenant, action="bridge.claims.update").count() == 1


@pytest.mark.django_db
def test_the_console_editor_saves_and_shows_errors(console, tenant):
    admin = console("admin")
    page = admin.get("/console/claims/")
    assert (
        page.status_code == 200
        and b"Custom claims" in page.content
        and b'href="/console/claims/"' in page.content
    )
    bad = admin.post(
        "/console/claims/", {"id_token_claims": '{"nonce": "{{id}}"}', "access_token_claims": ""}
    )
    assert bad.status_code == 400 and b"set by Hydra" in bad.content
    good = admin.post(
        "/console/claims/",
        {"id_token_claims": '{"org": "{{metadata_public.org}}"}', "access_token_claims": "{}"},
    )
    assert good.status_code == 302
    assert ClaimsConfig.objects.get(tenant=tenant).id_token_claims == {"org": "{{metadata_public.org}}"}
    assert console("viewer").post("/console/claims/", {"id_token_claims": "{}"}).status_code == 403


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_preview_shows_claims_only_for_people_who_used_the_tenants_clients(
    console, tenant, browser_for, make_app, make_identity
):
    person, stranger = make_identity(name="Preview Person"), make_identity()
    browser = browser_for()
    _, login_page = browser.authorize(make_app()["client_id"])
    browser.callback(
        browser.answer_consent(
            browser.sign_in(login_page, person["email"], person["password"]), remember=True
        )
    )
    member = console("member")
    data = {
        "id_token_claims": '{"hello": "Hi {{traits.name}}"}',
        "access_token_claims": "{}",
        "scopes": "openid",
    }
    shown = member.post(
        "/console/claims/preview", {**data, "identity": person["email"]}, HTTP_HX_REQUEST="true"
    )
    assert (
        shown.status_code == 200 and b"Hi Preview Person" in shown.content and b"<html" not in shown.content
    )
    hidden = member.post(
        "/console/claims/preview", {**data, "identity": stranger["id"]}, HTTP_HX_REQUEST="true"
    )
    assert b"No identity that has used" in hidden.content and stranger["email"].encode() not in hidden.content
    api = member.post(
        "/api/hydra/claims-config/preview",
        json.dumps(
            {"identity": person["id"], "id_token_claims": {"n": "{{traits.name}}"}, "scopes": ["openid"]}
        ),
        content_type="application/json",
    )
    assert api.status_code == 200 and api.json()["id_token"] == {"n": "Preview Person"}
