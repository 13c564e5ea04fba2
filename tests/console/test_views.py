from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from truss import audit
from truss.audit import Action
from truss.models import ApiKey, AuditEvent

pytestmark = pytest.mark.django_db

CONSOLE_PAGES = [
    "console:overview",
    "console:devtools:discovery",
    "console:keys:jwks",
    "console:audit:log",
    "console:apikeys:list",
]


class TestAccess:
    @pytest.mark.parametrize("page", CONSOLE_PAGES)
    def test_it_sends_anonymous_visitors_to_sign_in(self, client, page):
        response = client.get(reverse(page))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_it_explains_when_the_operator_has_no_tenant(self, client, django_user_model):
        client.force_login(django_user_model.objects.create_user("lonely", password="x" * 12))
        response = client.get(reverse("console:audit:log"))
        assert response.status_code == 403
        assert b"No tenant yet" in response.content

    @pytest.mark.parametrize("role", ["viewer", "member"])
    def test_it_keeps_api_keys_for_admins(self, console, role):
        assert console(role).get(reverse("console:apikeys:list")).status_code == 403

    def test_it_signs_in_with_a_password(self, client, make_operator, tenant):
        user = make_operator(tenant, "viewer", username="val")
        response = client.post(reverse("login"), {"username": "val", "password": "pw-for-tests-123"})
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(user.pk)

    def test_it_refuses_a_tenant_switch_to_a_tenant_the_operator_is_not_in(self, console, other_tenant):
        client = console("admin")
        response = client.post(reverse("console:switch_tenant"), {"tenant": other_tenant.slug}, follow=True)
        assert b"not a member of that tenant" in response.content
        assert client.session.get("truss_tenant") != other_tenant.slug

    def test_it_switches_between_the_operators_tenants(self, make_operator, tenant, other_tenant, client):
        user = make_operator(tenant, "viewer")
        other_tenant.memberships.create(user=user, role="admin")
        client.force_login(user)
        client.post(
            reverse("console:switch_tenant"), {"tenant": other_tenant.slug, "next": "https://evil.example/"}
        )
        assert client.session["truss_tenant"] == other_tenant.slug
        assert client.get(reverse("console:apikeys:list")).status_code == 200  # admin in the other tenant


class TestApiKeysPage:
    def test_it_shows_a_new_key_once(self, tenant_admin, tenant):
        response = tenant_admin.post(reverse("console:apikeys:list"), {"name": "ci", "role": "service_role"})
        assert response.status_code == 201
        raw = re.search(rb"truss_sk_[A-Za-z0-9]{48}", response.content).group().decode()
        assert response["Cache-Control"] == "no-store"
        assert ApiKey.objects.get(tenant=tenant).prefix == raw[:17]
        assert raw.encode() not in tenant_admin.get(reverse("console:apikeys:list")).content
        event = AuditEvent.objects.get(action="apikey.create")
        assert event.outcome == "success" and raw not in str(event.after)

    def test_it_rejects_an_unknown_role_and_audits_the_failure(self, tenant_admin):
        response = tenant_admin.post(reverse("console:apikeys:list"), {"role": "superuser"})
        assert response.status_code == 400
        assert not ApiKey.objects.exists()
        assert AuditEvent.objects.get(action="apikey.create").outcome == "failure"

    def test_it_asks_on_a_confirmation_page_before_revoking(self, tenant_admin, tenant, make_api_key):
        make_api_key(tenant)
        key = ApiKey.objects.get()
        listing = tenant_admin.get(reverse("console:apikeys:list")).content.decode()
        assert "data-confirm" not in listing and reverse("console:apikeys:revoke", args=[key.pk]) in listing
        page = tenant_admin.get(reverse("console:apikeys:revoke", args=[key.pk]))
        assert page.status_code == 200 and b"Anything using it gets 401" in page.content
        key.refresh_from_db()
        assert key.revoked_at is None and not AuditEvent.objects.filter(action="apikey.revoke").exists()

    def test_it_revokes_a_key(self, tenant_admin, tenant, make_api_key):
        make_api_key(tenant)
        key = ApiKey.objects.get()
        response = tenant_admin.post(reverse("console:apikeys:revoke", args=[key.pk]))
        assert response.status_code == 302
        key.refresh_from_db()
        assert key.revoked_at is not None
        assert AuditEvent.objects.filter(action="apikey.revoke", target=key.prefix).exists()

    def test_it_cannot_revoke_another_tenants_key(self, tenant_admin, other_tenant, make_api_key):
        make_api_key(other_tenant)
        key = ApiKey.objects.get()
        assert tenant_admin.post(reverse("console:apikeys:revoke", args=[key.pk])).status_code == 404
        key.refresh_from_db()
        assert key.revoked_at is None

    def test_it_requires_csrf_on_forms(self, make_operator, tenant):
        client = Client(enforce_csrf_checks=True)
        client.force_login(make_operator(tenant, "admin"))
        assert client.post(reverse("console:apikeys:list"), {"role": "anon"}).status_code == 403
        assert not ApiKey.objects.exists()


