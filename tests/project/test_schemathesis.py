"""Schema fuzz: schemathesis generates requests for every operation in /api/openapi.json and sends them through
Truss's WSGI app to the real Hydra and Kratos, with a service_role API key.

What must hold: no server error (Hydra is up, so not even a 503), no status the document does not list, every
answer's body matches its documented schema and content type. Session-only operations (`/api/hydra/*` behind
an operator login) are included: with an API key they must answer their documented 401. The bridge's consent
endpoints are included too: without the consent subject's browser session and CSRF token they must answer
their documented 400/403/404 — the happy paths need a browser and are covered by tests/bridge.

Bounded for CI: a few examples per operation, no shrinking beyond Hypothesis's default budget.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.specs.openapi import checks as openapi_checks

from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Calls through the raw WSGI app send request_started/finished, whose close_old_connections listener
    would close the test transaction's connection on PostgreSQL; Django's test client unhooks it the same way."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def api_schema(ory):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture
def service_key(tenant, make_api_key):
    return make_api_key(tenant)


# Per operation; the whole run stays well under a minute on 2 cores.
MAX_EXAMPLES = 8


def test_it_answers_every_operation_as_documented(api_schema, service_key):
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20  # the document was read and holds the API, not an empty shell
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
        def call(case):
            case.call_and_validate(headers={"apikey": service_key}, checks=CHECKS)

        try:
            call()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failures, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_it_fuzzes_the_client_api_with_writes_that_reach_hydra(api_schema, service_key, tenant):
    """The fuzz above must not be vacuous: valid generated creates do reach Hydra and are audited."""
    create = api_schema["/v1/oauth2/clients"]["POST"]
    body = {"client_name": "fuzz", "grant_types": ["client_credentials"], "scope": "read"}
    response = create.Case(body=body).call(headers={"apikey": service_key})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == ["no-store"]  # wire form: lowercase names, lists
    assert (
        AuditEvent.objects.filter(tenant=tenant, action="oauth2.client.create", outcome="success").count()
        == 1
    )
