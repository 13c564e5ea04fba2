from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from truss import apikeys
from truss.models import AuditEvent, Membership, Tenant

pytestmark = pytest.mark.django_db


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **kwargs)
    return out.getvalue()


class TestCreateTenant:
    def test_it_creates_a_tenant_once(self):
        assert "Created" in run("create_tenant", "acme", name="Acme Corp")
        assert "Exists" in run("create_tenant", "acme")
        assert Tenant.objects.get(slug="acme").name == "Acme Corp"
        assert AuditEvent.objects.filter(action="tenant.create").count() == 1

    def test_it_rejects_an_invalid_slug(self):
        with pytest.raises(CommandError, match="not a valid slug"):
            run("create_tenant", "Acme Corp")


class TestCreateApiKey:
    def test_it_prints_only_the_key(self, tenant):
        out = run("create_api_key", tenant=tenant.slug, role="service_role")
        assert re.fullmatch(r"truss_sk_[A-Za-z0-9]{48}\n", out)
        assert apikeys.authenticate(out.strip()).role == "service_role"

    def test_it_refuses_an_unknown_tenant(self):
        with pytest.raises(CommandError, match="No tenant 'nope'"):
            run("create_api_key", tenant="nope", role="anon")


class TestCreateOperator:
    def test_it_creates_an_operator_with_a_role(self, tenant):
        run("create_operator", "alice", tenant=tenant.slug, role="viewer", password="a-long-password-1")
        user = User.objects.get(username="alice")
        assert user.check_password("a-long-password-1")
        assert Membership.objects.get(user=user, tenant=tenant).role == "viewer"

    def test_it_updates_the_role_and_keeps_the_password(self, tenant):
        run("create_operator", "alice", tenant=tenant.slug, role="viewer", password="a-long-password-1")
        run("create_operator", "alice", tenant=tenant.slug, role="admin")
        user = User.objects.get(username="alice")
        assert user.check_password("a-long-password-1")
        assert Membership.objects.get(user=user).role == "admin"
