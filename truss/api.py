"""The JSON API: one NinjaAPI serving `/api/hydra/*` (operator session) and `/v1/*` (tenant API key).

OpenAPI lives at /api/openapi.json and its docs at /api/docs (assets served locally by the `ninja` app).
Every error answers `{"error": code, "message": text, "fields": {...}?}` (truss.apikit.ErrorOut). A feature adds
its router here with one add_router() line.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from bridge import api as bridge_api
from oauth2_admin.claims import api as claims_api
from oauth2_admin.clients import api as clients_api
from oauth2_admin.clients import service as clients_service
from oauth2_admin.consents import api as consents_api
from oauth2_admin.devtools import api as devtools_api
from oauth2_admin.keys import api as keys_api
from oauth2_admin.overview import api as overview_api
from truss import upstream
from truss.apikit import error, session_auth
from truss.ory import http as ory_http

api = NinjaAPI(
    title="Truss API",
    version="1",
    description="Manage Ory Hydra OAuth2 clients, keys and consent for your tenant.",
    openapi_url="/api/openapi.json",
    docs_url="/api/docs",
    urls_namespace="api",
)


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


def _upstream_error(request: HttpRequest, exc: ory_http.OryError) -> HttpResponse:
    answer = upstream.answer_for(exc)
    response = error(request, answer.status, answer.code, answer.message)
    for name, value in answer.headers.items():
        response[name] = value
    return response


# Both families share ory_http.OryError; ninja's stub types the handler by the exact class registered.
api.add_exception_handler(ory_http.OryError, _upstream_error)  # type: ignore[arg-type]


@api.exception_handler(clients_service.ClientInputError)
def on_client_input_error(request: HttpRequest, exc: clients_service.ClientInputError) -> HttpResponse:
    return error(request, 400, "invalid_request", exc.message, fields=exc.fields)


@api.exception_handler(clients_service.PreconditionFailed)
def on_precondition_failed(request: HttpRequest, exc: clients_service.PreconditionFailed) -> HttpResponse:
    return error(request, 412, "precondition_failed", str(exc))


api.add_router("/api/hydra", overview_api.router)
api.add_router("/api/hydra", devtools_api.router)
api.add_router("/api/hydra", keys_api.router)
api.add_router("/api/hydra", clients_api.session_router)
api.add_router("/api/hydra", claims_api.router, auth=session_auth)
api.add_router("/api/hydra", consents_api.router, auth=session_auth)
api.add_router("/api/hydra", bridge_api.router)
api.add_router("/v1", devtools_api.key_router)
api.add_router("/v1", clients_api.key_router)
