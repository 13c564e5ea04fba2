"""The OpenAPI document tells the truth: every operation, every status it can answer, a schema for each."""

from __future__ import annotations

import json

import pytest

from truss.api import api

# Every status an error answer can have documents the one error body.
ERROR_REF = "#/components/schemas/ErrorOut"

CLIENT_OPERATIONS = {
    ("GET", "/clients", "list_clients"),
    ("POST", "/clients", "create_client"),
    ("GET", "/clients/{client_id}", "get_client"),
    ("PUT", "/clients/{client_id}", "update_client"),
    ("PATCH", "/clients/{client_id}", "patch_client"),
    ("DELETE", "/clients/{client_id}", "delete_client"),
    ("POST", "/clients/{client_id}/secret", "rotate_secret"),
    ("POST", "/clients/{client_id}/tokens/revoke", "revoke_tokens"),
    ("PATCH", "/clients/{client_id}/token-config", "token_config"),
}


# Errors with a body of their own: the health check's 503 is its usual report, saying what is down.
OWN_ERROR_BODIES = {("GET", "/api/hydra/health", "503")}


@pytest.fixture(scope="module")
def doc():
    return json.loads(json.dumps(api.get_openapi_schema()))  # as served: status codes are strings


def operations(doc):
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def test_it_documents_the_api(client):
    doc = client.get("/api/openapi.json").json()
    assert {"/api/hydra/health", "/api/hydra/clients", "/v1/oauth2/clients", "/v1/oauth2/discovery"} <= set(
        doc["paths"]
    )
    schemes = doc["components"]["securitySchemes"]
    assert schemes["TenantApiKey"] == {"type": "apiKey", "in": "header", "name": "apikey"}
    assert schemes["TenantSession"]["in"] == "cookie"
    create = doc["paths"]["/v1/oauth2/clients"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    assert "owner" not in fields and "client_id" not in fields and "redirect_uris" in fields
    assert create["security"] == [{"TenantApiKey": []}]


def test_it_lists_both_client_mounts_with_written_out_operation_ids(doc):
    found = {(method, path, op["operationId"]) for method, path, op in operations(doc)}
    for prefix, mount in (("/api/hydra", "hydra"), ("/v1/oauth2", "v1")):
        expected = {(m, prefix + p, f"{mount}_{name}") for m, p, name in CLIENT_OPERATIONS}
        assert expected <= found, expected - found
        # The client routers' own operations (hygiene adds others under /clients/{id}/… with its own tags).
        documented = {
            (m, p, op["operationId"])
            for m, p, op in operations(doc)
            if p.startswith(prefix + "/clients")
            and {"clients", "clients (API key)"} & set(op.get("tags", []))
        }
        assert documented == expected  # nothing undocumented, nothing extra


def test_it_gives_every_operation_a_unique_id(doc):
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)) and len(ids) >= 30


def test_it_documents_creates_as_201_with_the_secret(doc):
    for path in ("/api/hydra/clients", "/v1/oauth2/clients"):
        responses = doc["paths"][path]["post"]["responses"]
        assert "201" in responses and "200" not in responses
        ref = responses["201"]["content"]["application/json"]["schema"]["$ref"]
        assert "client_secret" in doc["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]


def test_it_documents_a_schema_for_every_status_of_every_operation(doc):
    missing = []
    for method, path, operation in operations(doc):
        for status, response in operation["responses"].items():
            if status == "204":
                assert "content" not in response, (method, path)
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if not schema:
                missing.append(f"{method} {path} {status}")
            elif (
                int(status) >= 400
                and schema.get("$ref") != ERROR_REF
                and (method, path, status) not in OWN_ERROR_BODIES
            ):
                missing.append(f"{method} {path} {status}: not ErrorOut")
    assert not missing, missing


def _can_fail(parameter):
    """A parameter whose value can be refused: anything but an unconstrained string."""
    schema = {k: v for k, v in parameter.get("schema", {}).items() if k not in ("title", "description")}
    return schema != {"type": "string"}


def test_it_documents_the_errors_every_operation_can_answer(doc):
    """Structural answers: credentials (401/403) wherever there is auth, 400 wherever there is input."""
    gaps = []
    for method, path, operation in operations(doc):
        statuses = set(operation["responses"])
        if operation.get("security"):
            gaps += [f"{method} {path}: {s}" for s in ("401", "403") if s not in statuses]
        if (operation.get("requestBody") or any(_can_fail(p) for p in operation.get("parameters", []))) and (
            "400" not in statuses
        ):
            gaps.append(f"{method} {path}: 400")
        if "{client_id}" in path:
            gaps += [f"{method} {path}: 404"] if "404" not in statuses else []
    assert not gaps, gaps


def test_it_documents_the_conditional_writes_and_upstream_failures(doc):
    for prefix in ("/api/hydra", "/v1/oauth2"):
        item = doc["paths"][prefix + "/clients/{client_id}"]
        assert "412" in item["put"]["responses"] and "412" in item["patch"]["responses"]
        for _, path, operation in operations(doc):
            if path.startswith(prefix + "/clients"):
                assert {"502", "503"} <= set(operation["responses"]), path


def test_it_serves_the_docs_without_a_cdn(client):
    html = client.get("/api/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
