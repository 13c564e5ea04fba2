"""`/api/hydra/clients*` (operator session + CSRF) and `/v1/oauth2/clients*` (service_role key).

One implementation: `build_router` writes every route out once and is called for each mount (a ninja Router
is mounted once), so `grep '"/clients/{client_id}/secret"'` finds the route. Bodies are typed schemas parsed
by truss.apikit.JsonParser; what cannot be parsed or validated is answered (and audited) by the handlers in
truss.api, what can is validated again as a whole client by the service, inside its audited mutation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Body, Field, Router, Schema, Status
from ninja.security.base import AuthBase
from pydantic import ConfigDict

from oauth2_admin.clients import service as clients
from truss.apikit import (
    AUTH_ERRORS,
    UPSTREAM_ERRORS,
    QueryBool,
    answers,
    audited,
    json_response,
    member_session,
    no_store,
    service_key,
    session_auth,
    tenant_of,
)
from truss.audit import Action
from truss.ory import hydra

# --- request schemas -------------------------------------------------------------------------------------------


class ClientCreateIn(clients.ClientIn):
    """ClientIn's field rules only. The cross-field rules (grants vs. response types, redirect URIs, …) run in
    the service on the merged client, inside the audited mutation, so they are stated once."""

    # A plain method of the same name replaces ClientIn's model validator (pydantic resolves it by name).
    def _consistent(self) -> ClientCreateIn:  # type: ignore[override]
        return self


class ClientUpdateIn(ClientCreateIn):
    """PUT: every field optional; only the fields sent (`exclude_unset`) are merged onto the current client."""

    client_name: clients.ClientName = ""


class PatchOperation(Schema):
    """One RFC 6902 operation. `owner`, `client_id` and `client_secret` cannot be its path or from."""

    model_config = ConfigDict(extra="allow")

    op: str = Field(..., pattern=r"^(add|remove|replace|move|copy|test)$")
    path: str = Field(..., max_length=1000)
    value: Any = None
    from_: str | None = Field(default=None, alias="from", max_length=1000)


# --- response schemas (documentation: the answers are the service's public_view, unchanged) ----------------------


class ClientOut(Schema):
    """A client as Hydra stores it, without secrets. Hydra's other fields (lifespans, …) may appear too."""

    model_config = ConfigDict(extra="allow")

    client_id: str
    client_name: str | None = None
    owner: str | None = None
    grant_types: list[str] | None = None
    response_types: list[str] | None = None
    redirect_uris: list[str] | None = None
    post_logout_redirect_uris: list[str] | None = None
    scope: str | None = None
    audience: list[str] | None = None
    token_endpoint_auth_method: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ClientCreatedOut(ClientOut):
    client_secret: str | None = Field(
        None, description="Shown in this answer only (null for public clients)."
    )
    warnings: list[str]


class ClientUpdatedOut(ClientOut):
    warnings: list[str]


class ClientSecretOut(ClientOut):
    client_secret: str = Field(..., description="The new secret, shown in this answer only.")


class TokenConfigOut(ClientOut):
    lifespans_seconds: dict[str, int | None]


class ClientListOut(Schema):
    items: list[ClientOut]
    next_page_token: str | None = None


# --- helpers -----------------------------------------------------------------------------------------------------


def _answer(client: hydra.OAuth2Client, status: int = 200, **extra: Any) -> HttpResponse:
    response = json_response({**clients.public_view(client), **extra}, status=status)
    response["ETag"] = clients.etag(client)
    return response


def _warnings(client: hydra.OAuth2Client, notes: list[str]) -> list[str]:
    """The service's notes plus what other apps say about the client (the security linter's findings)."""
    return notes + clients.more_warnings(client)


_IF_MATCH = "If-Match: the ETag from GET; 412 when the client changed meanwhile."
_READ = (*AUTH_ERRORS, *UPSTREAM_ERRORS)
_WRITE = (400, *AUTH_ERRORS, 404, *UPSTREAM_ERRORS)


