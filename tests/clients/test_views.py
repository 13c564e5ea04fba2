"""The console's client pages against the real Hydra (Django's test client; the browser test is separate)."""

from __future__ import annotations

import re

import pytest
import requests
from django.urls import reverse

from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

FORM = {
    "client_name": "Console app",
    "token_endpoint_auth_method": "client_secret_basic",
    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
    "redirect_uris": ["https://app.example.com/cb", "https://app.example.com/cb2", ""],
    "post_logout_redirect_uris": [""],
    "scope": "openid offline_access",
    "audience": [""],
    "subject_type": "public",
    "access_token_strategy": "",
    "contacts": [""],
    "logo_uri": "https://app.example.com/logo.png",
    "metadata": '{"team": "web"}',
}


def in_hydra(ory, client_id):
    response = requests.get(f"{ory.hydra_admin_url}/admin/clients/{client_id}", timeout=10)
    return response.json() if response.status_code == 200 else None


def secret_on(response) -> str:
    return re.search(
        r'id="client-secret" type="text" readonly value="([^"]+)"', response.content.decode()
    ).group(1)


@pytest.fixture
def member(console, ory):
    return console("member")


@pytest.fixture
def created(member, ory):
    response = member.post(reverse("console:clients:create"), FORM)
    assert response.status_code == 201, response.content.decode()[:2000]
    client_id = response.context["client"].client_id
    return {"id": client_id, "secret": secret_on(response)}


def token(ory, client_id, secret):
    return requests.post(f"{ory.hydra_public_url}/oauth2/token", auth=(client_id, secret),
                         data={"grant_type": "client_credentials"}, timeout=10)  # fmt: skip


class TestCreate:
    def test_it_creates_a_client_and_shows_the_secret_once(self, ory, member, created, tenant):
        stored = in_hydra(ory, created["id"])
        assert stored["redirect_uris"] == ["https://app.example.com/cb", "https://app.example.com/cb2"]
        assert stored["owner"] == tenant.hydra_owner and stored["metadata"] == {"team": "web"}
        assert token(ory, created["id"], created["secret"]).status_code == 200
        detail = member.get(reverse("console:clients:detail", args=[created["id"]])).content.decode()
        assert created["secret"] not in detail and "Copy the client secret now" not in detail
        assert AuditEvent.objects.get(action="oauth2.client.create").target == created["id"]

    def test_it_shows_field_errors_and_creates_nothing(self, ory, member):
        bad = {
            **FORM,
            "client_name": "Broken",
            "redirect_uris": ["https://app.example.com/cb#frag"],
            "metadata": "[1]",
        }
        response = member.post(reverse("console:clients:create"), bad)
        assert response.status_code == 400
        form = response.context["form"]
        assert "metadata" in form.errors
        assert (
            requests.get(
                f"{ory.hydra_admin_url}/admin/clients", params={"client_name": "Broken"}, timeout=10
            ).json()
            == []
        )
        assert AuditEvent.objects.get(action="oauth2.client.create").outcome == "failure"

    def test_it_puts_service_errors_on_the_right_field(self, ory, member):
        bad = {**FORM, "client_name": "Frag", "redirect_uris": ["https://app.example.com/cb#frag"]}
        response = member.post(reverse("console:clients:create"), bad)
        assert response.status_code == 400
        assert "fragment" in " ".join(response.context["form"].errors["redirect_uris"])
        assert 'class="field invalid"' in response.content.decode()


class TestListAndDetail:
    def test_it_lists_only_this_tenants_clients_with_pages(
        self, ory, console, tenant, make_hydra_client, other_tenant
    ):
        for i in range(27):
            make_hydra_client(owner=tenant.hydra_owner, client_name=f"app-{i:02d}")
        make_hydra_client(owner=other_tenant.hydra_owner, client_name="not-mine")
        viewer = console("viewer")
        first = viewer.get(reverse("console:clients:list"))
        assert len(first.context["page"].items) == 25
        second = viewer.get(
            reverse("console:clients:list"), {"page_token": first.context["page"].next_page_token}
        )
        names = {c.client_name for c in first.context["page"].items} | {
            c.client_name for c in second.context["page"].items
        }
        assert names == {f"app-{i:02d}" for i in range(27)}
        assert b"not-mine" not in first.content + second.content

    def test_it_searches_by_exact_name(self, ory, console, tenant, make_hydra_client):
        make_hydra_client(owner=tenant.hydra_owner, client_name="Billing")
        make_hydra_client(owner=tenant.hydra_owner, client_name="Billing v2")
        viewer = console("viewer")
        found = viewer.get(
            reverse("console:clients:list"), {"name": "Billing"}, headers={"HX-Request": "true"}
        )
        assert found.content.count(b"<tr>") == 2  # header + the one exact match
        assert b">Billing</a>" in found.content and b"Billing v2" not in found.content
        assert b"<html" not in found.content and b'id="client-table"' in found.content

    def test_it_helps_when_there_are_no_clients(self, ory, console):
        assert b"Create your first client" in console("member").get(reverse("console:clients:list")).content

    def test_it_shows_the_detail_without_the_secret(self, ory, member, created):
        page = member.get(reverse("console:clients:detail", args=[created["id"]])).content.decode()
        assert created["id"] in page and "https://app.example.com/cb2" in page
        assert created["secret"] not in page and "curl -X POST" in page


