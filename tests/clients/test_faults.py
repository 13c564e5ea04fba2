"""Hydra slow or failing under the client API (clear 503/502 answers, audited failures, no retries of writes),
and input Hydra must never see (bad JSON of any shape, refused fields, denied roles), with a fake Hydra."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from truss.models import AuditEvent

pytestmark = pytest.mark.django_db

HYDRA = "http://hydra.test:4445"
BODY = {"client_name": "Faulty", "grant_types": ["client_credentials"]}


@pytest.fixture
def fake_hydra(settings):
    settings.HYDRA_ADMIN_URL = HYDRA
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def key(tenant, make_api_key):
    return {"apikey": make_api_key(tenant)}


def test_it_answers_503_when_hydra_times_out_on_create(client, fake_hydra, key, tenant):
    fake_hydra.post(f"{HYDRA}/admin/clients", body=requests.ReadTimeout("slow"))
    response = client.post("/v1/oauth2/clients", BODY, content_type="application/json", headers=key)
    assert response.status_code == 503
    assert response.json() == {
        "error": "hydra_unavailable",
        "message": "Hydra is unavailable. Try again shortly.",
    }
    assert len(fake_hydra.calls) == 1  # a write is never retried
    event = AuditEvent.objects.get(action="oauth2.client.create")
    assert (event.outcome, event.tenant) == ("failure", tenant)


def test_it_answers_503_when_hydra_fails_while_listing(client, fake_hydra, key):
    fake_hydra.get(f"{HYDRA}/admin/clients", status=503, json={"error": "unavailable"})
    response = client.get("/v1/oauth2/clients", headers=key)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert len(fake_hydra.calls) == 3  # GETs are retried twice before giving up


def test_it_reports_an_unexpected_hydra_answer_without_leaking_it(client, fake_hydra, key):
    fake_hydra.get(f"{HYDRA}/admin/clients/abc", status=418, body="teapot internals")
    response = client.get("/v1/oauth2/clients/abc", headers=key)
    assert response.status_code == 502
    assert "teapot internals" not in response.content.decode()


def test_it_shows_the_console_unavailable_page_when_hydra_times_out(console, fake_hydra):
    fake_hydra.get(f"{HYDRA}/admin/clients", body=requests.ReadTimeout("slow"))
    response = console("viewer").get("/console/clients/")
    assert response.status_code == 503 and b"Hydra is unavailable" in response.content


# --- bad input of any shape: a 400 with a message, one audit event, and Hydra never called ------------------

WRITES = [
    ("POST", "", "oauth2.client.create"),
    ("PUT", "/abc", "oauth2.client.update"),
    ("PATCH", "/abc", "oauth2.client.patch"),
    ("PATCH", "/abc/token-config", "oauth2.client.token_config"),
]


def _send(client, key, method, suffix, raw):
    return client.generic(
        method, f"/v1/oauth2/clients{suffix}", raw, content_type="application/json", headers=key
    )


@pytest.mark.parametrize(("method", "suffix", "action"), WRITES)
@pytest.mark.parametrize("raw", ["[" * 1000 + "]" * 1000, '{"a":' * 1000 + "1" + "}" * 1000])
def test_it_refuses_json_nested_1000_deep_on_every_write(
    client, fake_hydra, key, tenant, method, suffix, action, raw
):
    response = _send(client, key, method, suffix, raw)
    assert response.status_code == 400
    assert "nests deeper than 32 levels" in response.json()["message"]
    assert len(fake_hydra.calls) == 0
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.tenant) == (action, "failure", tenant)


@pytest.mark.parametrize(("method", "suffix", "action"), WRITES)
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_it_refuses_nan_and_infinity(client, fake_hydra, key, method, suffix, action, literal):
    raw = '{"client_name": "x", "metadata": {"n": ' + literal + "}}"
    response = _send(client, key, method, suffix, raw)
    assert response.status_code == 400
    assert f"{literal.lstrip('-')} is not a JSON number" in response.json()["message"]
    assert len(fake_hydra.calls) == 0
    assert AuditEvent.objects.get().action == action


@pytest.mark.parametrize(("method", "suffix", "action"), WRITES)
@pytest.mark.parametrize("raw", ['{"client_name": "a\\u0000b"}', '{"metadata": {"k\\u0000": 1}}'])
def test_it_refuses_nul_characters_that_postgresql_cannot_store(
    client, fake_hydra, key, method, suffix, action, raw
):
    response = _send(client, key, method, suffix, raw)
    assert response.status_code == 400
    assert "NUL character" in response.json()["message"]
    assert len(fake_hydra.calls) == 0
    assert AuditEvent.objects.get().action == action


def test_it_accepts_an_escaped_backslash_before_u0000(client, fake_hydra, key):
    # The text \u0000 itself (a backslash, then "u0000") is no NUL character.
    fake_hydra.post(f"{HYDRA}/admin/clients", body=requests.ReadTimeout("slow"))
    response = _send(
        client, key, "POST", "", '{"client_name": "a\\\\u0000b", "grant_types": ["client_credentials"]}'
    )
    assert response.status_code == 503  # it went on to Hydra
    assert json.loads(fake_hydra.calls[0].request.body)["client_name"] == "a\\u0000b"  # backslash, u0000


def test_it_audits_a_refused_guarded_field_once(client, fake_hydra, key):
    response = _send(client, key, "PUT", "/abc", '{"owner": "truss:evil", "scope": "x"}')
    assert response.status_code == 400
    assert response.json()["fields"] == {"owner": ["cannot be set"]}
    assert len(fake_hydra.calls) == 0
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.target) == ("oauth2.client.update", "failure", "abc")


def test_it_does_not_audit_a_bad_read(client, fake_hydra, key):
    response = client.get("/v1/oauth2/clients?page_size=many", headers=key)
    assert response.status_code == 400 and "page_size" in response.json()["fields"]
    assert not AuditEvent.objects.exists()


def test_it_audits_a_write_denied_to_an_anon_key(client, fake_hydra, tenant, make_api_key):
    anon = make_api_key(tenant, role="anon")
    response = _send(client, {"apikey": anon}, "DELETE", "/abc", "")
    assert response.status_code == 403
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.tenant, event.target) == (
        "oauth2.client.delete",
        "denied",
        tenant,
        "abc",
    )
    assert event.actor == f"apikey:{anon[:17]}"
    assert len(fake_hydra.calls) == 0


def test_it_audits_a_viewers_write_as_denied_before_reading_its_body(console, fake_hydra, tenant):
    viewer = console("viewer")
    response = viewer.post("/api/hydra/clients", "{not json", content_type="application/json")
    assert response.status_code == 403  # the role decides first: a viewer learns nothing about the body
    event = AuditEvent.objects.get()
    assert (event.action, event.outcome, event.tenant) == ("oauth2.client.create", "denied", tenant)
    assert event.actor.startswith("user:op-")


def test_the_request_schemas_check_fields_and_leave_cross_field_rules_to_the_service():
    from pydantic import ValidationError

    from oauth2_admin.clients.api import ClientCreateIn, ClientUpdateIn

    # Implicit without a redirect URI breaks a cross-field rule: the service's (audited) parse reports it.
    update = ClientUpdateIn.model_validate({"grant_types": ["implicit"]})
    assert update.model_dump(exclude_unset=True) == {"grant_types": ["implicit"]}  # only what was sent
    with pytest.raises(ValidationError) as refused:
        ClientCreateIn.model_validate({"grant_types": ["password"]})
    assert {e["loc"][0] for e in refused.value.errors()} == {"client_name", "grant_types"}


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (b"[" * 33 + b"]" * 33, "nests deeper"),
        (b"[" * 32 + b"]" * 32, None),
        (b'{"a": NaN}', "NaN"),
        (b"x" * (512 * 1024 + 1), "larger than 512 KB"),
        (b"\xff", "not valid JSON"),
    ],
)
def test_the_one_body_parser(raw, needle):
    from truss.apikit import BadBody, parse_json_body

    if needle is None:
        assert parse_json_body(raw) is not None
        return
    with pytest.raises(BadBody, match=needle):
        parse_json_body(raw)
