"""`GET /api/hydra/jwks` (public JWKS) and `/api/hydra/keys…`: Hydra's key sets for operators (read), and
create / delete / staged rotation for platform admins. Answers never contain private key material."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from oauth2_admin.keys import service as keys
from truss import audit
from truss.apikit import AUTH_ERRORS, UPSTREAM_ERRORS, answers, error, json_response, session_auth
from truss.models import AuditEvent
from truss.ory import hydra

router = Router(tags=["keys"])
_READ = answers({200: dict[str, Any]}, AUTH_ERRORS, UPSTREAM_ERRORS)
_WRITE = (400, *AUTH_ERRORS, 404, 409, *UPSTREAM_ERRORS)


class JwksOut(Schema):
    keys: list[dict[str, Any]]


@router.get(
    "/jwks", auth=None, response=answers({200: JwksOut}, UPSTREAM_ERRORS), summary="Public JSON Web Key Set"
)
def jwks(request: HttpRequest) -> HttpResponse:
    # Public keys only: the client module strips private members at the boundary.
    keys_ = hydra.public_jwks().model_dump(mode="json", exclude_none=True)
    response = json_response(keys_)
    response["Cache-Control"] = "public, max-age=60"
    return response


def _answers(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The service's refusals as the API's error body (bad input and Hydra's own errors: truss.api's handlers)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except keys.NotPlatformAdmin as exc:
            return error(request, 403, "forbidden", str(exc))
        except keys.KeyConflict as exc:
            return error(request, 409, "conflict", str(exc))

    return wrapper


def _body(request: HttpRequest, action: str) -> dict[str, Any]:
    try:
        value = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        value = None
    if isinstance(value, dict):
        return value
    problem = "Expected a JSON object."
    audit.record(request, action, tenant=getattr(request, "tenant", None), outcome=AuditEvent.Outcome.FAILURE,
                 detail=problem)  # fmt: skip
    raise keys.KeyInputError({"__all__": [problem]}, problem)


_KEY_SCHEMA = {
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["set_id", "algorithm"],
        "properties": {"set_id": {"type": "string", "example": "hydra.openid.id-token"},
                       "algorithm": {"type": "string", "enum": list(keys.ALGORITHMS)},
                       "use": {"type": "string", "enum": list(keys.USES), "default": "sig"}}}}}
}  # fmt: skip
_ROTATION_SCHEMA = {
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["set_id", "algorithm"],
        "properties": {"set_id": {"type": "string", "enum": list(keys.SIGNING_SETS)},
                       "algorithm": {"type": "string", "enum": list(keys.ALGORITHMS)},
                       "cache_window_seconds": {"type": "integer", "default": keys.DEFAULT_CACHE_WINDOW}}}}}
}  # fmt: skip
_FORCE_SCHEMA = {
    "content": {
        "application/json": {"schema": {"type": "object", "properties": {"force": {"type": "boolean"}}}}
    }
}


@router.get(
    "/keys",
    auth=session_auth,
    response=_READ,
    summary="Hydra's key sets (public halves), the signer and rotations",
)
@_answers
def list_keys(request: HttpRequest) -> HttpResponse:
    """Hydra v2.3.0 cannot list key sets: these are the sets Hydra signs with plus the sets Truss created."""
    return json_response({
        "sets": [s.as_json() for s in keys.key_sets()],
        "rotations": [keys.rotation_json(r) for r in keys.rotations()],
        "can_manage": keys.is_platform_admin(request),
    })  # fmt: skip


@router.post("/keys", response=answers({201: dict[str, Any]}, _WRITE), auth=session_auth, summary="Generate a key into a set (platform admins)",
             openapi_extra={"requestBody": _KEY_SCHEMA})  # fmt: skip
@_answers
def create_key(request: HttpRequest) -> HttpResponse:
    """Adding a key to a set Hydra signs with makes it sign at once; prefer a staged rotation for those."""
    view, warnings = keys.create_key(request, _body(request, "hydra.key.create"))
    return json_response({**view.as_json(), "warnings": warnings}, status=201)


@router.delete(
    "/keys/{set_id}/{kid}",
    response=answers({200: dict[str, Any]}, _WRITE),
    auth=session_auth,
    summary="Delete one key (platform admins)",
)
@_answers
def delete_key(request: HttpRequest, set_id: str, kid: str) -> HttpResponse:
    """Refuses the last signing key of a set Hydra signs with; warns when tokens it signed may be alive."""
    warnings = keys.delete_key(request, set_id, kid)
    return json_response({"deleted": {"set_id": set_id, "kid": kid}, "warnings": warnings})


@router.get("/keys/rotations", auth=session_auth, response=_READ, summary="Staged rotations, newest first")
@_answers
def list_rotations(request: HttpRequest) -> HttpResponse:
    return json_response({"items": [keys.rotation_json(r) for r in keys.rotations()]})


@router.post("/keys/rotations", response=answers({201: dict[str, Any]}, _WRITE), auth=session_auth, summary="Stage 1: publish the next key (platform admins)",
             openapi_extra={"requestBody": _ROTATION_SCHEMA})  # fmt: skip
@_answers
def start_rotation(request: HttpRequest) -> HttpResponse:
    rotation = keys.start_rotation(request, _body(request, "hydra.key.rotation.start"))
    return json_response(keys.rotation_json(rotation), status=201)


def _force(request: HttpRequest, action: str) -> bool:
    body = _body(request, action) if request.body else {}
    return body.get("force") is True


@router.post("/keys/rotations/{rotation_id}/promote", auth=session_auth, response=answers({200: dict[str, Any]}, _WRITE), openapi_extra={"requestBody": _FORCE_SCHEMA},
             summary="Stage 2: the published key starts signing (after the cache window unless forced)")  # fmt: skip
@_answers
def promote_rotation(request: HttpRequest, rotation_id: int) -> HttpResponse:
    force = _force(request, "hydra.key.rotation.promote")
    return json_response(keys.rotation_json(keys.promote(request, rotation_id, force=force)))


@router.post("/keys/rotations/{rotation_id}/retire", auth=session_auth, response=answers({200: dict[str, Any]}, _WRITE), openapi_extra={"requestBody": _FORCE_SCHEMA},
             summary="Stage 3: remove the old keys (after the longest token lifespan unless forced)")  # fmt: skip
@_answers
def retire_rotation(request: HttpRequest, rotation_id: int) -> HttpResponse:
    force = _force(request, "hydra.key.rotation.retire")
    return json_response(keys.rotation_json(keys.retire(request, rotation_id, force=force)))


@router.post("/keys/rotations/{rotation_id}/cancel", auth=session_auth, response=answers({200: dict[str, Any]}, _WRITE),
             summary="Withdraw a published key that does not sign yet")  # fmt: skip
@_answers
def cancel_rotation(request: HttpRequest, rotation_id: int) -> HttpResponse:
    return json_response(keys.rotation_json(keys.cancel(request, rotation_id)))