class TestAuditLogPage:
    def _events(self, tenant, n, action=Action.TENANT_MEMBER_SET):
        for i in range(n):
            audit.record(None, action, tenant=tenant, target=f"target-{i}", actor="system")

    def test_it_pages_with_a_keyset_cursor(self, console, tenant):
        self._events(tenant, 120)
        client = console("viewer")
        url = reverse("console:audit:log")
        page1 = client.get(url)
        assert [e.target for e in page1.context["events"]][:2] == ["target-119", "target-118"]
        page2 = client.get(f"{url}?{page1.context['next_query']}")
        page3 = client.get(f"{url}?{page2.context['next_query']}")
        assert len(page1.context["events"]) == len(page2.context["events"]) == 50
        assert [e.target for e in page3.context["events"]] == [f"target-{i}" for i in range(19, -1, -1)]
        assert page3.context["next_query"] is None

    def test_it_filters_by_action_and_actor(self, console, tenant):
        self._events(tenant, 3, action=Action.TENANT_CREATE)
        self._events(tenant, 2, action=Action.TENANT_MEMBER_SET)
        client = console("viewer")
        assert (
            len(
                client.get(reverse("console:audit:log"), {"action": Action.TENANT_MEMBER_SET}).context[
                    "events"
                ]
            )
            == 2
        )
        assert (
            len(
                client.get(
                    reverse("console:audit:log"), {"actor": "system", "action": Action.TENANT_CREATE}
                ).context["events"]
            )
            == 3
        )
        assert client.get(reverse("console:audit:log"), {"actor": "user:nobody"}).context["events"] == []

    def test_it_never_shows_another_tenants_events(self, console, tenant, other_tenant):
        self._events(other_tenant, 3)
        assert console("admin").get(reverse("console:audit:log")).context["events"] == []

    def test_it_answers_htmx_with_the_table_partial(self, console, tenant):
        self._events(tenant, 1)
        response = console("viewer").get(reverse("console:audit:log"), headers={"HX-Request": "true"})
        assert b'id="audit-table"' in response.content
        assert b"<html" not in response.content and b"<form" not in response.content
        assert "HX-Request" in response["Vary"]

    def test_it_rejects_an_inverted_date_range(self, console):
        response = console("viewer").get(
            reverse("console:audit:log"), {"since": "2026-02-01", "until": "2026-01-01"}
        )
        assert b"end date is before the start date" in response.content


class TestHydraDown:
    """With Hydra and Kratos stopped, nothing 500s or hangs: every page says what is wrong."""

    @pytest.mark.parametrize("page", ["console:devtools:discovery", "console:keys:jwks"])
    def test_it_renders_the_unavailable_page(self, hydra_down, console, page):
        started = time.monotonic()
        response = console("viewer").get(reverse(page))
        assert time.monotonic() - started < 3
        assert response.status_code == 503
        assert b"Hydra is unavailable" in response.content
        assert b"Nothing was changed" in response.content

    def test_it_shows_the_overview_with_both_services_down(self, hydra_down, console):
        response = console("viewer").get(reverse("console:overview"))
        assert response.status_code == 200
        # One "unavailable" health card per service (the signing-key card says so too, separately).
        assert response.content.count(b"Truss cannot reach") == 2

    @pytest.mark.parametrize("page", ["console:audit:log", "console:apikeys:list"])
    def test_it_keeps_pages_that_do_not_need_hydra_working(self, hydra_down, console, page):
        assert console("admin").get(reverse(page)).status_code == 200

    def test_it_reports_not_ready(self, hydra_down, client):
        response = client.get(reverse("readyz"))
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "checks": {"database": True, "hydra": False, "kratos": False},
        }

    def test_it_keeps_liveness_green(self, hydra_down, client):
        assert client.get(reverse("healthz")).json() == {"status": "ok"}

    def test_it_answers_the_api_with_a_clear_503(self, hydra_down, client):
        response = client.get("/api/hydra/discovery")
        assert response.status_code == 503
        assert response.json()["error"] == "hydra_unavailable"
        assert response["Retry-After"] == "5"
        health = client.get("/api/hydra/health")
        assert health.status_code == 503 and health.json()["status"] == "degraded"


