"""The report page, one-click fixes (diff first, then the audited update), thresholds, the findings fragment, and
the API's refusals: another tenant's client, roles, CSRF, Hydra down."""

from __future__ import annotations

import pytest
from django.test import Client

from oauth2_admin.hygiene.models import Thresholds
from tests.fixtures.ory import in_hydra
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

POST_AUTH = {"token_endpoint_auth_method": "client_secret_post"}


def test_it_reports_every_client_with_score_and_filters(console, make_client):
    clean, post = make_client(), make_client(POST_AUTH)
    page = console("viewer").get("/console/hygiene/")
    assert page.status_code == 200
    html = page.content.decode()
    assert (
        clean.client_name in html and post.client_name in html and "Secret sent in the request body" in html
    )
    assert "fix…" not in html  # a viewer gets no fix links
    only = console("viewer").get("/console/hygiene/", {"rule": "client-secret-post"}).content.decode()
    assert post.client_name in only and clean.client_name not in only
    assert console("viewer").get("/console/hygiene/", {"severity": "severe"}).status_code == 400


def test_it_shows_the_diff_before_a_fix_and_applies_it_on_confirmation(console, make_client, ory):
    post = make_client(POST_AUTH)
    operator = console("member")
    url = f"/console/hygiene/clients/{post.client_id}/fix/client-secret-post"
    before = AuditEvent.objects.count()
    confirm = operator.get(url)
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert (
        "client_secret_post" in html
        and "client_secret_basic" in html
        and "token_endpoint_auth_method" in html
    )
    assert in_hydra(ory, post.client_id)["token_endpoint_auth_method"] == "client_secret_post"  # not yet
    assert AuditEvent.objects.count() == before
    done = operator.post(url, {"etag": confirm.context["form"].initial["etag"]})
    assert done.status_code == 302
    assert in_hydra(ory, post.client_id)["token_endpoint_auth_method"] == "client_secret_basic"
    events = AuditEvent.objects.filter(target=post.client_id).order_by("id")
    assert [(e.action, e.outcome) for e in events][-1] == ("oauth2.client.update", "success")
    assert events.count() == 3  # create, token settings, the fix
    assert operator.get(url).status_code == 404  # the rule no longer fires


def test_it_refuses_a_fix_with_a_stale_etag_or_without_one(console, make_client, ory):
    post = make_client(POST_AUTH)
    operator = console("member")
    url = f"/console/hygiene/clients/{post.client_id}/fix/client-secret-post"
    assert operator.post(url, {"etag": '"stale"'}).status_code == 412
    assert operator.post(url, {}).status_code == 400
    assert console("viewer").post(url, {"etag": "*"}).status_code == 403
    assert in_hydra(ory, post.client_id)["token_endpoint_auth_method"] == "client_secret_post"


