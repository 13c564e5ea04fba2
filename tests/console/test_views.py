from __future__ import annotations

import re
import time

import pytest
from django.test import Client
from django.urls import reverse

from truss import audit
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
        assert client.session.get("truss_tenant") is None

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
    def _events(self, tenant, n, action="test.thing"):
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
        self._events(tenant, 3, action="a.one")
        self._events(tenant, 2, action="a.two")
        client = console("viewer")
        assert len(client.get(reverse("console:audit:log"), {"action": "a.two"}).context["events"]) == 2
        assert (
            len(
                client.get(reverse("console:audit:log"), {"actor": "system", "action": "a.one"}).context[
                    "events"
                ]
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
        assert response.content.count(b"unavailable</span>") == 2

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
            event = audit.record(None, "x", tenant=tenant, target=f"d{days_ago}", actor="system")
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
