"""What every API router shares: the two authentications, role checks, the error body and its schema.

Routers import this, never truss.api (which imports every router to mount it).
"""

from __future__ import annotations

from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, JsonResponse
from ninja import Schema
from ninja.errors import AuthorizationError
from ninja.security import APIKeyHeader, SessionAuth

from truss import apikeys, tenancy
from truss.models import ApiKeyRole, Role, Tenant


class TenantSession(SessionAuth):
    """A logged-in operator acting for their current tenant (CSRF is enforced for unsafe methods)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if not user:
            return None
        resolved = tenancy.resolve(request)
        if resolved is None:
            raise AuthorizationError(message="You are not a member of any tenant.")
        request.tenant, request.role = resolved  # type: ignore[attr-defined]
        return user


class TenantApiKey(APIKeyHeader):
    """`apikey: truss_sk_…`, as in the guide. Any role may read; `roles` narrows it."""

    param_name = "apikey"

    def __init__(self, roles: tuple[str, ...] = (ApiKeyRole.SERVICE_ROLE, ApiKeyRole.ANON)) -> None:
        super().__init__()
        self.roles = roles

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        api_key = apikeys.authenticate(key)
        if api_key is None:
            return None  # 401
        if api_key.role not in self.roles:
            raise AuthorizationError(message=f"This endpoint needs a {' or '.join(self.roles)} API key.")
        request.api_key = api_key  # type: ignore[attr-defined]
        request.tenant = api_key.tenant  # type: ignore[attr-defined]
        return api_key


session_auth = TenantSession()
any_key = TenantApiKey()
service_key = TenantApiKey(roles=(ApiKeyRole.SERVICE_ROLE,))


def require_role(request: HttpRequest, minimum: str = Role.MEMBER) -> None:
    """For session-authenticated mutations: API keys carry their own role check."""
    role = getattr(request, "role", None)
    if role is not None and not tenancy.role_at_least(role, minimum):
        raise AuthorizationError(message=f"This needs the {minimum} role.")


def json_response(data: Any, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, encoder=DjangoJSONEncoder, safe=False)


def error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    """The one error body: `{"error": code, "message": text, "fields": {...}?}`."""
    return json_response({"error": code, "message": message, **extra}, status=status)


class ErrorOut(Schema):
    """Every error answer: a machine-readable code, a sentence for people, and per-field messages for 400s."""

    error: str
    message: str
    fields: dict[str, list[str]] | None = None


def tenant_of(request: HttpRequest) -> Tenant:
    """The tenant the auth class resolved for this request (session or API key)."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    return tenant
