"""The claims editor: where a JSON error is, which variables did not resolve in the preview, and the preview's
identity kept through a refused save."""

from __future__ import annotations

import re

import pytest

from oauth2_admin.claims import service
from oauth2_admin.scopes.models import Scope
from truss import claims
from truss.audit import Action
from truss.models import AuditEvent, ClaimsConfig
from truss.ory import kratos


def person(**traits: object) -> kratos.Identity:
    return kratos.Identity(
        id="0f3c6a1e-aaaa-bbbb-cccc-000000000001", traits=traits, metadata_public={"org": "acme"}
    )


@pytest.mark.django_db
def test_it_says_on_which_line_and_column_the_json_is_broken(console, tenant):
    text = '{\n  "email": "{{traits.email}}"\n  "name": "{{traits.name}}"\n}'
    response = console("admin").post(
        "/console/claims/", {"id_token_claims": text, "access_token_claims": "{}"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "This is not valid JSON at line 3, column 3: expecting &#x27;,&#x27; delimiter." in html
    assert "Enter a valid JSON" not in html
    assert not ClaimsConfig.objects.filter(tenant=tenant).exists()


@pytest.mark.django_db
def test_it_keeps_the_preview_identity_after_a_refused_save(console, tenant):
    response = console("admin").post(
        "/console/claims/",
        {
            "id_token_claims": "{nope",
            "access_token_claims": "{}",
            "identity": "preview.person@example.test",
            "scopes": "openid email",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    identity = re.search(r'<input[^>]*name="identity"[^>]*>', html)
    assert identity and 'value="preview.person@example.test"' in identity.group(0)
    assert "required" not in identity.group(0), "an empty identity must not block a save"
    scopes = re.search(r'<input[^>]*name="scopes"[^>]*>', html)
    assert scopes and 'value="openid email"' in scopes.group(0)


@pytest.mark.django_db
def test_it_posts_the_preview_fields_with_the_save_in_one_form(console, tenant):
    html = console("admin").get("/console/claims/").content.decode()
    form = html[html.index('<form method="post" action="/console/claims/"') :]
    form = form[: form.index("</form>")]
    assert 'name="identity"' in form and 'formaction="/console/claims/preview"' in form


@pytest.mark.django_db
def test_it_audits_a_refused_save_once(console, tenant):
    console("admin").post("/console/claims/", {"id_token_claims": "{nope", "access_token_claims": "{}"})
    events = AuditEvent.objects.filter(tenant=tenant, action=Action.CLAIMS_UPDATE)
    assert [(e.outcome, "line 1, column 2" in e.detail) for e in events] == [("failure", True)]


def test_it_names_the_variables_that_do_not_resolve():
    context = claims.identity_context(person(email="a@example.test"))
    assert claims.unresolved("{{traits.email}} {{ traits.nope }} {{traits.nope}} {{id}}", context) == [
        "traits.nope"
    ]
    assert claims.unresolved("{{metadata_public.org}}", context) == []


def test_it_lists_each_left_out_claim_with_its_variables():
    found = service.left_out(
        person(email="a@example.test"),
        {"mail": "{{traits.email}}", "hello": "Hi {{traits.name}} of {{metadata_public.team}}"},
        {"bad": "{{traits.nope}}", "org": "{{metadata_public.org}}"},
    )
    assert found == [
        service.LeftOut("ID token", "hello", ("traits.name", "metadata_public.team")),
        service.LeftOut("Access token", "bad", ("traits.nope",)),
    ]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_shows_in_the_preview_which_claims_were_left_out_and_why(
    console, tenant, browser_for, make_app, make_identity
):
    someone = make_identity(name="Left Out")
    browser = browser_for()
    _, login_page = browser.authorize(make_app()["client_id"])
    browser.callback(
        browser.answer_consent(
            browser.sign_in(login_page, someone["email"], someone["password"]), remember=True
        )
    )
    shown = console("member").post(
        "/console/claims/preview",
        {
            "id_token_claims": '{"hello": "Hi {{traits.name}}"}',
            "access_token_claims": '{"bad": "{{traits.nope}}"}',
            "scopes": "openid",
            "identity": someone["email"],
        },
        HTTP_HX_REQUEST="true",
    )
    html = shown.content.decode()
    assert shown.status_code == 200 and "Hi Left Out" in html
    assert re.search(
        r"Access token claim <code>bad</code>: <code>\{\{traits.nope\}\}</code> did not resolve", html
    )


def test_it_previews_a_scoped_template_only_when_its_scope_is_picked(
    console, tenant, browser_for, make_app, make_identity
):
    Scope.objects.create(
        tenant=tenant, name="photos.read", title_en="Photos", description_en="See photos.", claims=["album"]
    )
    someone = make_identity(name="Scoped")
    browser = browser_for()
    _, login_page = browser.authorize(make_app()["client_id"])
    browser.callback(
        browser.answer_consent(
            browser.sign_in(login_page, someone["email"], someone["password"]), remember=True
        )
    )

    def preview(scopes: str) -> str:
        shown = console("member").post(
            "/console/claims/preview",
            {
                "id_token_claims": '{"album": "A-{{traits.name}}", "hello": "Hi"}',
                "access_token_claims": "{}",
                "scopes": scopes,
                "identity": someone["email"],
            },
            HTTP_HX_REQUEST="true",
        )
        assert shown.status_code == 200
        html: str = shown.content.decode()
        return html

    assert "A-Scoped" in preview("openid photos.read")
    without = preview("openid")
    assert "A-Scoped" not in without and "Hi" in without
