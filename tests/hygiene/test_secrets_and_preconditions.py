"""Versions keep secrets only as "[redacted]": a restore keeps the current client's secret values (never writes the
placeholder) or refuses; drift compares both sides redacted. Restore and adopt need If-Match (428 without).
Through the JSON API and the console, checked against the real Hydra."""

from __future__ import annotations

from html import unescape

import pytest

from tests.fixtures.ory import in_hydra
from tests.hygiene.conftest import change_in_hydra
from truss.models import AuditEvent
from truss.redaction import REDACTED

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SECRETS = {"webhook_secret": "whsec-one", "api_token": "tok-one", "team": "payments"}


def create(api, **extra):
    body = {
        "client_name": "Secret app",
        "grant_types": ["authorization_code", "refresh_token"],
        "redirect_uris": ["https://app.example.com/cb"],
        **extra,
    }
    response = api.call("POST", "/clients", body)
    assert response.status_code == 201, response.content
    return response.json()["client_id"]


def etag(api, client_id):
    return api.call("GET", f"/clients/{client_id}")["ETag"]


def put(api, client_id, body):
    response = api.call("PUT", f"/clients/{client_id}", body)
    assert response.status_code == 200, response.content


def restore(api, client_id, number, **headers):
    return api.call("POST", f"/clients/{client_id}/versions/{number}/restore", headers=headers)


def test_it_restores_a_version_with_the_current_secrets_never_the_placeholder(api, ory):
    client_id = create(api, metadata=SECRETS)
    put(api, client_id, {"client_name": "Renamed"})
    put(api, client_id, {"metadata": {**SECRETS, "webhook_secret": "whsec-two", "team": "billing"}})
    response = restore(api, client_id, 1, **{"If-Match": etag(api, client_id)})
    assert response.status_code == 200, response.content
    stored = in_hydra(ory, client_id)
    assert stored["client_name"] == "Secret app"
    assert stored["metadata"] == {"webhook_secret": "whsec-two", "api_token": "tok-one", "team": "payments"}
    assert REDACTED not in str(stored)
    assert api.call("GET", f"/clients/{client_id}/drift").json()["drifted"] is False


def test_it_keeps_nested_secrets_by_their_path(api, ory):
    metadata = {"hooks": {"slack": {"token": "xoxb-1", "channel": "#ops"}}, "notes": ["a"]}
    client_id = create(api, metadata=metadata)
    put(
        api,
        client_id,
        {"metadata": {"hooks": {"slack": {"token": "xoxb-2", "channel": "#dev"}}, "notes": ["b"]}},
    )
    assert restore(api, client_id, 1, **{"If-Match": etag(api, client_id)}).status_code == 200
    assert in_hydra(ory, client_id)["metadata"] == {
        "hooks": {"slack": {"token": "xoxb-2", "channel": "#ops"}},
        "notes": ["a"],
    }


def test_it_refuses_a_restore_whose_secret_has_no_current_value(api, ory):
    client_id = create(api, metadata={"db_password": "hunter2", "team": "data"})
    put(api, client_id, {"metadata": {"team": "data"}})
    before = in_hydra(ory, client_id)
    response = restore(api, client_id, 1, **{"If-Match": etag(api, client_id)})
    assert response.status_code == 400, response.content
    message = " ".join(response.json()["fields"]["metadata.db_password"])
    assert "Version 1" in message and "no current value" in message
    assert in_hydra(ory, client_id) == before
    failed = AuditEvent.objects.filter(target=client_id, action="oauth2.client.update", outcome="failure")
    assert failed.count() == 1


def test_it_does_not_call_a_client_with_a_secret_in_its_metadata_drifted(api, ory, tenant, console):
    client_id = create(api, metadata={"db_password": "hunter2"})
    found = api.call("GET", f"/clients/{client_id}/drift").json()
    assert found["drifted"] is False and found["changes"] == []
    page = console("viewer").get(f"/console/hygiene/clients/{client_id}/history")
    assert page.status_code == 200 and page.context["drifted"] is False
    change_in_hydra(ory, client_id, client_name="Changed behind Truss")
    changed = api.call("GET", f"/clients/{client_id}/drift").json()
    assert [c["field"] for c in changed["changes"]] == ["client_name"]  # a real change is still seen


def test_it_shows_no_secret_change_in_the_restore_preview(api, console):
    client_id = create(api, metadata=SECRETS)
    put(api, client_id, {"client_name": "Renamed"})
    page = console("member").get(f"/console/hygiene/clients/{client_id}/versions/1/restore")
    assert page.status_code == 200
    assert [c.field for c in page.context["changes"]] == ["client_name"]


def test_it_requires_if_match_to_restore(api, ory):
    client_id = create(api)
    put(api, client_id, {"client_name": "Renamed"})
    response = restore(api, client_id, 1)
    assert response.status_code == 428, response.content
    assert response.json()["error"] == "precondition_required" and "If-Match" in response.json()["message"]
    assert in_hydra(ory, client_id)["client_name"] == "Renamed"
    refused = AuditEvent.objects.filter(target=client_id, action="oauth2.client.update", outcome="failure")
    assert refused.count() == 1
    assert restore(api, client_id, 1, **{"If-Match": "*"}).status_code == 200  # an explicit "whatever it is"


def test_it_requires_if_match_to_adopt(api, ory):
    client_id = create(api)
    change_in_hydra(ory, client_id, client_name="Changed behind Truss")
    response = api.call("POST", f"/clients/{client_id}/drift/adopt")
    assert response.status_code == 428 and response.json()["error"] == "precondition_required"
    assert api.call("GET", f"/clients/{client_id}/drift").json()["drifted"] is True
    events = AuditEvent.objects.filter(target=client_id, action="oauth2.client.drift_adopt")
    assert [e.outcome for e in events] == ["failure"]


def test_it_documents_428_for_restore_and_adopt(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/v1/oauth2/clients/{client_id}/versions/{number}/restore",
        "/v1/oauth2/clients/{client_id}/drift/adopt",
    ):
        assert "428" in paths[path]["post"]["responses"]


def test_the_console_restore_and_adopt_forms_carry_the_version(api, ory, console):
    client_id = create(api)
    put(api, client_id, {"client_name": "Renamed"})
    operator = console("member")
    hidden = f'type="hidden" name="etag" value="{etag(api, client_id)}"'
    page = operator.get(f"/console/hygiene/clients/{client_id}/versions/1/restore").content.decode()
    assert hidden in unescape(page)
    without = operator.post(f"/console/hygiene/clients/{client_id}/versions/1/restore", {})
    assert without.status_code == 400 and in_hydra(ory, client_id)["client_name"] == "Renamed"
    change_in_hydra(ory, client_id, client_name="Changed behind Truss")
    hidden = f'type="hidden" name="etag" value="{etag(api, client_id)}"'
    drift = operator.get(f"/console/hygiene/clients/{client_id}/drift").content.decode()
    assert unescape(drift).count(hidden) == 2  # adopt and restore
    adopt = operator.post(f"/console/hygiene/clients/{client_id}/drift/adopt", {})
    assert adopt.status_code == 400
    assert api.call("GET", f"/clients/{client_id}/drift").json()["drifted"] is True
