"""Who may do what: introspect = viewer and up, revoke = member and up, cleanup = platform admins only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.tokens.conftest import cc_token, introspect_at_hydra
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROLES = ["viewer", "member", "admin", "platform"]


@pytest.fixture
def as_role(console, tenant):
    def make(role):
        operator = console("admin" if role == "platform" else role)
        if role == "platform":
            User.objects.filter(memberships__tenant=tenant).update(is_superuser=True)
        return operator

    return make


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_introspect(ory, call, as_role, cc_client, role):
    token = cc_token(ory, cc_client())
    operator = as_role(role)
    assert call("/api/hydra/introspect", {"token": token}, as_client=operator).json()["active"] is True
    page = operator.post("/console/tokens/", {"token": token})
    assert page.status_code == 200 and 'id="token-state">active' in page.content.decode()


@pytest.mark.parametrize(
    ("role", "allowed"), [("viewer", False), ("member", True), ("admin", True), ("platform", True)]
)
def test_revoking_needs_the_member_role(ory, call, as_role, cc_client, tenant, role, allowed):
    operator = as_role(role)
    page_client = cc_client()
    api_token, page_token = cc_token(ory, cc_client()), cc_token(ory, page_client)
    response = call("/api/hydra/revoke", {"token": api_token}, as_client=operator)
    confirmation = {"token": page_token, "confirmed": "True", "confirm": page_client["client_name"]}
    page = operator.post("/console/tokens/revoke", confirmation)
    assert (response.status_code, page.status_code) == ((200, 200) if allowed else (403, 403))
    assert introspect_at_hydra(ory, api_token)["active"] is not allowed
    assert introspect_at_hydra(ory, page_token)["active"] is not allowed
    outcomes = list(
        AuditEvent.objects.filter(action="oauth2.token.revoke", tenant=tenant).values_list(
            "outcome", flat=True
        )
    )
    assert outcomes == (["success", "success"] if allowed else ["denied", "denied"])


@pytest.mark.parametrize("role", ROLES)
def test_only_platform_admins_may_clean_up(ory, settings, call, as_role, role):
    settings.HYDRA_JANITOR_DSN = ""  # the permission check comes first either way
    operator = as_role(role)
    api = call("/api/hydra/flush", {}, as_client=operator)
    page = operator.get("/console/tokens/cleanup")
    post = operator.post("/console/tokens/cleanup", {"tokens": "on"})
    if role == "platform":
        assert (api.status_code, page.status_code) == (501, 200)
        assert b"Cleanup" in operator.get("/console/tokens/").content
    else:
        assert (api.status_code, page.status_code, post.status_code) == (403, 403, 403)
        events = AuditEvent.objects.filter(action="oauth2.tokens.flush")
        assert [e.outcome for e in events] == ["denied", "denied"]
        assert b"Cleanup" not in operator.get("/console/tokens/").content


def test_an_anon_key_may_neither_introspect_nor_revoke(ory, call, make_api_key, tenant):
    anon = make_api_key(tenant, "anon")
    for path in ("/v1/oauth2/introspect", "/v1/oauth2/revoke"):
        assert call(path, {"token": "ory_at_x.y"}, apikey=anon).status_code == 403
    assert call("/v1/oauth2/introspect", {"token": "ory_at_x.y"}).status_code == 401
