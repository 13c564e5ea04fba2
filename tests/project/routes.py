"""The API's write operations as its own OpenAPI document lists them (a new route is covered by every test that
walks them), with what a test needs to call one."""

from __future__ import annotations

from typing import Any

from truss.api import api

JSON = "application/json"
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def write_operations() -> list[tuple[str, str, dict[str, Any]]]:
    doc = api.get_openapi_schema()
    return [
        (method.upper(), path, operation)
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
        if method.upper() in WRITE_METHODS
    ]


OPERATIONS = write_operations()


def url_of(path: str, operation: dict[str, Any]) -> str:
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            value = "1" if parameter["schema"].get("type") == "integer" else "x"
            path = path.replace("{" + parameter["name"] + "}", value)
    return path


def expects_array(operation: dict[str, Any]) -> bool:
    schema = operation.get("requestBody", {}).get("content", {}).get(JSON, {}).get("schema", {})
    return bool(schema.get("type") == "array")


def auth_of(operation: dict[str, Any]) -> str:
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    return "key" if "TenantApiKey" in schemes else "session"
