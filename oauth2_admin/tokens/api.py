"""`/api/hydra/introspect|revoke|flush` (operator session + CSRF) and `/v1/oauth2/introspect|revoke`
(service_role key): one implementation per action."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router
from pydantic import ValidationError

from oauth2_admin.tokens import janitor, service
from truss.apikit import (
    ErrorOut,
    audit_refusal,
    audited,
    error,
    json_object,
    json_response,
    member_session,
    platform_session,
    service_key,
    session_auth,
    tenant_of,
)
from truss.audit import Action
from truss.errors import field_messages

session_router = Router(tags=["tokens"])
key_router = Router(tags=["tokens (API key)"])

_TOKEN_SCHEMA = {
    "required": True,
    "content": {"application/json": {"schema": service.TokenIn.model_json_schema()}},
}
# Optional: no body runs the defaults.
_FLUSH_SCHEMA = {
    "required": False,
    "content": {"application/json": {"schema": janitor.JanitorOptions.model_json_schema()}},
}
_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 503: ErrorOut}

INTROSPECT_DOC = (
    "Hydra's admin introspection (RFC 7662), scoped to the tenant: a token of another tenant's client, of a "
    'client outside Truss, or an inactive or unknown token all answer exactly `{"active": false}`. An active '
    "token answers Hydra's fields (sub, client_id, scope, exp, iat, nbf, aud, iss, token_type, token_use, ext). "
    "Answers are `Cache-Control: no-store`."
)
REVOKE_DOC = (
    service.REVOKE_SUMMARY + " Answers 200 with `methods` and `what_was_revoked`; 404 when no active token "
    "of the tenant's clients matches (nothing is changed); 409 `still_active` if Hydra still reports the token "
    "active. Audited as `oauth2.token.revoke` with the token's SHA-256 fingerprint, never the token."
)
FLUSH_DOC = (
    "Platform admins only. Runs `hydra janitor` against Hydra's database (settings HYDRA_JANITOR_DSN and "
    "HYDRA_BIN); Hydra v2 has no flush endpoint. Deletes access tokens issued longer ago than max("
    "access_lifespan, keep_if_younger), refresh tokens older than max(refresh_lifespan, keep_if_younger), and "
    "with `requests`/`grants` old login/consent requests and expired jwt-bearer trusts. It does not read token "
    "expiry: the lifespans must be at least the longest in use. One run at a time (409 `busy`), "
    f"{janitor.TIMEOUT_SECONDS:g} s timeout (504); 501 `not_configured` explains what to schedule instead."
)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _token(request: HttpRequest) -> tuple[str | None, dict[str, list[str]]]:
    """The token of `{"token": …}` or field messages; a body that is not a JSON object raises BadBody."""
    body = json_object(request)
    try:
        return service.TokenIn.model_validate(body).token, {}
    except ValidationError as exc:
        return None, field_messages(exc.errors())


def introspect(request: HttpRequest) -> HttpResponse:
    token, fields = _token(request)
    if token is None:
        return error(request, 400, "invalid_request", "The request is invalid.", fields=fields)
    return _no_store(json_response(service.api_view(service.introspect_for(tenant_of(request), token))))


@audited(Action.TOKEN_REVOKE)  # refusals before the service (role, body): one event each
def revoke(request: HttpRequest) -> HttpResponse:
    tenant = tenant_of(request)
    token, fields = _token(request)
    if token is None:
        audit_refusal(request, json.dumps(fields))
        return error(request, 400, "invalid_request", "The request is invalid.", fields=fields)
    try:
        revocation = service.revoke_for(request, tenant, token)
    except service.NothingToRevoke as exc:
        return _no_store(error(request, 404, "not_found", str(exc)))
    except service.NotRevoked as exc:
        return _no_store(error(request, 409, "still_active", str(exc)))
    return _no_store(json_response(revocation.as_dict()))


@audited(Action.TOKENS_FLUSH)
def flush(request: HttpRequest) -> HttpResponse:
    """Platform admins only (the session auth checks it, before the body is read)."""
    try:
        options = janitor.JanitorOptions.model_validate(json_object(request, empty={}))
    except ValidationError as exc:
        fields = field_messages(exc.errors())
        audit_refusal(request, json.dumps(fields))
        return error(request, 400, "invalid_request", "The request is invalid.", fields=fields)
    try:
        record = janitor.run(request, options)
    except janitor.NotConfigured as exc:
        return error(
            request,
            501,
            "not_configured",
            f"{exc} Schedule `hydra janitor` next to Hydra instead "
            "(README, Tokens: a compose service or a cron line).",
            instead=janitor.CRON_LINE,
        )
    except janitor.Busy as exc:
        return error(request, 409, "busy", str(exc))
    except janitor.RunFailed as exc:
        status, code = (504, "janitor_timeout") if exc.run.status == "timeout" else (502, "janitor_failed")
        return error(request, status, code, str(exc), run=janitor.summary(exc.run))
    return json_response(janitor.summary(record))


for router, prefix, read_auth, write_auth, op in (
    (session_router, "", session_auth, member_session, "hydra"),
    (key_router, "/oauth2", service_key, service_key, "v1"),
):
    router.add_api_operation(
        prefix + "/introspect",
        ["POST"],
        introspect,
        auth=read_auth,
        summary="Introspect a token of the tenant's clients",
        description=INTROSPECT_DOC,
        openapi_extra={"requestBody": _TOKEN_SCHEMA},
        operation_id=f"{op}_introspect",
        response={200: dict[str, Any], **_ERRORS},
    )
    router.add_api_operation(
        prefix + "/revoke",
        ["POST"],
        revoke,
        auth=write_auth,
        summary="Revoke a token (consent or client-token revocation; see description)",
        description=REVOKE_DOC,
        openapi_extra={"requestBody": _TOKEN_SCHEMA},
        operation_id=f"{op}_revoke",
        response={200: dict[str, Any], 404: ErrorOut, 409: ErrorOut, **_ERRORS},
    )
session_router.add_api_operation(
    "/flush",
    ["POST"],
    flush,
    auth=platform_session,
    summary="Run hydra janitor (platform admins)",
    description=FLUSH_DOC,
    openapi_extra={"requestBody": _FLUSH_SCHEMA},
    operation_id="hydra_flush",
    response={200: dict[str, Any], 409: ErrorOut, 501: ErrorOut, 502: ErrorOut, 504: ErrorOut, **_ERRORS},
)
