"""The scope catalogue's console pages, the client form's scope picker, the claims page's "released" column and
the consent ledger's grants per scope."""

from __future__ import annotations

import pytest

from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import ScopeCount
from oauth2_admin.scopes import service
from oauth2_admin.scopes.models import Scope
from tests.scopes.test_api import GOOD, _templates
from truss.models import AuditEvent

FORM = {k: v for k, v in GOOD.items() if k != "rememberable"}  # an unticked checkbox is not sent


@pytest.mark.django_db
def test_it_lists_the_standard_scopes_read_only_and_the_tenants_own(console, tenant, other_tenant):
    _templates(tenant)
    service.create(None, tenant, GOOD)
    service.create(None, other_tenant, {**GOOD, "name": "theirs:only", "claims": []})
    page = console("viewer").get("/console/scopes/")
    html = page.content.decode()
    assert page.status_code == 200 and "<h1>Scopes</h1>" in html
    assert "invoices:read" in html and "Ihre Rechnungen lesen" in html and "asked every time" in html
    assert "theirs:only" not in html
    assert "<code>email_verified</code>" in html  # the standard scopes with their claims
    assert "Add a scope" not in html and "/console/scopes/new" not in html  # viewers read
    assert "Add a scope" in console("member").get("/console/scopes/").content.decode()


@pytest.mark.django_db
def test_it_creates_a_scope_through_the_form_and_shows_field_errors(console, tenant):
    _templates(tenant)
    member = console("member")
    form = member.get("/console/scopes/new").content.decode()
    assert 'value="billing_account"' in form and 'value="org"' in form  # the tenant's templates offered
    bad = member.post("/console/scopes/new", {**FORM, "name": "email", "title_en": "a\x1bb"})
    assert bad.status_code == 400
    text = bad.content.decode()
    assert (
        "error-summary" in text and "standard OpenID Connect scope" in text and "control characters" in text
    )
    good = member.post("/console/scopes/new", FORM)
    assert good.status_code == 302
    scope = Scope.objects.get(tenant=tenant)
    assert scope.claims == ["billing_account"] and scope.rememberable is False and scope.title_de
    again = member.post("/console/scopes/new", FORM)
    assert again.status_code == 409 and "already has a scope" in again.content.decode()
    outcomes = AuditEvent.objects.filter(tenant=tenant, action="oauth2.scope.create").order_by("id")
    assert [e.outcome for e in outcomes] == ["failure", "success", "failure"]


@pytest.mark.django_db
def test_it_edits_a_scope_whose_name_stays_and_refuses_viewers(console, tenant, other_tenant):
    _templates(tenant)
    scope = service.create(None, tenant, GOOD)
    member = console("member")
    url = f"/console/scopes/{scope.pk}/"
    assert "disabled" in member.get(url).content.decode()
    saved = member.post(url, {**FORM, "name": "renamed", "title_en": "New title", "rememberable": "on"})
    assert saved.status_code == 302
    scope.refresh_from_db()
    assert scope.name == "invoices:read" and scope.title_en == "New title" and scope.rememberable
    assert console("viewer").post(url, FORM).status_code == 403
    assert console("admin", for_tenant=other_tenant).get(url).status_code == 404
    outcomes = AuditEvent.objects.filter(tenant=tenant, action="oauth2.scope.update").order_by("id")
    assert [e.outcome for e in outcomes] == ["success", "denied"]


