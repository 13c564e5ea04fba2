"""The console's client pages against the real Hydra (Django's test client; the browser test is separate)."""

from __future__ import annotations

import re

import pytest
import requests
from django.urls import reverse

from tests.fixtures.ory import client_credentials as token
from tests.fixtures.ory import in_hydra
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
        assert 'class="field group invalid"' in response.content.decode()  # the redirect-URI fieldset


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

    def test_it_refuses_a_page_token_it_did_not_hand_out_and_shows_the_first_page(
        self, ory, console, tenant, make_hydra_client
    ):
        make_hydra_client(owner=tenant.hydra_owner, client_name="only-one")
        # A raw Hydra v2.3 offset token: forwarded as is, Hydra v26.2.0 panics on this shape.
        forged = "eyJvZmZzZXQiOiIyNSIsInYiOjJ9"
        response = console("viewer").get(reverse("console:clients:list"), {"page_token": forged})
        assert response.status_code == 400
        assert b"That page link is not valid for this list" in response.content
        assert b"only-one" in response.content

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
        assert created["secret"] not in page
        page = member.get(reverse("console:clients:credentials", args=[created["id"]])).content.decode()
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
        page = member.get(url).content.decode()
        assert "deletes its access and refresh tokens with it" in page and "delete_tokens" not in page
        wrong = member.post(url, {"confirm": "something else"})
        assert wrong.status_code == 400 and in_hydra(ory, created["id"]) is not None
        done = member.post(url, {"confirm": "Console app"})
        assert done.status_code == 302 and done["Location"] == reverse("console:clients:list")
        assert in_hydra(ory, created["id"], may_be_gone=True) is None


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


def introspect(ory, access_token):
    response = requests.post(
        f"{ory.hydra_admin_url}/admin/oauth2/introspect", data={"token": access_token}, timeout=10
    )
    return response.json()


class TestRevokeTokens:
    def test_it_asks_first_on_a_confirmation_page(self, ory, member, created):
        response = member.get(reverse("console:clients:revoke_tokens", args=[created["id"]]))
        assert response.status_code == 200
        assert (
            "Revoke access tokens" in response.content.decode()
            and "window.confirm" not in response.content.decode()
        )
        assert not AuditEvent.objects.filter(action="oauth2.client.revoke_tokens").exists()

    def test_it_revokes_the_clients_tokens_and_keeps_the_client(self, ory, member, created):
        issued = token(ory, created["id"], created["secret"])
        assert issued.status_code == 200
        access_token = issued.json()["access_token"]
        assert introspect(ory, access_token)["active"] is True
        response = member.post(reverse("console:clients:revoke_tokens", args=[created["id"]]))
        assert response.status_code == 302
        assert introspect(ory, access_token)["active"] is False
        assert in_hydra(ory, created["id"]) is not None  # the client stays, and can get new tokens
        assert token(ory, created["id"], created["secret"]).status_code == 200
        event = AuditEvent.objects.get(action="oauth2.client.revoke_tokens")
        assert event.outcome == "success" and event.target == created["id"]

    def test_it_refuses_viewers_and_other_tenants(self, ory, console, other_tenant, created):
        access_token = token(ory, created["id"], created["secret"]).json()["access_token"]
        url = reverse("console:clients:revoke_tokens", args=[created["id"]])
        assert console("viewer").post(url).status_code == 403
        assert console("admin", for_tenant=other_tenant).post(url).status_code == 404
        assert introspect(ory, access_token)["active"] is True


class TestRotateConfirmation:
    def test_it_asks_before_rotating(self, ory, member, created):
        response = member.get(reverse("console:clients:rotate_secret", args=[created["id"]]))
        assert response.status_code == 200 and 'id="client-secret"' not in response.content.decode()
        assert "old secret gets 401" in response.content.decode()
        assert token(ory, created["id"], created["secret"]).status_code == 200  # nothing rotated
        detail = member.get(reverse("console:clients:detail", args=[created["id"]])).content.decode()
        assert "data-confirm" not in detail


class TestFormDefects:
    def test_it_hides_private_key_jwt_fields_for_a_secret_client_after_an_error(self, ory, member):
        bad = {**FORM, "metadata": "[not json", "jwks_uri": "https://keys.example.com/jwks.json"}
        response = member.post(reverse("console:clients:create"), bad)
        assert response.status_code == 400
        form = response.context["form"]
        assert "jwks_uri" not in form.errors  # a field that does not apply reports nothing
        html = response.content.decode()
        assert 'class="jwt-only"' in html and "data-show-when" not in html  # CSS (:has) shows it, no JS

    def test_it_drops_private_key_jwt_fields_for_a_secret_client(self, ory, member):
        response = member.post(
            reverse("console:clients:create"), {**FORM, "jwks_uri": "https://keys.example.com/jwks.json"}
        )
        assert response.status_code == 201
        assert not in_hydra(ory, response.context["client"].client_id).get("jwks_uri")

    def test_it_marks_only_the_bad_row_never_the_empty_one(self, ory, member):
        bad = {**FORM, "redirect_uris": ["https://app.example.com/cb", "not a url", ""]}
        response = member.post(reverse("console:clients:create"), bad)
        assert response.status_code == 400
        html = response.content.decode()
        assert "is not an absolute URI" in html and "white space" not in html
        rows = re.findall(r'<input type="text" name="redirect_uris"[^>]*>', html)
        assert len(rows) == 3  # the two typed values, then one empty row
        assert ['aria-invalid="true"' in r for r in rows] == [False, True, False]

    def test_it_renders_fields_through_the_field_group_template(self, ory, member):
        html = member.get(reverse("console:clients:create")).content.decode()
        described = set(re.findall(r'aria-describedby="([^"]+)"', html))
        ids = set(re.findall(r'id="([^"]+)"', html))
        missing = {ref for refs in described for ref in refs.split() if ref not in ids}
        assert missing == set()
        assert re.search(r'<fieldset class="field group"[^>]*>\s*<legend>Client type', html)
        assert re.search(r'<fieldset class="field group"[^>]*>\s*<legend>Grant types', html)
        assert re.search(
            r'<label for="id_skip_consent"><input type="checkbox"[^>]*> <span>Skip consent', html
        )


