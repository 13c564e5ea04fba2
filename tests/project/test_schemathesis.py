"""Schema fuzz: schemathesis generates requests for every operation in /api/openapi.json and sends them through
Truss's WSGI app to the real Hydra and Kratos, with a service_role API key and with an operator's session (a
platform admin, CSRF token included).

What must hold: no server error (Hydra is up, so not even a 503), no status the document does not list, every
answer's body matches its documented schema and content type. And the contract is the validation: a request the
document calls valid is not refused as invalid (400), one it calls invalid is refused (schemathesis's positive
and negative data). Operations of the other authentication must answer their documented 401. The bridge's
consent endpoints are included too: without the consent subject's browser session and CSRF token they must
answer their documented 400/403/404 — the happy paths need a browser and are covered by tests/bridge.

Bounded for CI: a few examples per operation and mode, derandomized (the same requests every run).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from oauth2_admin.keys import service as keys
from oauth2_admin.keys.models import KeyRecord, Rotation
from oauth2_admin.tokens.models import JanitorRun
from truss.devstack import binary
from truss.models import AuditEvent, Membership, Tenant

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]
CONTRACT = [openapi_checks.positive_data_acceptance, openapi_checks.negative_data_rejection]
BOTH = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)

# Per operation and mode; the whole run stays around a minute on 2 cores.
MAX_EXAMPLES = 8

# Operations whose validity JSON Schema cannot state in full: a request their document calls valid may still be
# refused (400) for the reason given, so only the negative half of the contract (what the document calls invalid
# is refused) is asked of them. Everything else must accept what its document calls valid.
_KEY = "a usable public key (a real RSA, EC or Ed25519 key) and an expiry in the future"
_PAGE = "page_token: only a token from an earlier page"
_CLIENT = (
    "the client rules across fields (grant and response types, redirect URIs), checked on the whole client"
)
_CLAIMS = "claims: only names of the tenant's claim templates"
NOT_STATABLE = {
    **{
        (m, prefix + path): _CLAIMS
        for prefix in ("/api/hydra", "/v1/oauth2")
        for m, path in (("POST", "/scopes"), ("PUT", "/scopes/{name}"))
    },
    ("POST", "/api/hydra/trust"): _KEY,
    ("POST", "/v1/oauth2/trust"): _KEY,
    ("GET", "/api/hydra/clients"): _PAGE,
    ("GET", "/v1/oauth2/clients"): _PAGE,
    ("GET", "/api/hydra/findings"): _PAGE,
    ("GET", "/v1/oauth2/findings"): _PAGE,
    **{
        (method, prefix + path): _CLIENT
        for prefix in ("/api/hydra", "/v1/oauth2")
        for method, path in (
            ("POST", "/clients"),
            ("PUT", "/clients/{client_id}"),
            ("PATCH", "/clients/{client_id}"),
            ("PATCH", "/clients/{client_id}/token-config"),
        )
    },
}


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
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    # No NUL in generated strings (the API refuses it: PostgreSQL cannot store it), and the credential (session
    # cookie, API key) is the test's own, never generated or mutated by the negative mode.
    schema.config.generation.update(allow_x00=False, with_security_parameters=False)
    return schema


@pytest.fixture
def service_key(tenant, make_api_key):
    return make_api_key(tenant)


@pytest.fixture
def operator_session(tenant: Tenant) -> dict[str, Any]:
    """A platform admin (and admin of the tenant) signed in, as transport arguments: cookies and CSRF header."""
    user = User.objects.create_superuser(f"fuzz-{uuid.uuid4().hex[:6]}", password="pw-for-tests-123")
    Membership.objects.create(user=user, tenant=tenant, role="admin")
    browser = Client()
    browser.force_login(user)
    token = _get_new_csrf_string()
    cookies = {
        django_settings.SESSION_COOKIE_NAME: browser.cookies[django_settings.SESSION_COOKIE_NAME].value,
        django_settings.CSRF_COOKIE_NAME: token,
    }
    return {"headers": {"X-CSRFToken": token}, "cookies": cookies}


def _admin_keys(ory: Any, set_id: str) -> list[dict[str, Any]]:
    response = requests.get(f"{ory.hydra_admin_url}/admin/keys/{set_id}", timeout=10)
    return list(response.json()["keys"]) if response.status_code == 200 else []


@pytest.fixture
def janitor_and_keys(ory: Any, settings: Any) -> Iterator[None]:
    """The session fuzz runs as a platform admin: the janitor is configured, and what its valid key requests did
    in Hydra (sets, holding sets, a promoted signer) is undone, so later tests see an RS256 signer again."""
    settings.HYDRA_JANITOR_DSN = ory._dsn("hydra")
    settings.HYDRA_BIN = str(binary("hydra"))
    before = {set_id: {k["kid"] for k in _admin_keys(ory, set_id)} for set_id in keys.SIGNING_SETS}
    yield
    created = set(KeyRecord.objects.values_list("set_id", flat=True)) | set(
        Rotation.objects.values_list("holding_set", flat=True)
    )
    for set_id in created - set(keys.SIGNING_SETS):
        requests.delete(f"{ory.hydra_admin_url}/admin/keys/{set_id}", timeout=10)
    for set_id, kids in before.items():
        if {k["kid"] for k in _admin_keys(ory, set_id)} == kids:
            continue
        time.sleep(1.1)  # created_at has second resolution: the restored key must be the newest
        kid = f"restore-{uuid.uuid4().hex[:8]}"
        requests.post(
            f"{ory.hydra_admin_url}/admin/keys/{set_id}",
            json={"alg": "RS256", "use": "sig", "kid": kid},
            timeout=60,
        ).raise_for_status()
        for key in _admin_keys(ory, set_id):
            if key["kid"] not in kids and key["kid"] != kid:
                requests.delete(f"{ory.hydra_admin_url}/admin/keys/{set_id}/{key['kid']}", timeout=10)


def _run(operation: Any, mode: GenerationMode, checks: list[Any], transport: dict[str, Any]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(checks=checks, **transport)

    call()


def fuzz(
    operations: list[Any], checks: list[Any], modes: tuple[GenerationMode, ...], **transport: Any
) -> list[str]:
    """Every operation in every mode; every failure of every operation, not just the first."""
    failures: list[str] = []
    for operation in operations:
        own = checks
        if (operation.method.upper(), operation.path) in NOT_STATABLE:
            own = [check for check in checks if check is not openapi_checks.positive_data_acceptance]
        for mode in modes:
            try:
                _run(operation, mode, own, transport)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing it takes can be invalid
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{operation.label} ({mode}): {exc}")
    return failures


def _operations(api_schema: Any, security: str | None = None) -> list[Any]:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    if security is None:
        return operations
    return [op for op in operations if any(security in r for r in op.definition.raw.get("security", []))]


def test_it_answers_every_operation_as_documented(api_schema, service_key):
    """With an API key, positive data: every operation (session ones answer 401), every documented answer."""
    operations = _operations(api_schema)
    assert len(operations) >= 20  # the document was read and holds the API, not an empty shell
    failures = fuzz(operations, CHECKS, (GenerationMode.POSITIVE,), headers={"apikey": service_key})
    assert not failures, "\n\n".join(failures)


def test_it_validates_as_documented_with_an_api_key(api_schema, service_key):
    """The /v1 operations: valid requests accepted, invalid ones refused, both answered as documented."""
    operations = _operations(api_schema, "TenantApiKey")
    assert {"/v1/oauth2/trust", "/v1/oauth2/introspect", "/v1/oauth2/consent/{subject}"} <= {
        op.path for op in operations
    }
    failures = fuzz(operations, CHECKS + CONTRACT, BOTH, headers={"apikey": service_key})
    assert not failures, "\n\n".join(failures)


def test_it_validates_as_documented_in_an_operators_session(api_schema, operator_session, janitor_and_keys):
    """The /api/hydra operations as a platform admin with CSRF: keys, flush, trust, tokens, consents, hygiene,
    clients and claims all accept what their document calls valid and refuse what it calls invalid."""
    operations = _operations(api_schema, "TenantSession")
    assert {"/api/hydra/keys", "/api/hydra/flush", "/api/hydra/trust"} <= {op.path for op in operations}
    failures = fuzz(operations, CHECKS + CONTRACT, BOTH, **operator_session)
    assert not failures, "\n\n".join(failures)
    # Not vacuous: valid generated bodies reached the services (the real janitor ran, Hydra generated keys).
    assert JanitorRun.objects.filter(status="success").exists()
    assert KeyRecord.objects.exists()


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


def test_it_fuzzes_the_session_api_with_a_session_that_passes(api_schema, operator_session):
    """Not vacuous either: the session and its CSRF token are accepted (a write reaches its service)."""
    create = api_schema["/api/hydra/keys"]["POST"]
    response = create.Case(body={"set_id": "truss.fuzz-probe", "algorithm": "HS256"}).call(**operator_session)
    assert response.status_code == 400 and set(response.json()["fields"]) == {"algorithm"}, response.text
