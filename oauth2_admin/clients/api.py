"""`/api/hydra/clients*` (operator session + CSRF) and `/v1/oauth2/clients*` (service_role key): one implementation."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import Router, Status

from oauth2_admin.clients import service as clients
from truss import audit
from truss.apikit import json_response, require_role, service_key, session_auth, tenant_of
from truss.models import AuditEvent, Role
from truss.ory import hydra

session_router = Router(tags=["clients"])
key_router = Router(tags=["clients (API key)"])


# --- clients: one implementation, mounted for sessions (/api/hydra) and service_role keys (/v1/oauth2) ------


def _body(request: HttpRequest, action: str, target: str = "", *, expect: type = dict) -> Any:
    """The JSON body, parsed by Truss so that bad JSON, oversized bodies and wrong shapes get a clear,
    audited 400 before anything reaches Hydra."""
    try:
        raw = request.body
    except RequestDataTooBig:
        problem = f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KB."
    else:
        try:
            value = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError) as exc:
            problem = f"The request body is not valid JSON: {exc}."
        else:
            if isinstance(value, expect):
                return value
            problem = (
                "Expected a JSON object."
                if expect is dict
                else "Expected a JSON array (RFC 6902 JSON Patch)."
            )
    audit.record(request, action, tenant=tenant_of(request), target=target, outcome=AuditEvent.Outcome.FAILURE,
                 detail=problem)  # fmt: skip
    raise clients.ClientInputError({"__all__": [problem]}, problem)


def _answer(
    request: HttpRequest, client: hydra.OAuth2Client, status: int = 200, **extra: Any
) -> HttpResponse:
    response = json_response({**clients.public_view(client), **extra}, status=status)
    response["ETag"] = clients.etag(client)
    return response


_CLIENT_SCHEMA = {"content": {"application/json": {"schema": clients.ClientIn.model_json_schema()}}}
_PATCH_SCHEMA = {
    "content": {"application/json-patch+json": {"schema": {"type": "array", "items": {"type": "object"}}}}
}
_TOKEN_SCHEMA = {"content": {"application/json": {"schema": clients.TokenConfigIn.model_json_schema()}}}


def list_clients(
    request: HttpRequest, page_token: str | None = None, page_size: int = 50, name: str | None = None
) -> dict[str, Any]:
    page = clients.list_for(
        tenant_of(request), page_size=max(1, min(page_size, 500)), page_token=page_token, name=name
    )
    return {"items": [clients.public_view(c) for c in page.items], "next_page_token": page.next_page_token}


def get_client(request: HttpRequest, client_id: str) -> HttpResponse:
    return _answer(request, clients.get_for(tenant_of(request), client_id))


def create_client(request: HttpRequest) -> HttpResponse:
    require_role(request, Role.MEMBER)
    payload = _body(request, "oauth2.client.create")
    client, warnings = clients.create_for(request, tenant_of(request), payload)
    # The secret is in this answer only; Hydra never shows it again.
    return _answer(request, client, 201, client_secret=client.client_secret, warnings=warnings)


def update_client(request: HttpRequest, client_id: str) -> HttpResponse:
    """Partial update: send only what changes; everything else is kept (unlike Hydra's own PUT)."""
    require_role(request, Role.MEMBER)
    changes = _body(request, "oauth2.client.update", client_id)
    if_match = request.headers.get("If-Match")
    client, warnings = clients.update_for(request, tenant_of(request), client_id, changes, if_match=if_match)
    return _answer(request, client, warnings=warnings)


def patch_client(request: HttpRequest, client_id: str) -> HttpResponse:
    """RFC 6902 JSON Patch; `owner`, `client_id` and `client_secret` cannot be patched."""
    require_role(request, Role.MEMBER)
    ops = _body(request, "oauth2.client.patch", client_id, expect=list)
    if_match = request.headers.get("If-Match")
    client, warnings = clients.patch_for(request, tenant_of(request), client_id, ops, if_match=if_match)
    return _answer(request, client, warnings=warnings)


def delete_client(request: HttpRequest, client_id: str, delete_tokens: bool = False) -> Status[None]:
    require_role(request, Role.MEMBER)
    clients.delete_for(request, tenant_of(request), client_id, delete_tokens=delete_tokens)
    return Status(204, None)


def rotate_secret(request: HttpRequest, client_id: str) -> HttpResponse:
    """A new server-generated secret, shown in this answer only; the old secret stops working at once."""
    require_role(request, Role.MEMBER)
    client, secret = clients.rotate_secret(request, tenant_of(request), client_id)
    response = _answer(request, client, client_secret=secret)
    response["Cache-Control"] = "no-store"
    return response


def token_config(request: HttpRequest, client_id: str) -> HttpResponse:
    """TTLs in seconds (mapped onto Hydra's per-grant lifespans), the per-grant matrix, strategy, logout URIs."""
    require_role(request, Role.MEMBER)
    payload = _body(request, "oauth2.client.token_config", client_id)
    if_match = request.headers.get("If-Match")
    client = clients.set_token_config(request, tenant_of(request), client_id, payload, if_match=if_match)
    return _answer(request, client, lifespans_seconds=clients.lifespans_in_seconds(client))


for router, prefix, auth, op in (
    (session_router, "/clients", session_auth, "hydra"),
    (key_router, "/oauth2/clients", service_key, "v1"),
):
    item = prefix + "/{client_id}"
    operations: list[tuple[str, str, Any, str, dict[str, Any]]] = [
        (prefix, "GET", list_clients, "List the tenant's clients (name: exact match)", {}),
        (prefix, "POST", create_client, "Create a client (owner is the tenant)", {"requestBody": _CLIENT_SCHEMA}),
        (item, "GET", get_client, "Get a client (ETag for If-Match)", {}),
        (item, "PUT", update_client, "Update a client: merge the given fields", {"requestBody": _CLIENT_SCHEMA}),
        (item, "PATCH", patch_client, "Update a client with RFC 6902 JSON Patch", {"requestBody": _PATCH_SCHEMA}),
        (item, "DELETE", delete_client, "Delete a client (optionally its tokens)", {}),
        (item + "/secret", "POST", rotate_secret, "Rotate the client secret", {}),
        (item + "/token-config", "PATCH", token_config, "Token lifespans, strategy, logout URIs",
         {"requestBody": _TOKEN_SCHEMA}),
    ]  # fmt: skip
    for path, method, view, summary, extra in operations:
        kwargs: dict[str, Any] = {"response": {204: None}} if method == "DELETE" else {}
        router.add_api_operation(
            path, [method], view, auth=auth, summary=summary, openapi_extra=extra or None,
            operation_id=f"{op}_{view.__name__}", **kwargs,
        )  # fmt: skip