def test_it_serves_a_clients_findings_as_a_fragment(console, make_client):
    post = make_client(POST_AUTH)
    url = f"/console/hygiene/clients/{post.client_id}/findings"
    fragment = console("viewer").get(url, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and b"<html" not in fragment.content
    assert b"client-secret-post" in fragment.content and b"score 96/100" in fragment.content
    assert b"<html" in console("viewer").get(url).content


def test_it_hides_another_tenants_client(console, make_client, other_tenant, api):
    theirs = make_client(POST_AUTH, for_tenant=other_tenant)
    assert console("admin").get(f"/console/hygiene/clients/{theirs.client_id}/history").status_code == 404
    assert (
        console("admin")
        .get(f"/console/hygiene/clients/{theirs.client_id}/fix/client-secret-post")
        .status_code
        == 404
    )
    for path in ("findings", "versions", "versions/1", "versions/1/diff/1", "drift"):
        assert api.call("GET", f"/clients/{theirs.client_id}/{path}").status_code == 404, path
    assert api.call("POST", f"/clients/{theirs.client_id}/versions/1/restore").status_code == 404
    assert theirs.client_id not in api.call("GET", "/findings").content.decode()


def test_it_lists_the_tenant_report_as_json(api, make_client):
    post = make_client(POST_AUTH)
    report = api.call("GET", "/findings").json()
    row = next(r for r in report["items"] if r["client_id"] == post.client_id)
    assert row["score"] == 96 and row["findings"][0]["fix"]["changes"] == {
        "token_endpoint_auth_method": "client_secret_basic"
    }
    assert report["counts"]["low"] >= 1
    one = api.call("GET", f"/clients/{post.client_id}/findings").json()
    assert [f["rule"] for f in one["findings"]] == ["client-secret-post"]


def test_it_needs_the_member_role_and_csrf_for_session_writes(console, make_client, ory):
    client = make_client()
    url = f"/api/hydra/clients/{client.client_id}/versions/1/restore"
    assert console("viewer").post(url).status_code == 403
    strict = console("member", enforce_csrf_checks=True)
    assert strict.post(url).status_code == 403
    assert console("member").get(f"/api/hydra/clients/{client.client_id}/versions").status_code == 200


def test_it_answers_503_when_hydra_is_down(tenant, make_api_key, hydra_down, console):
    key = {"apikey": make_api_key(tenant)}
    response = Client().get("/v1/oauth2/findings", headers=key)  # the snapshot only: no Hydra call
    assert response.status_code == 200 and response.json()["stale"] is True
    assert Client().get("/v1/oauth2/clients/abc/versions", headers=key).status_code == 503
    assert console("viewer").get("/console/hygiene/").status_code == 503


def test_it_saves_thresholds_and_refuses_bad_ones(console, tenant, make_client):
    admin = console("admin")
    bad = admin.post(
        "/console/hygiene/thresholds",
        {
            "secret_max_age_days": "0",
            "idle_days": "90",
            "max_access_token_seconds": "3600",
            "max_jwt_access_token_seconds": "900",
            "max_refresh_token_seconds": "2592000",
            "own_hosts_text": "https://x.example",
        },
    )
    assert bad.status_code == 400 and not Thresholds.objects.filter(tenant=tenant).exists()
    assert "not a host name" in bad.content.decode() and "between 1 and 3650" in bad.content.decode()
    ok = admin.post(
        "/console/hygiene/thresholds",
        {
            "secret_max_age_days": "30",
            "idle_days": "90",
            "max_access_token_seconds": "600",
            "max_jwt_access_token_seconds": "300",
            "max_refresh_token_seconds": "86400",
            "own_hosts_text": "App.Example.com\n",
        },
    )
    assert ok.status_code == 302
    saved = Thresholds.objects.get(tenant=tenant)
    assert saved.own_hosts == ["app.example.com"] and saved.max_access_token_seconds == 600
    assert (
        AuditEvent.objects.filter(action="hygiene.thresholds.update").count() == 2
    )  # one failure, one success
    clean = make_client()  # 1800 s access tokens: over the new 600 s limit
    flagged = console("viewer").get("/console/hygiene/", {"rule": "access-token-lifespan"})
    assert clean.client_name in flagged.content.decode()
    assert console("member").get("/console/hygiene/thresholds").status_code == 403


def test_it_restores_from_the_history_page_after_showing_the_diff(console, make_client, ory, api):
    client = make_client()
    api.call("PUT", f"/clients/{client.client_id}", {"client_name": "Renamed"})
    operator = console("member")
    history = operator.get(f"/console/hygiene/clients/{client.client_id}/history", {"a": 2, "b": 3})
    assert history.status_code == 200 and b"Renamed" in history.content
    confirm = operator.get(f"/console/hygiene/clients/{client.client_id}/versions/1/restore")
    assert confirm.status_code == 200 and b"Renamed" in confirm.content
    assert in_hydra(ory, client.client_id)["client_name"] == "Renamed"
    done = operator.post(
        f"/console/hygiene/clients/{client.client_id}/versions/1/restore",
        {"etag": confirm.context["form"].initial["etag"]},
    )
    assert done.status_code == 302
    assert in_hydra(ory, client.client_id)["client_name"] == client.client_name
    assert operator.get(f"/console/hygiene/clients/{client.client_id}/history", {"a": 9}).status_code == 400
