"""Strict booleans everywhere in the API: a JSON body's boolean is true or false, a query's the text true or
false; "yes", 1, "1", "on" are refused with 400 and the field named, never read as true. The booleans are read
from the API's own document, so a new one is covered without being listed here."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.project.routes import JSON, OPERATIONS, auth_of, url_of
from truss.api import api

pytestmark = pytest.mark.django_db


def _resolve(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _booleans(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    properties = _resolve(schema, doc).get("properties", {})
    return [name for name, prop in properties.items() if _resolve(prop, doc).get("type") == "boolean"]


def boolean_inputs() -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every boolean the API takes in a JSON body's top level or a query."""
    doc = api.get_openapi_schema()
    found = []
    for method, path, operation in OPERATIONS:
        body = operation.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema")
        found += [(method, path, "body", name) for name in _booleans(body or {}, doc)]
        found += [
            (method, path, "query", p["name"])
            for p in operation.get("parameters", [])
            if p["in"] == "query" and _resolve(p["schema"], doc).get("type") == "boolean"
        ]
    return found


BOOLEANS = boolean_inputs()


@pytest.mark.parametrize(("method", "path", "where", "name"), BOOLEANS, ids=[" ".join(b) for b in BOOLEANS])
def test_it_takes_only_true_or_false_for_every_boolean(method, path, where, name, callers, nothing_leaves):
    """Strict booleans everywhere: in a body JSON true/false only, in a query the text true/false only ("yes",
    1, "1", "on" are refused, not read as true). Read from the API's document, so a new boolean is covered."""
    operation = next(op for m, p, op in OPERATIONS if (m, p) == (method, path))
    call = callers[auth_of(operation)]
    url = url_of(path, operation)
    refused: list[Any] = ["yes", "true", 1, "on"] if where == "body" else ["yes", "1", "on", "True"]
    for value in refused:
        if where == "body":
            response = call(method, url, json.dumps({name: value}).encode(), JSON)
        else:
            response = call(method, f"{url}?{name}={value}", b"", None)
        assert response.status_code == 400, (
            f"{method} {path} {where} {name}={value!r}: {response.status_code}"
        )
        assert any(key.split(".")[-1] == name for key in response.json()["fields"]), response.json()
    assert nothing_leaves == []


def test_it_finds_the_booleans_of_the_api():
    names = {(path, name) for _, path, _, name in BOOLEANS}
    assert {
        ("/api/hydra/flush", "tokens"),
        ("/api/hydra/keys/rotations/{rotation_id}/promote", "force"),
        ("/v1/oauth2/clients/{client_id}", "delete_tokens"),
    } <= names