class TestLiveUriCheck:
    url = staticmethod(lambda: reverse("console:clients:check_uris"))

    def test_it_answers_each_row_with_the_servers_rules(self, ory, member):
        rows = [
            "https://app.example.com/cb#x",
            "http://app.example.com/cb",
            "not a url",
            "",
            "com.example.app:/cb",
            "https://app.example.com/cb2",
            "https://app.example.com/cb2",
        ]
        response = member.post(
            self.url(), {"field": "redirect_uris", "redirect_uris": rows}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 200
        notes = re.findall(
            r'<small class="row-note([^"]*)" id="id_redirect_uris-note-(\d)"[^>]*hx-swap-oob="true">([^<]*)<',
            response.content.decode(),
        )
        assert [(int(i), kind.strip()) for kind, i, _ in notes] == [
            (0, "error"),
            (1, "warning"),
            (2, "error"),
            (3, ""),
            (4, ""),
            (5, ""),
            (6, "error"),
        ]
        texts = [t for _, _, t in notes]
        assert "fragment" in texts[0] and "plain http" in texts[1] and "not an absolute URI" in texts[2]
        assert "duplicate" in texts[6]

    def test_it_checks_only_uri_lists_and_changes_nothing(self, ory, member):
        assert member.post(self.url(), {"field": "client_name"}).status_code == 400
        member.post(self.url(), {"field": "redirect_uris", "redirect_uris": ["x"]})
        assert not AuditEvent.objects.exists()

    def test_it_needs_a_signed_in_operator_and_csrf(self, ory, client, make_operator, tenant):
        assert client.post(self.url(), {"field": "redirect_uris"}).status_code == 302
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        strict.force_login(make_operator(tenant, "member"))
        assert strict.post(self.url(), {"field": "redirect_uris"}).status_code == 403


class TestDeniedWrites:
    def test_it_audits_a_refused_write_once_and_not_a_refused_read(self, ory, console, created):
        viewer = console("viewer")
        assert viewer.get(reverse("console:clients:edit", args=[created["id"]])).status_code == 403
        assert not AuditEvent.objects.filter(outcome="denied").exists()
        assert (
            viewer.post(reverse("console:clients:delete", args=[created["id"]]), {"confirm": "x"}).status_code
            == 403
        )
        assert viewer.post(reverse("console:clients:create"), FORM).status_code == 403
        denied = list(
            AuditEvent.objects.filter(outcome="denied").order_by("id").values_list("action", "target")
        )
        assert denied == [("oauth2.client.delete", created["id"]), ("oauth2.client.create", "")]
        assert in_hydra(ory, created["id"]) is not None


class TestAuditNames:
    def test_it_names_and_links_the_tenants_clients_in_the_audit_log(self, ory, member, created):
        html = member.get(reverse("console:audit:log")).content.decode()
        detail = reverse("console:clients:detail", args=[created["id"]])
        assert f'<a href="{detail}" title="{created["id"]}">Console app</a>' in html


class TestJsonFields:
    """The metadata and JWKS text areas go through the API's one JSON parser: field messages, never a 500."""

    DEEP = '{"a": ' * 5000 + "1" + "}" * 5000

    @pytest.mark.parametrize(
        ("text", "needle"),
        [
            (DEEP, "nests deeper than"),
            ("[" * 5000 + "]" * 5000, "nests deeper than"),
            ('{"x": NaN}', "NaN"),
            ('{"x": "\\u0000"}', "cannot be stored"),
            ("[not json", "not valid JSON"),
        ],
    )
    def test_it_puts_what_the_parser_refuses_on_the_metadata_field(self, ory, member, text, needle):
        response = member.post(reverse("console:clients:create"), {**FORM, "metadata": text})
        assert response.status_code == 400
        assert needle in " ".join(response.context["form"].errors["metadata"])
        assert AuditEvent.objects.get(action="oauth2.client.create").outcome == "failure"

    def test_it_refuses_a_deep_metadata_edit_and_keeps_the_client(self, ory, member, created):
        url = reverse("console:clients:edit", args=[created["id"]])
        response = member.post(url, {**FORM, "metadata": self.DEEP})
        assert response.status_code == 400 and "metadata" in response.context["form"].errors
        assert in_hydra(ory, created["id"])["metadata"] == {"team": "web"}

    def test_it_refuses_a_deep_jwks_text(self, ory, member):
        form = {**FORM, "token_endpoint_auth_method": "private_key_jwt", "jwks": self.DEEP}
        response = member.post(reverse("console:clients:create"), form)
        assert response.status_code == 400
        assert "nests deeper than" in " ".join(response.context["form"].errors["jwks"])