class TestHtmxRedirects:
    def test_it_turns_a_fragment_requests_redirect_into_hx_location(self, tenant_admin, tenant, make_api_key):
        make_api_key(tenant)
        key = ApiKey.objects.get()
        response = tenant_admin.post(
            reverse("console:apikeys:revoke", args=[key.pk]), headers={"HX-Request": "true"}
        )
        assert response.status_code == 204
        assert response["HX-Location"] == reverse("console:apikeys:list")

    def test_it_lets_boosted_requests_follow_the_redirect(self, tenant_admin, tenant, make_api_key):
        make_api_key(tenant)
        key = ApiKey.objects.get()
        headers = {"HX-Request": "true", "HX-Boosted": "true"}
        response = tenant_admin.post(reverse("console:apikeys:revoke", args=[key.pk]), headers=headers)
        assert response.status_code == 302
        assert response["Location"] == reverse("console:apikeys:list")


class TestAuditDateFilter:
    def test_it_keeps_only_events_of_the_chosen_days(self, console, tenant):
        import datetime as dt

        from django.utils import timezone

        for days_ago in (3, 2, 2, 1, 0):
            event = audit.record(
                None, Action.TENANT_MEMBER_SET, tenant=tenant, target=f"d{days_ago}", actor="system"
            )
            AuditEvent.objects.filter(pk=event.pk).update(
                created_at=timezone.now() - dt.timedelta(days=days_ago)
            )
        two_days_ago = (timezone.now() - dt.timedelta(days=2)).date().isoformat()
        yesterday = (timezone.now() - dt.timedelta(days=1)).date().isoformat()
        client = console("viewer")
        picked = client.get(
            reverse("console:audit:log"), {"since": two_days_ago, "until": yesterday}
        ).context["events"]
        assert [e.target for e in picked] == ["d1", "d2", "d2"]
        future = (timezone.now() + dt.timedelta(days=5)).date().isoformat()
        assert client.get(reverse("console:audit:log"), {"since": future}).context["events"] == []
        assert len(client.get(reverse("console:audit:log"), {"until": future}).context["events"]) == 5


class TestConsoleShell:
    def test_it_loads_htmx_without_the_debug_script_that_evals(self, console, settings):
        settings.DEBUG = True  # django-htmx adds django-htmx.js (eval after every 4xx) only in DEBUG
        html = console("viewer").get(reverse("console:audit:log")).content.decode()
        assert "django_htmx/htmx-2.min.js" in html
        assert "django-htmx.js" not in html

    def test_it_loads_page_scripts_only_on_the_pages_that_use_them(self, console):
        client = console("admin")
        for page in ("console:audit:log", "console:apikeys:list"):
            html = client.get(reverse(page)).content.decode()
            assert "js/truss.js" in html and "js/clients.js" not in html

    def test_it_words_the_403_page_without_a_double_period(self, console, make_tenant):
        viewer = console("viewer", for_tenant=make_tenant(name="Demo Inc."))
        response = viewer.get(reverse("console:apikeys:list"))
        assert response.status_code == 403
        text = response.content.decode()
        assert "In Demo Inc. your role is viewer; this needs the admin role." in text and "Inc.." not in text

    def test_it_renders_form_fields_with_described_by_ids_that_exist(self, console):
        client = console("admin")
        seen = 0
        for page in ("console:audit:log", "console:apikeys:list"):
            html = client.get(reverse(page)).content.decode()
            refs = {ref for value in re.findall(r'aria-describedby="([^"]+)"', html) for ref in value.split()}
            ids = set(re.findall(r'id="([^"]+)"', html))
            assert refs <= ids, (page, refs - ids)
            seen += len(refs)
        assert seen >= 1  # the API key form describes its name field: the check has something to check


