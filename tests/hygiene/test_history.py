"""Versions from the audit log, diff and restore; drift made with Hydra's admin API, adopt and restore; the sweep.
Everything through the JSON API (service_role key) and checked against Hydra itself."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from oauth2_admin.hygiene import history
from tests.fixtures.ory import in_hydra
from tests.hygiene.conftest import change_in_hydra
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def create(api, **extra):
    body = {
        "client_name": "History app",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": ["https://app.example.com/cb"],
        **extra,
    }
    response = api.call("POST", "/clients", body)
    assert response.status_code == 201, response.content
    return response.json()["client_id"]


def versions(api, client_id):
    response = api.call("GET", f"/clients/{client_id}/versions")
    assert response.status_code == 200, response.content
    return response.json()["items"]


def edit_three_times(api, client_id):
    assert api.call("PUT", f"/clients/{client_id}", {"client_name": "Renamed"}).status_code == 200
    assert (
        api.call("PATCH", f"/clients/{client_id}/token-config", {"access_token_ttl": 600}).status_code == 200
    )
    body = {"redirect_uris": ["https://app.example.com/cb", "https://app.example.com/cb2"]}
    assert api.call("PUT", f"/clients/{client_id}", body).status_code == 200


def test_it_numbers_three_edits_as_three_more_versions_and_diffs_them(api):
    client_id = create(api)
    assert [v["number"] for v in versions(api, client_id)] == [1]
    edit_three_times(api, client_id)
    items = versions(api, client_id)
    assert [(v["number"], v["action"]) for v in items] == [
        (1, "oauth2.client.create"),
        (2, "oauth2.client.update"),
        (3, "oauth2.client.token_config"),
        (4, "oauth2.client.update"),
    ]
    assert all(v["actor"].startswith("apikey:truss_sk_") for v in items)
    diff = api.call("GET", f"/clients/{client_id}/versions/1/diff/3").json()["changes"]
    by_field = {c["field"]: c for c in diff}
    assert by_field["client_name"] == {
        "field": "client_name",
        "change": "changed",
        "before": "History app",
        "after": "Renamed",
    }
    assert by_field["client_credentials_grant_access_token_lifespan"]["change"] == "added"
    assert by_field["authorization_code_grant_access_token_lifespan"]["after"] == "10m0s"
    assert "redirect_uris" not in by_field  # changed only in version 4
    one = api.call("GET", f"/clients/{client_id}/versions/1").json()
    assert one["client"]["client_name"] == "History app" and "client_secret" not in one["client"]


def test_it_shows_a_rotation_as_rotated_never_the_secret(api):
    client_id = create(api)
    rotated = api.call("POST", f"/clients/{client_id}/secret").json()["client_secret"]
    items = versions(api, client_id)
    assert items[-1]["changes"] == [
        {"field": "client_secret", "change": "rotated", "before": "rotated", "after": "rotated"}
    ]
    diff = api.call("GET", f"/clients/{client_id}/versions/1/diff/2")
    assert rotated not in diff.content.decode() and "rotated" in diff.content.decode()


def test_it_restores_version_one_as_a_new_version(api, ory):
    client_id = create(api)
    edit_three_times(api, client_id)
    version_one = api.call("GET", f"/clients/{client_id}/versions/1").json()["client"]
    etag = api.call("GET", f"/clients/{client_id}")["ETag"]
    response = api.call("POST", f"/clients/{client_id}/versions/1/restore", headers={"If-Match": etag})
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 5
    assert history.comparable(in_hydra(ory, client_id)) == history.comparable(
        version_one
    )  # lifespans included
    items = versions(api, client_id)
    assert len(items) == 5 and items[-1]["actor"].startswith("apikey:")
    assert api.call("GET", f"/clients/{client_id}/versions/1/diff/5").json()["changes"] == []


def test_it_refuses_a_restore_over_a_concurrent_change(api, ory):
    client_id = create(api)
    etag = api.call("GET", f"/clients/{client_id}")["ETag"]
    api.call("PUT", f"/clients/{client_id}", {"client_name": "Someone else"})
    response = api.call("POST", f"/clients/{client_id}/versions/1/restore", headers={"If-Match": etag})
    assert response.status_code == 412 and response.json()["error"] == "precondition_failed"
    assert in_hydra(ory, client_id)["client_name"] == "Someone else"
    assert len(versions(api, client_id)) == 2


def test_it_answers_404_for_a_missing_version(api):
    client_id = create(api)
    assert api.call("GET", f"/clients/{client_id}/versions/7").status_code == 404
    assert api.call("GET", f"/clients/{client_id}/versions/1/diff/9").status_code == 404
    assert api.call("POST", f"/clients/{client_id}/versions/0/restore").status_code == 404


def test_it_detects_a_change_made_with_hydras_admin_api_and_adopts_it(api, ory, tenant):
    client_id = create(api)
    assert api.call("GET", f"/clients/{client_id}/drift").json()["drifted"] is False
    change_in_hydra(ory, client_id, client_name="Changed behind Truss", scope="openid admin")
    found = api.call("GET", f"/clients/{client_id}/drift").json()
    assert found["drifted"] is True and found["known_version"] == 1
    assert {c["field"] for c in found["changes"]} == {"client_name", "scope"}
    adopted = api.call("POST", f"/clients/{client_id}/drift/adopt", headers={"If-Match": found["etag"]})
    assert adopted.status_code == 200, adopted.content
    assert adopted.json()["version"] == 2
    event = AuditEvent.objects.get(target=client_id, action="oauth2.client.drift_adopt")
    assert (
        event.before["client_name"] == "History app" and event.after["client_name"] == "Changed behind Truss"
    )
    assert api.call("GET", f"/clients/{client_id}/drift").json()["drifted"] is False
    etag = api.call("GET", f"/clients/{client_id}/drift").json()["etag"]
    again = api.call("POST", f"/clients/{client_id}/drift/adopt", headers={"If-Match": etag})
    assert again.status_code == 400  # nothing to adopt any more


def test_it_refuses_to_adopt_what_changed_again(api, ory):
    client_id = create(api)
    change_in_hydra(ory, client_id, client_name="First")
    etag = api.call("GET", f"/clients/{client_id}/drift").json()["etag"]
    change_in_hydra(ory, client_id, client_name="Second")
    assert (
        api.call("POST", f"/clients/{client_id}/drift/adopt", headers={"If-Match": etag}).status_code == 412
    )
    assert len(versions(api, client_id)) == 1


def test_it_restores_truss_version_over_drift_from_the_console(api, ory, console, tenant):
    client_id = create(api)
    change_in_hydra(ory, client_id, client_name="Changed behind Truss")
    operator = console("member")
    page = operator.get(f"/console/hygiene/clients/{client_id}/drift")
    assert page.status_code == 200 and b"Changed outside Truss" in page.content
    assert b"Changed behind Truss" in page.content
    etag = page.context["form"].initial["etag"]
    response = operator.post(f"/console/hygiene/clients/{client_id}/drift/restore", {"etag": etag})
    assert response.status_code == 302
    assert in_hydra(ory, client_id)["client_name"] == "History app"
    assert api.call("GET", f"/clients/{client_id}/drift").json()["drifted"] is False


def test_it_sweeps_every_tenant_and_records_each_drift_once(api, ory, tenant):
    client_id, quiet = create(api), create(api)
    change_in_hydra(ory, client_id, client_name="Drifted")
    out = StringIO()
    call_command("sweep_drift", "--tenant", tenant.slug, stdout=out)
    assert client_id in out.getvalue() and quiet not in out.getvalue() and "recorded" in out.getvalue()
    call_command("sweep_drift", "--tenant", tenant.slug, stdout=StringIO())
    assert AuditEvent.objects.filter(target=client_id, action="oauth2.client.drift_detected").count() == 1