@pytest.mark.integration
@pytest.mark.django_db
def test_it_deletes_after_a_confirmation_naming_the_clients_that_use_it(ory, console, tenant):
    from oauth2_admin.clients import service as clients

    _templates(tenant)
    scope = service.create(None, tenant, GOOD)
    user, _ = clients.create_for(
        None,
        tenant,
        {"client_name": "Billing portal", "grant_types": ["client_credentials"], "scope": "invoices:read"},
    )
    clients.create_for(None, tenant, {"client_name": "Other app", "grant_types": ["client_credentials"]})
    member = console("member")
    url = f"/console/scopes/{scope.pk}/delete"
    confirm = member.get(url).content.decode()
    assert "Billing portal" in confirm and user.client_id in confirm and "Other app" not in confirm
    stale = member.post(url, {"etag": "0-0"})
    assert stale.status_code == 412 and Scope.objects.filter(pk=scope.pk).exists()
    done = member.post(url, {"etag": service.version(scope)})
    assert done.status_code == 302 and not Scope.objects.filter(pk=scope.pk).exists()
    assert (
        AuditEvent.objects.get(tenant=tenant, action="oauth2.scope.delete").before["name"] == "invoices:read"
    )


@pytest.mark.integration
@pytest.mark.django_db
def test_the_client_form_offers_the_catalogue_and_keeps_other_scopes(ory, console, tenant):
    from oauth2_admin.clients import service as clients

    _templates(tenant)
    service.create(None, tenant, GOOD)
    member = console("member")
    form = member.get("/console/clients/new").content.decode()
    assert 'value="invoices:read"' in form and "Read your invoices" in form and 'value="profile"' in form
    made = member.post(
        "/console/clients/new",
        {
            "client_name": "Picker",
            "token_endpoint_auth_method": "client_secret_basic",
            "grant_types": ["client_credentials"],
            "access_token_strategy": "opaque",
            "subject_type": "public",
            "scope": ["openid", "invoices:read"],
            "scope_other": "legacy:thing  invoices:read",
        },
    )
    assert made.status_code == 201, made.content.decode()[:3000]
    client = next(c for c in clients.list_for(tenant, page_size=50).items if c.client_name == "Picker")
    assert client.scope == "openid invoices:read legacy:thing"
    edit = member.get(f"/console/clients/{client.client_id}/edit").content.decode()
    assert 'value="invoices:read" id="id_scope_' in edit and 'value="legacy:thing"' in edit


@pytest.mark.integration
@pytest.mark.django_db
def test_the_hygiene_report_flags_a_scope_not_in_the_catalogue_and_its_fix_removes_it(ory, tenant):
    from oauth2_admin.clients import service as clients
    from oauth2_admin.hygiene import service as hygiene

    _templates(tenant)
    client, _ = clients.create_for(
        None,
        tenant,
        {
            "client_name": "Lint me",
            "grant_types": ["client_credentials"],
            "scope": "openid invoices:read x:y",
        },
    )
    finding = next(f for f in hygiene.findings_for(tenant, client) if f.rule == "scope-not-in-catalogue")
    assert "invoices:read, x:y" in finding.detail and finding.fix is not None
    service.create(None, tenant, GOOD)
    finding = next(f for f in hygiene.findings_for(tenant, client) if f.rule == "scope-not-in-catalogue")
    assert finding.detail.startswith("x:y ")
    fixed = hygiene.apply_fix(None, tenant, client.client_id, "scope-not-in-catalogue", if_match=None)
    assert fixed.scope == "openid invoices:read"
    assert "scope-not-in-catalogue" not in {f.rule for f in hygiene.findings_for(tenant, fixed)}


@pytest.mark.django_db
def test_the_claims_page_says_which_scope_releases_each_claim(console, tenant):
    _templates(tenant)
    service.create(None, tenant, GOOD)
    html = console("viewer").get("/console/claims/").content.decode()
    table = html[html.index('id="claims-released-table"') :]
    assert (
        "<code>billing_account</code></td><td>Access token</td><td>with scope <code>invoices:read</code>"
        in table
    )
    assert "<code>org</code></td><td>ID token</td><td>every sign-in" in table


