"""The JSON API: one NinjaAPI serving `/api/hydra/*` (operator session) and `/v1/*` (tenant API key).

OpenAPI lives at /api/openapi.json and its docs at /api/docs (assets served locally by the `ninja` app).
Every error answers `{"error": code, "message": text, "fields": {...}?}` (truss.apikit.ErrorOut). A feature adds
its router here with one add_router() line.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from bridge import api as bridge_api
from oauth2_admin.claims import api as claims_api
from oauth2_admin.clients import api as clients_api
from oauth2_admin.clients import service as clients_service
from oauth2_admin.consents import api as consents_api
from oauth2_admin.devtools import api as devtools_api
from oauth2_admin.hygiene import api as hygiene_api
from oauth2_admin.keys import api as keys_api
from oauth2_admin.overview import api as overview_api
from oauth2_admin.scopes import api as scopes_api
from oauth2_admin.tokens import api as tokens_api
from oauth2_admin.trust import api as trust_api
from truss import upstream
from truss.apikit import BadBody, JsonParser, audit_refusal, error, guard_bodies, session_auth
from truss.errors import InputError, field_messages
from truss.models import AuditEvent
from truss.ory import http as ory_http

api = NinjaAPI(
    title="Truss API",
    version="1",
    description="Manage Ory Hydra OAuth2 clients, keys and consent for your tenant.",
    openapi_url="/api/openapi.json",
    docs_url="/api/docs",
    # Deep links put a link inside each operation's toggle button: nested controls a screen reader cannot use.
    docs=Swagger(settings={"deepLinking": False}),
    urls_namespace="api",
    parser=JsonParser(),
)

# Location parts that name no field: ninja's parameter sources; a dict key's error names the key itself.
_NOT_FIELDS = ("body", "payload", "query", "path", "[key]")


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = field_messages(exc.errors, skip=_NOT_FIELDS)
    audit_refusal(request, f"invalid request: {sorted(fields)}")
    return error(request, 400, "invalid_request", "The request is invalid.", fields=fields)


def _bad_body(request: HttpRequest, problem: BadBody) -> HttpResponse:
    audit_refusal(request, problem.message)
    return error(
        request, problem.status, "invalid_request", problem.message, fields={"__all__": [problem.message]}
    )


@api.exception_handler(RequestDataTooBig)
def on_body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    # Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE before the parser sees it.
    return _bad_body(
        request,
        BadBody(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KB.", 413),
    )


@api.exception_handler(BadBody)
def on_bad_body(request: HttpRequest, exc: BadBody) -> HttpResponse:
    return _bad_body(request, exc)


def _not_json(request: HttpRequest, exc: RawPostDataException | MultiPartParserError) -> HttpResponse:
    # A multipart body: the session's CSRF check read it as a form (or failed to: no boundary) before the
    # operation could refuse its content type.
    return _bad_body(
        request, BadBody("Send the request body as JSON, with Content-Type: application/json.", 415)
    )


api.add_exception_handler(RawPostDataException, _not_json)  # type: ignore[arg-type]
api.add_exception_handler(MultiPartParserError, _not_json)  # type: ignore[arg-type]


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    # Not audited: a missing or wrong credential names no actor and would let anyone flood the log.
    return error(request, 401, "unauthorized", "Missing or invalid credentials.")


@api.exception_handler(AuthorizationError)
def on_authorization_error(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    audit_refusal(request, str(exc.message), outcome=AuditEvent.Outcome.DENIED)
    return error(request, 403, "forbidden", str(exc.message))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, BadBody):  # raised by JsonParser, wrapped by ninja
        return _bad_body(request, exc.__cause__)
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


@api.exception_handler(InputError)
def on_input_error(request: HttpRequest, exc: InputError) -> HttpResponse:
    """Every service's bad-input refusal (clients, keys, trust, …): one 400 with field messages."""
    return error(request, 400, "invalid_request", exc.message, fields=exc.fields)


@api.exception_handler(clients_service.PreconditionFailed)
def on_precondition_failed(request: HttpRequest, exc: clients_service.PreconditionFailed) -> HttpResponse:
    return error(request, 412, "precondition_failed", str(exc))


api.add_router("/api/hydra", overview_api.router)
api.add_router("/api/hydra", overview_api.session_router)
api.add_router("/v1/oauth2", overview_api.key_router)
api.add_router("/api/hydra", devtools_api.router)
api.add_router("/api/hydra", keys_api.router)
api.add_router("/api/hydra", clients_api.session_router)
api.add_router("/api/hydra", claims_api.router, auth=session_auth)
api.add_router("/api/hydra", consents_api.router, auth=session_auth)
api.add_router("/api/hydra", bridge_api.router)
api.add_router("/v1", devtools_api.key_router)
api.add_router("/v1/oauth2", clients_api.key_router)
api.add_router("/api/hydra", tokens_api.session_router)
api.add_router("/v1", tokens_api.key_router)
api.add_router("/v1/oauth2", consents_api.key_router)
api.add_router("/api/hydra", trust_api.session_router)
api.add_router("/v1", trust_api.key_router)
api.add_router("/api/hydra", hygiene_api.session_router)
api.add_router("/v1/oauth2", hygiene_api.key_router)
api.add_router("/api/hydra", scopes_api.session_router)
api.add_router("/v1/oauth2", scopes_api.key_router)

# Last: every write operation's body checks and documented answers, over all the routes above.
guard_bodies(api)
