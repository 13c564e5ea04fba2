"""The claims console (oauth2_admin/claims): the API, the editor and its preview against real Hydra/Kratos."""

from __future__ import annotations

import json

import pytest

from truss.models import AuditEvent, ClaimsConfig


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
    # One event per attempt with its real outcome: the save, the invalid templates, the viewer's denied write.
    outcomes = AuditEvent.objects.filter(tenant=tenant, action="bridge.claims.update").order_by("id")
    assert [e.outcome for e in outcomes] == ["success", "failure", "denied"]


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


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 5000 + "]" * 5000, "nests deeper"),
        ('{"email": NaN}', "not a JSON number"),
        ('{"email": "\\u0000"}', "NUL"),
        ('{"email": 1e400}', "too large"),
        ("{nope", "not valid JSON"),
    ],
)
def test_the_console_editor_reads_the_json_through_the_one_parser(console, tenant, text, message):
    """Nested 5,000 deep was a RecursionError (500); a NUL reached PostgreSQL's jsonb."""
    admin = console("admin")
    response = admin.post("/console/claims/", {"id_token_claims": text, "access_token_claims": "{}"})
    assert response.status_code == 400 and message in response.content.decode()
    assert not ClaimsConfig.objects.filter(tenant=tenant).exists()


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