@pytest.mark.django_db
def test_the_consent_ledger_counts_grants_per_scope_with_the_catalogue_title(console, tenant, other_tenant):
    _templates(tenant)
    service.create(None, tenant, GOOD)
    for client_id, scope, people in [
        ("a", "", 3),
        ("a", "invoices:read", 2),
        ("b", "", 2),
        ("b", "invoices:read", 1),
        ("b", "email", 2),
        ("b", "custom:x", 1),
    ]:
        ScopeCount.objects.create(tenant=tenant, client_id=client_id, scope=scope, people=people)
    ScopeCount.objects.create(tenant=other_tenant, client_id="c", scope="invoices:read", people=50)
    for each in (tenant, other_tenant):  # the per-tenant counters, as the ledger keeps them in step
        ledger.recount_tenant(each)
    grants = {g.name: (g.title, g.grants) for g in service.grants_per_scope(tenant)}
    assert grants == {
        "invoices:read": ("Read your invoices", 3),
        "email": ("Your email address", 2),
        "custom:x": ("", 1),
    }
    html = console("viewer").get("/console/consents/").content.decode()
    table = html[html.index('id="scope-grants"') :]
    assert "<code>invoices:read</code></td><td>Read your invoices</td><td>3</td>" in table
    assert "not in the catalogue" in table


@pytest.mark.django_db
def test_the_nav_has_the_scopes_page(console):
    html = console("viewer").get("/console/scopes/").content.decode()
    assert 'href="/console/scopes/" aria-current="page"' in html


@pytest.mark.django_db
def test_the_stored_hygiene_findings_follow_the_catalogue(tenant, django_capture_on_commit_callbacks):
    from oauth2_admin.hygiene import snapshot
    from oauth2_admin.hygiene.models import FindingsSnapshot
    from truss.ory import hydra

    _templates(tenant)
    client = hydra.OAuth2Client(
        client_id="c1",
        client_name="Stored",
        owner=tenant.hydra_owner,
        grant_types=["client_credentials"],
        scope="openid invoices:read",
    )
    snapshot.store(tenant, client)
    assert "scope-not-in-catalogue" in FindingsSnapshot.objects.get(tenant=tenant).rules
    with django_capture_on_commit_callbacks(execute=True):
        service.create(None, tenant, GOOD)
    assert "scope-not-in-catalogue" not in FindingsSnapshot.objects.get(tenant=tenant).rules
    with django_capture_on_commit_callbacks(execute=True):
        service.delete(None, tenant, "invoices:read")
    assert "scope-not-in-catalogue" in FindingsSnapshot.objects.get(tenant=tenant).rules


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_seed_demo_adds_scopes_with_their_claims_and_the_demo_client_uses_them(ory, settings):
    import io

    from django.core.management import call_command

    from oauth2_admin.hygiene import service as hygiene
    from truss.management.commands import seed_demo
    from truss.models import Tenant
    from truss.ory import hydra

    settings.TRUSS_PUBLIC_URL = "http://127.0.0.1:8000"

    def demo_clients() -> list[hydra.OAuth2Client]:
        return hydra.list_clients(
            owner="truss:demo", client_name=seed_demo.DEMO_CLIENT_NAME, page_size=50
        ).items

    for old in demo_clients():
        hydra.delete_client(old.client_id)
    try:
        call_command("seed_demo", stdout=io.StringIO())
        call_command("seed_demo", stdout=io.StringIO())  # idempotent
        tenant = Tenant.objects.get(slug="demo")
        scopes = {s.name: s for s in Scope.objects.filter(tenant=tenant)}
        assert set(scopes) == {"invoices:read", "invoices:write"}
        assert scopes["invoices:write"].rememberable is False and scopes["invoices:write"].title_de
        assert set(scopes["invoices:write"].claims) <= set(service.claim_templates(tenant))
        assert (
            AuditEvent.objects.filter(tenant=tenant, action="oauth2.scope.create", actor="cli").count() == 2
        )
        client = demo_clients()[0]
        assert {"invoices:read", "invoices:write"} <= set(client.scope.split())
        assert "scope-not-in-catalogue" not in {f.rule for f in hygiene.findings_for(tenant, client)}
    finally:
        for old in demo_clients():
            hydra.delete_client(old.client_id)
