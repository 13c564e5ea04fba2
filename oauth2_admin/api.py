"""JSON endpoints of the guide's table that Truss serves so far (more arrive with the clients issue)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema, Status

from oauth2_admin import clients, services
from truss import hydra
from truss.api import any_key, api, require_role, service_key, session_auth
from truss.models import Role, Tenant

hydra_router = Router(tags=["hydra"])
v1_router = Router(tags=["v1"])


class ServiceStatus(Schema):
    ready: bool
    version: str | None


class HealthOut(Schema):
    status: str
    hydra: ServiceStatus
    kratos: ServiceStatus


@hydra_router.get("/health", response={200: HealthOut, 503: HealthOut}, auth=None, summary="Health check")
def health(request: HttpRequest) -> Status[dict[str, Any]]:
    checks = {h.name.lower(): {"ready": h.ready, "version": h.version} for h in services.health()}
    ok = all(c["ready"] for c in checks.values())
    return Status(200 if ok else 503, {"status": "ok" if ok else "degraded", **checks})


@hydra_router.get("/discovery", auth=None, summary="OIDC discovery document")
def discovery(request: HttpRequest) -> dict[str, Any]:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oidc/operation/discoverOidcConfiguration
    return hydra.discovery().model_dump(mode="json", exclude_none=True)


@hydra_router.get("/jwks", auth=None, summary="Public JSON Web Key Set")
def jwks(request: HttpRequest) -> HttpResponse:
    # Public keys only: the client module strips private members at the boundary.
    keys = hydra.public_jwks().model_dump(mode="json", exclude_none=True)
    response = api.create_response(request, keys, status=200)
    response["Cache-Control"] = "public, max-age=60"
    return response


@v1_router.get("/oauth2/discovery", auth=any_key, summary="OIDC discovery (any API key)")
def v1_discovery(request: HttpRequest) -> dict[str, Any]:
    return hydra.discovery().model_dump(mode="json", exclude_none=True)


# --- clients: one implementation, mounted for sessions (/api/hydra) and service_role keys (/v1/oauth2) ------

_HIDDEN = {"client_secret", "registration_access_token"}


def _out(client: hydra.OAuth2Client, *, with_secret: bool = False) -> dict[str, Any]:
    data = client.model_dump(mode="json", exclude_none=True)
    return data if with_secret else {k: v for k, v in data.items() if k not in _HIDDEN}


def _tenant(request: HttpRequest) -> Tenant:
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]  # set by the auth class
    return tenant


def list_clients(request: HttpRequest, page_token: str | None = None, page_size: int = 50) -> dict[str, Any]:
    page = clients.list_for(_tenant(request), page_size=max(1, min(page_size, 500)), page_token=page_token)
    return {"items": [_out(c) for c in page.items], "next_page_token": page.next_page_token}


def get_client(request: HttpRequest, client_id: str) -> dict[str, Any]:
    return _out(clients.get_for(_tenant(request), client_id))


def create_client(request: HttpRequest, payload: clients.ClientIn) -> Status[dict[str, Any]]:
    require_role(request, Role.MEMBER)
    client = clients.create_for(request, _tenant(request), payload)
    return Status(201, _out(client, with_secret=True))  # the secret is shown this once


def delete_client(request: HttpRequest, client_id: str) -> Status[None]:
    require_role(request, Role.MEMBER)
    clients.delete_for(request, _tenant(request), client_id)
    return Status(204, None)


for router, prefix, auth, op in (
    (hydra_router, "/clients", session_auth, "hydra"),
    (v1_router, "/oauth2/clients", service_key, "v1"),
):
    item = prefix + "/{client_id}"
    router.add_api_operation(prefix, ["GET"], list_clients, auth=auth, operation_id=f"{op}_list_clients",
                             summary="List the tenant's clients")  # fmt: skip
    router.add_api_operation(prefix, ["POST"], create_client, auth=auth, response={201: dict[str, Any]},
                             operation_id=f"{op}_create_client", summary="Create a client (owner is the tenant)")  # fmt: skip
    router.add_api_operation(item, ["GET"], get_client, auth=auth, operation_id=f"{op}_get_client",
                             summary="Get a client")  # fmt: skip
    router.add_api_operation(item, ["DELETE"], delete_client, auth=auth, response={204: None},
                             operation_id=f"{op}_delete_client", summary="Delete a client")  # fmt: skip

api.add_router("/api/hydra", hydra_router)
api.add_router("/v1", v1_router)
