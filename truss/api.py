"""The JSON API: one NinjaAPI serving `/api/hydra/*` (operator session) and `/v1/*` (tenant API key).

OpenAPI lives at /api/openapi.json and its docs at /api/docs (assets served locally by the `ninja` app).
Every error answers `{"error": code, "message": text, "fields": {...}?}`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.security import APIKeyHeader, SessionAuth

from truss import apikeys, hydra, kratos, ory_http, tenancy
from truss.models import ApiKeyRole, Role

api = NinjaAPI(
    title="Truss API",
    version="1",
    description="Manage Ory Hydra OAuth2 clients, keys and consent for your tenant.",
    openapi_url="/api/openapi.json",
    docs_url="/api/docs",
    urls_namespace="api",
)


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


def error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"error": code, "message": message, **extra}, status=status)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(part) for part in err.get("loc", ()) if part not in ("body", "payload", "query", "path")]
        fields.setdefault(".".join(loc) or "__all__", []).append(str(err.get("msg", "is invalid")))
    return error(request, 400, "invalid_request", "The request is invalid.", fields=fields)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(request, 401, "unauthorized", "Missing or invalid credentials.")


@api.exception_handler(AuthorizationError)
def on_authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return error(request, 403, "forbidden", str(exc.message))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {400: "invalid_request", 404: "not_found", 409: "conflict", 413: "too_large"}
    return error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc.message))


_UPSTREAM: list[tuple[type[Exception], int, str]] = [
    (hydra.HydraUnavailable, 503, "hydra_unavailable"),
    (kratos.KratosUnavailable, 503, "kratos_unavailable"),
    (hydra.HydraNotFound, 404, "not_found"),
    (kratos.KratosNotFound, 404, "not_found"),
    (hydra.HydraConflict, 409, "conflict"),
    (kratos.KratosConflict, 409, "conflict"),
    (hydra.HydraGone, 410, "gone"),
    (hydra.HydraBadRequest, 400, "invalid_request"),
    (kratos.KratosBadRequest, 400, "invalid_request"),
]


def _upstream_error(request: HttpRequest, exc: ory_http.OryError) -> HttpResponse:
    status, code = next(
        ((s, c) for kind, s, c in _UPSTREAM if isinstance(exc, kind)), (502, "upstream_error")
    )
    if status == 503:
        service = "Hydra" if isinstance(exc, hydra.HydraError) else "Kratos"
        response = error(request, 503, code, f"{service} is unavailable. Try again shortly.")
        response["Retry-After"] = "5"
        return response
    description = getattr(exc, "description", None) or getattr(exc, "error", None) or str(exc)
    return error(request, status, code, str(description))


# Both families share ory_http.OryError; ninja's stub types the handler by the exact class registered.
api.add_exception_handler(ory_http.OryError, _upstream_error)  # type: ignore[arg-type]