class TestLastTenant:
    def test_it_opens_the_tenant_used_last_after_a_fresh_sign_in(self, make_operator, tenant, other_tenant):
        user = make_operator(tenant, "viewer")  # `tenant` ("Acme") sorts first: the default
        other_tenant.memberships.create(user=user, role="admin")
        first = Client()
        first.force_login(user)
        first.post(reverse("console:switch_tenant"), {"tenant": other_tenant.slug}, follow=True)
        remembered = first.cookies["truss_tenant"].value
        assert other_tenant.slug in remembered

        fresh = Client()  # a new session, as after signing out and in again
        fresh.cookies["truss_tenant"] = remembered
        fresh.force_login(user)
        assert fresh.get(reverse("console:audit:log")).context["current_tenant"] == other_tenant
        without = Client()
        without.force_login(user)
        assert without.get(reverse("console:audit:log")).context["current_tenant"] == tenant

    def test_it_ignores_a_cookie_of_another_user_or_a_forged_one(self, make_operator, tenant, other_tenant):
        user = make_operator(tenant, "viewer")
        other_tenant.memberships.create(user=user, role="admin")
        someone = make_operator(other_tenant, "admin")
        theirs = Client()
        theirs.force_login(someone)
        theirs.get(reverse("console:audit:log"))
        for value in (theirs.cookies["truss_tenant"].value, f"{user.pk}:{other_tenant.slug}"):
            client = Client()
            client.cookies["truss_tenant"] = value
            client.force_login(user)
            assert client.get(reverse("console:audit:log")).context["current_tenant"] == tenant


class TestDeniedAttempts:
    def test_it_audits_a_refused_api_key_write_but_not_a_refused_read(self, console, tenant, make_api_key):
        make_api_key(tenant)
        key = ApiKey.objects.get()
        member = console("member")
        assert member.get(reverse("console:apikeys:list")).status_code == 403
        assert not AuditEvent.objects.exists()
        assert member.post(reverse("console:apikeys:list"), {"role": "anon"}).status_code == 403
        assert member.post(reverse("console:apikeys:revoke", args=[key.pk])).status_code == 403
        events = list(AuditEvent.objects.order_by("id").values_list("action", "target", "outcome", "tenant"))
        assert events == [
            ("apikey.create", "", "denied", tenant.pk),
            ("apikey.revoke", key.prefix, "denied", tenant.pk),
        ]
        assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None

    def test_it_audits_a_viewer_saving_claims(self, console, tenant):
        response = console("viewer").post(reverse("console:claims:config"), {"id_token_claims": "{}"})
        assert response.status_code == 403
        event = AuditEvent.objects.get()
        assert (event.action, event.outcome, event.actor.startswith("user:")) == (
            "bridge.claims.update",
            "denied",
            True,
        )


class TestLogging:
    def test_it_logs_an_expected_403_in_one_line_and_each_line_once(self, settings, capsys):
        import logging

        from django.utils.log import configure_logging

        settings.DEBUG = True  # Django's own console handler is active only in DEBUG
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
        try:
            from django.core.exceptions import PermissionDenied

            try:
                raise PermissionDenied("In Acme your role is viewer; this needs the admin role.")
            except PermissionDenied:
                logging.getLogger("django.request").warning(
                    "Forbidden (Permission denied): %s", "/x", exc_info=True
                )
            logging.getLogger("django.request").warning("Not Found: %s", "/nowhere")
            try:
                raise ValueError("boom")
            except ValueError:
                logging.getLogger("django.request").error("Internal Server Error: %s", "/y", exc_info=True)
            err = capsys.readouterr().err
        finally:
            configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
        assert err.count("Forbidden (Permission denied): /x") == 1
        assert err.count("Not Found: /nowhere") == 1
        assert "raise PermissionDenied" not in err  # no traceback for an expected refusal
        assert "Traceback" in err and "ValueError: boom" in err  # real errors keep theirs


class TestHtmxHelper:
    def test_it_renders_the_partial_only_for_in_page_htmx_requests(self, rf):
        from django_htmx.middleware import HtmxDetails

        from truss import htmx

        def request(**headers):
            req = rf.get("/", headers=headers)
            req.htmx = HtmxDetails(req)
            return req

        assert htmx.render(request(), "a.html", partial="p").template_name == "a.html"
        assert htmx.render(request(HX_Request="true"), "a.html", partial="p").template_name == "a.html#p"
        boosted = request(HX_Request="true", HX_Boosted="true")
        assert htmx.render(boosted, "a.html", partial="p", status=400).template_name == "a.html"
        assert htmx.render(boosted, "a.html", status=400).status_code == 400
