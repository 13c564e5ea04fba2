"""Console pages against the real Hydra and Kratos: find a person, consents, revoke, sessions."""

from __future__ import annotations

import re

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client

from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_finds_a_person_by_email_only_in_a_tenant_they_consented_to(
    console, tenant, other_tenant, make_app, grant, make_identity
):
    person = make_identity(name="Jane Roe")
    app = make_app(tenant, client_name="Photo Book")
    grant(app, person["id"], scope="openid email")
    me = console("viewer")
    found = me.get("/console/consents/", {"q": person["email"].upper()})
    assert found.status_code == 302 and found["Location"] == f"/console/consents/people/{person['id']}/"
    page = me.get(found["Location"])
    html = page.content.decode()
    assert page.status_code == 200 and "Jane Roe" in html and "verified" in html and "Photo Book" in html
    assert f'href="/console/clients/{app["client_id"]}/"' in html and "until revoked" in html
    assert "Revoke…" not in html  # viewers cannot revoke

    # The other tenant: the same answer as for nobody at all.
    them = console("admin", for_tenant=other_tenant)
    assert them.get("/console/consents/", {"q": person["email"]}).status_code == 404
    assert them.get("/console/consents/", {"q": "nobody-at-all@example.test"}).status_code == 404
    assert them.get(f"/console/consents/people/{person['id']}/").status_code == 404
    assert "No such person" in them.get("/console/consents/", {"q": person["email"]}).content.decode()
    bad = me.get("/console/consents/", {"q": "not an id"})
    assert bad.status_code == 400 and "identity id like" in bad.content.decode()

    # A platform admin sees anyone Kratos has.
    root = Client()
    root.force_login(User.objects.create_superuser(f"root-{person['id'][:6]}", password="pw-for-tests-123"))
    loner = make_identity()
    assert root.get("/console/consents/", {"q": loner["email"]}).status_code == 302


def test_it_revokes_after_a_confirmation_with_csrf(
    console, make_operator, tenant, make_app, grant, make_identity, in_hydra
):
    person = make_identity()
    app = make_app(tenant, client_name="Notes")
    grant(app, person["id"])
    url = f"/console/consents/people/{person['id']}/revoke?client={app['client_id']}"
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(make_operator(tenant, "member"))
    confirm = strict.get(url)
    text = confirm.content.decode()
    assert confirm.status_code == 200 and "revokes every access and refresh token" in text and "Notes" in text
    assert "end their login sessions" not in text.lower()  # platform admins only
    assert strict.post(url).status_code == 403  # no CSRF token
    assert in_hydra(person["id"]) == [app["client_id"]]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)
    done = strict.post(url, {"csrfmiddlewaretoken": token})
    assert done.status_code == 302 and done["Location"] == "/console/consents/"
    assert in_hydra(person["id"]) == []
    assert AuditEvent.objects.filter(tenant=tenant, action="consent.revoke", outcome="success").count() == 1
    assert console("viewer").get(url).status_code == 403


def test_it_lists_kratos_sessions_and_lets_only_platform_admins_end_one(
    browser_for, make_app, make_identity, tenant, console, live_bridge
):
    person, app, browser = make_identity(), make_app(tenant), browser_for()
    _, login_page = browser.authorize(app["client_id"])
    browser.callback(browser.answer_consent(browser.sign_in(login_page, person["email"], person["password"])))
    session_id = browser.kratos_session().json()["id"]

    member = console("admin")
    page = member.get(f"/console/consents/people/{person['id']}/").content.decode()
    assert "password" in page and "aal1" in page and "End this session" not in page
    end_url = f"/console/consents/people/{person['id']}/sessions/{session_id}/end"
    assert member.post(end_url).status_code == 403

    root = Client()
    root.force_login(User.objects.create_superuser(f"root-{person['id'][:6]}", password="pw-for-tests-123"))
    page = root.get(f"/console/consents/people/{person['id']}/").content.decode()
    assert "End this session" in page and "python-requests" in page
    assert "signed out of every application" in root.get(end_url).content.decode()
    assert root.post(end_url).status_code == 302
    assert browser.kratos_session().status_code == 401
    kratos = requests.get(f"{live_bridge.kratos_admin_url}/admin/sessions/{session_id}", timeout=10).json()
    assert kratos["active"] is False
    events = AuditEvent.objects.filter(action="identity.session.disable")
    assert events.count() == 1 and events.get().before["active"] is True
    assert root.post(f"/console/consents/people/{person['id']}/sessions/not-a-session/end").status_code == 404


def test_it_shows_an_unavailable_page_when_hydra_is_down(console, hydra_down):
    page = console("viewer").get("/console/consents/", {"q": "jane@example.test"})
    assert page.status_code == 503