def build_router(*, read_auth: AuthBase, write_auth: AuthBase, op: str, tags: list[str]) -> Router:
    """The client routes for one mount: `op` prefixes operation ids (`hydra_…`, `v1_…`)."""
    router = Router(tags=tags)

    @router.get(
        "/clients",
        auth=read_auth,
        response=answers({200: ClientListOut}, 400, _READ),
        summary="List the tenant's clients (name: exact match)",
        operation_id=f"{op}_list_clients",
    )
    def list_clients(
        request: HttpRequest,
        page_token: str | None = None,
        page_size: int = 50,
        name: str | None = None,
    ) -> HttpResponse:
        page = clients.list_for(
            tenant_of(request), page_size=max(1, min(page_size, 500)), page_token=page_token, name=name
        )
        items = [clients.public_view(c) for c in page.items]
        return json_response({"items": items, "next_page_token": page.next_page_token})

    @router.post(
        "/clients",
        auth=write_auth,
        response=answers({201: ClientCreatedOut}, 400, AUTH_ERRORS, 409, UPSTREAM_ERRORS),
        summary="Create a client (owner is the tenant)",
        operation_id=f"{op}_create_client",
    )
    @audited(Action.CLIENT_CREATE)
    def create_client(request: HttpRequest, payload: ClientCreateIn) -> HttpResponse:
        client, warnings = clients.create_for(
            request, tenant_of(request), payload.model_dump(exclude_unset=True)
        )
        # The secret is in this answer only; Hydra never shows it again.
        return no_store(
            _answer(client, 201, client_secret=client.client_secret, warnings=_warnings(client, warnings))
        )

    @router.get(
        "/clients/{client_id}",
        auth=read_auth,
        response=answers({200: ClientOut}, _READ, 404),
        summary="Get a client (ETag for If-Match)",
        operation_id=f"{op}_get_client",
    )
    def get_client(request: HttpRequest, client_id: str) -> HttpResponse:
        return _answer(clients.get_for(tenant_of(request), client_id))

    @router.put(
        "/clients/{client_id}",
        auth=write_auth,
        response=answers({200: ClientUpdatedOut}, _WRITE, 412),
        summary="Update a client: merge the given fields",
        description="Partial: only the given fields change (Hydra's own PUT would reset the rest). "
        + _IF_MATCH,
        operation_id=f"{op}_update_client",
    )
    @audited(Action.CLIENT_UPDATE)
    def update_client(request: HttpRequest, client_id: str, payload: ClientUpdateIn) -> HttpResponse:
        changes = payload.model_dump(exclude_unset=True)
        if_match = request.headers.get("If-Match")
        client, warnings = clients.update_for(
            request, tenant_of(request), client_id, changes, if_match=if_match
        )
        return _answer(client, warnings=_warnings(client, warnings))

    @router.patch(
        "/clients/{client_id}",
        auth=write_auth,
        response=answers({200: ClientUpdatedOut}, _WRITE, 412),
        summary="Update a client with RFC 6902 JSON Patch",
        description="`owner`, `client_id` and `client_secret` cannot be patched. " + _IF_MATCH,
        operation_id=f"{op}_patch_client",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json-patch+json": {
                        "schema": {"type": "array", "items": {"$ref": "#/components/schemas/PatchOperation"}}
                    }
                },
            }
        },
    )
    @audited(Action.CLIENT_PATCH)
    def patch_client(request: HttpRequest, client_id: str, ops: Body[list[PatchOperation]]) -> HttpResponse:
        patch = [o.model_dump(by_alias=True, exclude_unset=True) for o in ops]
        if_match = request.headers.get("If-Match")
        client, warnings = clients.patch_for(request, tenant_of(request), client_id, patch, if_match=if_match)
        return _answer(client, warnings=_warnings(client, warnings))

    @router.delete(
        "/clients/{client_id}",
        auth=write_auth,
        response=answers({204: None}, _WRITE),
        summary="Delete a client",
        description="Hydra deletes the client's tokens with it; `delete_tokens` is accepted for compatibility.",
        operation_id=f"{op}_delete_client",
    )
    @audited(Action.CLIENT_DELETE)
    def delete_client(request: HttpRequest, client_id: str, delete_tokens: QueryBool = False) -> Status[None]:
        clients.delete_for(request, tenant_of(request), client_id, delete_tokens=delete_tokens)
        return Status(204, None)

    @router.post(
        "/clients/{client_id}/tokens/revoke",
        auth=write_auth,
        response=answers({204: None}, _WRITE),
        summary="Revoke the client's access tokens (the client stays)",
        description="Hydra's bulk revocation (DELETE /admin/oauth2/tokens?client_id=): opaque access tokens "
        "stop working at once. Refresh tokens and consents are kept (revoke a person's consent for those), "
        "and a JWT access token stays valid until it expires: it is self-contained.",
        operation_id=f"{op}_revoke_tokens",
    )
    @audited(Action.CLIENT_REVOKE_TOKENS)
    def revoke_tokens(request: HttpRequest, client_id: str) -> Status[None]:
        clients.revoke_tokens_for(request, tenant_of(request), client_id)
        return Status(204, None)

    @router.post(
        "/clients/{client_id}/secret",
        auth=write_auth,
        response=answers({200: ClientSecretOut}, _WRITE),
        summary="Rotate the client secret",
        description="A new server-generated secret, shown in this answer only; the old one stops working at once.",
        operation_id=f"{op}_rotate_secret",
    )
    @audited(Action.CLIENT_ROTATE_SECRET)
    def rotate_secret(request: HttpRequest, client_id: str) -> HttpResponse:
        client, secret = clients.rotate_secret(request, tenant_of(request), client_id)
        return no_store(_answer(client, client_secret=secret))

    @router.patch(
        "/clients/{client_id}/token-config",
        auth=write_auth,
        response=answers({200: TokenConfigOut}, _WRITE, 412),
        summary="Token lifespans, strategy, logout URIs",
        description="TTLs in seconds, mapped onto Hydra's per-grant lifespans. " + _IF_MATCH,
        operation_id=f"{op}_token_config",
    )
    @audited(Action.CLIENT_TOKEN_CONFIG)
    def token_config(request: HttpRequest, client_id: str, payload: clients.TokenConfigIn) -> HttpResponse:
        if_match = request.headers.get("If-Match")
        changes = payload.model_dump(exclude_unset=True)
        client = clients.set_token_config(request, tenant_of(request), client_id, changes, if_match=if_match)
        return _answer(client, lifespans_seconds=clients.lifespans_in_seconds(client))

    return router


session_router = build_router(read_auth=session_auth, write_auth=member_session, op="hydra", tags=["clients"])
key_router = build_router(read_auth=service_key, write_auth=service_key, op="v1", tags=["clients (API key)"])
