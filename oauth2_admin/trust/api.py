"""`/api/hydra/trust…` (operator session + CSRF) and `/v1/oauth2/trust…` (service_role key): the tenant's trusted
jwt-bearer issuers (RFC 7523). Hydra's trust relationships are global; only the tenant's own are visible here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from oauth2_admin.trust import service as trust
from truss.apikit import (
    AUTH_ERRORS,
    UPSTREAM_ERRORS,
    BadBody,
    answers,
    audit_refusal,
    audited,
    error,
    json_response,
    parse_json_body,
    require_role,
    service_key,
    session_auth,
    tenant_of,
)
from truss.audit import Action
from truss.models import Role

session_router = Router(tags=["trusted issuers"])
key_router = Router(tags=["trusted issuers (API key)"])


def _answers(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except trust.TrustNotFound:
            return error(request, 404, "not_found", "No such trusted issuer in this tenant.")
        except trust.TrustConflict as exc:
            return error(request, 409, "conflict", str(exc))

    return wrapper


def _body(request: HttpRequest) -> dict[str, Any]:
    """The create body through the one JSON parser; anything but an object is refused (400) and audited once."""
    try:
        value = parse_json_body(request.body)
    except BadBody as exc:
        problem = exc.message
    else:
        if isinstance(value, dict):
            return value
        problem = "Expected a JSON object."
    audit_refusal(request, problem)
    raise trust.TrustInputError({"__all__": [problem]}, problem)


def _require_admin(request: HttpRequest) -> None:
    """Session operators need the admin role to change trust (API keys are service_role already). The refusal is
    audited once by the API's handler (the operation is marked with its action)."""
    require_role(request, Role.ADMIN)


@_answers
def list_trust(request: HttpRequest) -> HttpResponse:
    return json_response({"items": [t.as_json() for t in trust.list_for(tenant_of(request), request)]})


@_answers
def create_trust(request: HttpRequest) -> HttpResponse:
    """Body: issuer, subject or allow_any_subject, scope, expires_at, and jwk (a public JWK) or public_key (PEM or
    JWK text). Private key material is refused."""
    _require_admin(request)
    created = trust.create_for(request, tenant_of(request), _body(request))
    return json_response(created.as_json(), status=201)


@_answers
def get_trust(request: HttpRequest, trust_id: str) -> HttpResponse:
    return json_response(trust.get_for(tenant_of(request), trust_id, request).as_json())


@_answers
def delete_trust(request: HttpRequest, trust_id: str) -> HttpResponse:
    _require_admin(request)
    trust.delete_for(request, tenant_of(request), trust_id)
    return HttpResponse(status=204)


_CREATE_SCHEMA = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["issuer", "expires_at"],
                "properties": {
                    "issuer": {"type": "string"},
                    "subject": {"type": "string"},
                    "allow_any_subject": {"type": "boolean"},
                    "scope": {"type": "array", "items": {"type": "string"}},
                    "expires_at": {"type": "string", "format": "date-time"},
                    "jwk": {"type": "object", "description": "the issuer's public JWK"},
                    "public_key": {
                        "type": "string",
                        "description": "or: a PEM public key / certificate or JWK text",
                    },
                },
            }
        }
    },
}

for router, prefix, auth, op in (
    (session_router, "/trust", session_auth, "hydra"),
    (key_router, "/oauth2/trust", service_key, "v1"),
):
    item = prefix + "/{trust_id}"
    operations: list[tuple[str, str, Any, str, dict[str, Any]]] = [
        (prefix, "GET", list_trust, "List the tenant's trusted jwt-bearer issuers", {}),
        (
            prefix,
            "POST",
            create_trust,
            "Trust an issuer's public key for the jwt-bearer grant",
            {"requestBody": _CREATE_SCHEMA},
        ),
        (item, "GET", get_trust, "Get one of the tenant's trusted issuers", {}),
        (item, "DELETE", delete_trust, "Stop trusting an issuer", {}),
    ]
    for path, method, view, summary, extra in operations:
        if method == "POST":  # 409: this tenant already trusts this key of the issuer for this subject
            response = answers({201: dict[str, Any]}, 400, AUTH_ERRORS, 409, UPSTREAM_ERRORS)
        elif method == "DELETE":
            response = answers({204: None}, AUTH_ERRORS, 404, UPSTREAM_ERRORS)
        else:
            response = answers({200: dict[str, Any]}, AUTH_ERRORS, 404, UPSTREAM_ERRORS)
        action = {"POST": Action.TRUST_CREATE, "DELETE": Action.TRUST_DELETE}.get(method)
        router.add_api_operation(
            path,
            [method],
            audited(action)(view) if action else view,
            auth=auth,
            summary=summary,
            openapi_extra=extra or None,
            operation_id=f"{op}_{view.__name__}",
            response=response,
        )