class TestEditRotateDelete:
    def test_it_edits_and_keeps_the_secret(self, ory, member, created):
        edit_url = reverse("console:clients:edit", args=[created["id"]])
        form = member.get(edit_url).context["form"]
        data = {**FORM, "client_name": "Renamed app", "logo_uri": "", "version": form.initial["version"]}
        response = member.post(edit_url, data)
        assert response.status_code == 302, response.content.decode()[:1500]
        stored = in_hydra(ory, created["id"])
        assert stored["client_name"] == "Renamed app" and not stored.get("logo_uri")
        assert token(ory, created["id"], created["secret"]).status_code == 200

    def test_it_refuses_to_overwrite_a_concurrent_edit(self, ory, member, created):
        edit_url = reverse("console:clients:edit", args=[created["id"]])
        stale = member.get(edit_url).context["form"].initial["version"]
        assert member.post(edit_url, {**FORM, "client_name": "First", "version": stale}).status_code == 302
        response = member.post(edit_url, {**FORM, "client_name": "Second", "version": stale})
        assert response.status_code == 400
        assert "changed by someone else" in response.content.decode()
        assert in_hydra(ory, created["id"])["client_name"] == "First"

    def test_it_sets_token_lifespans(self, ory, member, created):
        url = reverse("console:clients:token_config", args=[created["id"]])
        version = member.get(url).context["form"].initial["version"]
        response = member.post(
            url, {"access_token_ttl": "300", "access_token_strategy": "jwt", "version": version}
        )
        assert response.status_code == 302, response.content.decode()[:1500]
        stored = in_hydra(ory, created["id"])
        assert stored["client_credentials_grant_access_token_lifespan"] == "5m0s"
        assert stored["access_token_strategy"] == "jwt"

    def test_it_rotates_the_secret(self, ory, member, created):
        response = member.post(reverse("console:clients:rotate_secret", args=[created["id"]]))
        new = secret_on(response)
        assert (
            response["Cache-Control"] == "no-store"
            and "previous secret no longer works" in response.content.decode()
        )
        assert token(ory, created["id"], new).status_code == 200
        assert token(ory, created["id"], created["secret"]).status_code == 401

    def test_it_deletes_only_after_the_name_is_typed(self, ory, member, created):
        url = reverse("console:clients:delete", args=[created["id"]])
        wrong = member.post(url, {"confirm": "something else", "delete_tokens": "on"})
        assert wrong.status_code == 400 and in_hydra(ory, created["id"]) is not None
        done = member.post(url, {"confirm": "Console app", "delete_tokens": "on"})
        assert done.status_code == 302 and done["Location"] == reverse("console:clients:list")
        assert in_hydra(ory, created["id"]) is None


class TestAccess:
    def test_it_lets_viewers_read_but_not_change(self, ory, console, created):
        viewer = console("viewer")
        assert viewer.get(reverse("console:clients:detail", args=[created["id"]])).status_code == 200
        for name in ("console:clients:edit", "console:clients:token_config", "console:clients:delete"):
            assert viewer.get(reverse(name, args=[created["id"]])).status_code == 403
        assert viewer.post(reverse("console:clients:rotate_secret", args=[created["id"]])).status_code == 403
        assert viewer.get(reverse("console:clients:create")).status_code == 403

    def test_it_hides_other_tenants_clients(self, ory, console, other_tenant, created):
        stranger = console("admin", for_tenant=other_tenant)
        before = in_hydra(ory, created["id"])
        for name in (
            "console:clients:detail",
            "console:clients:edit",
            "console:clients:token_config",
            "console:clients:delete",
        ):
            assert stranger.get(reverse(name, args=[created["id"]])).status_code == 404
        assert (
            stranger.post(reverse("console:clients:rotate_secret", args=[created["id"]])).status_code == 404
        )
        assert (
            stranger.post(
                reverse("console:clients:delete", args=[created["id"]]), {"confirm": "Console app"}
            ).status_code
            == 404
        )
        assert in_hydra(ory, created["id"]) == before

    def test_it_shows_the_unavailable_page_when_hydra_is_down(self, console, hydra_down):
        response = console("viewer").get(reverse("console:clients:list"))
        assert response.status_code == 503 and b"Hydra is unavailable" in response.content
