"""Tenant-scoped OAuth2 clients: the one service layer the console and both JSON APIs go through.

Isolation rests on Hydra's `owner` field: Truss sets it server-side to the tenant's owner string on create,
filters lists by it, and treats a client with another owner exactly like a missing one (404), so nothing
reveals that another tenant's client exists.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from django.http import HttpRequest
from pydantic import BaseModel, ConfigDict, Field, field_validator

from truss import audit, hydra
from truss.models import AuditEvent, Tenant

GRANT_TYPES = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "implicit",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:device_code",
)
AuthMethod = Literal["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]


class ClientIn(BaseModel):
    """A client as callers may send it. `owner` and `client_id` are not accepted: Truss owns them."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_name: str = Field(min_length=1, max_length=200)
    grant_types: list[str] = Field(
        default_factory=lambda: ["authorization_code", "refresh_token"], max_length=10
    )
    response_types: list[str] = Field(default_factory=lambda: ["code"], max_length=10)
    redirect_uris: list[str] = Field(default_factory=list, max_length=50)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=50)
    scope: str = Field(default="openid offline_access", max_length=2000)
    audience: list[str] = Field(default_factory=list, max_length=50)
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"
    skip_consent: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("grant_types")
    @classmethod
    def _known_grants(cls, value: list[str]) -> list[str]:
        unknown = [g for g in value if g not in GRANT_TYPES]
        if unknown:
            raise ValueError(f"unknown grant type {unknown[0]!r}; use one of: {', '.join(GRANT_TYPES)}")
        return value

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _absolute_uris(cls, value: list[str]) -> list[str]:
        for uri in value:
            parts = urlsplit(uri)
            if not parts.scheme or not (parts.netloc or parts.scheme not in ("http", "https")):
                raise ValueError(f"{uri!r} is not an absolute URI")
            if parts.fragment or uri.endswith("#"):
                raise ValueError(f"{uri!r} must not contain a fragment (#…)")
        if len(set(value)) != len(value):
            raise ValueError("contains duplicates")
        return value


def list_for(tenant: Tenant, *, page_size: int = 50, page_token: str | None = None) -> hydra.ClientPage:
    return hydra.list_clients(owner=tenant.hydra_owner, page_size=page_size, page_token=page_token)


def get_for(tenant: Tenant, client_id: str) -> hydra.OAuth2Client:
    """The tenant's client, or HydraNotFound, also when it exists but belongs to someone else."""
    client = hydra.get_client(client_id)
    if client.owner != tenant.hydra_owner:
        raise hydra.HydraNotFound(status=404, error="not_found", description="No such client.")
    return client


def _public_view(client: hydra.OAuth2Client) -> dict[str, Any]:
    return client.model_dump(mode="json", exclude_none=True)


def create_for(request: HttpRequest | None, tenant: Tenant, data: ClientIn) -> hydra.OAuth2Client:
    body = {**data.model_dump(), "owner": tenant.hydra_owner}
    try:
        client = hydra.create_client(body)
    except hydra.HydraError as exc:
        audit.record(request, "oauth2.client.create", tenant=tenant, outcome=AuditEvent.Outcome.FAILURE,
                     after=body, detail=str(exc))  # fmt: skip
        raise
    audit.record(
        request, "oauth2.client.create", tenant=tenant, target=client.client_id, after=_public_view(client)
    )
    return client


def delete_for(request: HttpRequest | None, tenant: Tenant, client_id: str) -> None:
    try:
        client = get_for(tenant, client_id)
        hydra.delete_client(client.client_id)
    except hydra.HydraError as exc:
        audit.record(request, "oauth2.client.delete", tenant=tenant, target=client_id,
                     outcome=AuditEvent.Outcome.FAILURE, detail=str(exc))  # fmt: skip
        raise
    audit.record(
        request, "oauth2.client.delete", tenant=tenant, target=client_id, before=_public_view(client)
    )
