"""Hydra slow or failing under the client API: clear 503/502 answers, audited failures, no retries of writes."""

from __future__ import annotations

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
