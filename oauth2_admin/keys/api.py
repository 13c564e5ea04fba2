"""`GET /api/hydra/jwks` (public JWKS) and `/api/hydra/keys…`: Hydra's key sets for operators (read), and
create / delete / staged rotation for platform admins. Answers never contain private key material."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import BaseModel

from oauth2_admin.keys import service as keys
from truss.apikit import (
    AUTH_ERRORS,
    UPSTREAM_ERRORS,
    answers,
    audit_refusal,
    audited,
    error,
    json_object,
    json_response,
    session_auth,
)
from truss.audit import Action
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


def _schema(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """The request body as documented: the service's own model (one source for the contract and the check)."""
    return {"required": required, "content": {"application/json": {"schema": model.model_json_schema()}}}


_WRITTEN = answers({200: dict[str, Any]}, _WRITE)
_CREATED = answers({201: dict[str, Any]}, _WRITE)


@router.get(
    "/keys",
    auth=session_auth,
    response=_READ,
    summary="Hydra's key sets (public halves), the signer and rotations",
)
@_answers
def list_keys(request: HttpRequest) -> HttpResponse:
    """Hydra v2.3.0 cannot list key sets: these are the sets Hydra signs with plus the sets Truss created."""
    return json_response(
        {
            "sets": [s.as_json() for s in keys.key_sets()],
            "rotations": [keys.rotation_json(r) for r in keys.rotations()],
            "can_manage": keys.is_platform_admin(request),
        }
    )


@router.post(
    "/keys",
    response=_CREATED,
    auth=session_auth,
    summary="Generate a key into a set (platform admins)",
    openapi_extra={"requestBody": _schema(keys.KeyIn)},
)
@audited(Action.KEY_CREATE)
@_answers
def create_key(request: HttpRequest) -> HttpResponse:
    """Adding a key to a set Hydra signs with makes it sign at once; prefer a staged rotation for those."""
    view, warnings = keys.create_key(request, json_object(request))
    return json_response({**view.as_json(), "warnings": warnings}, status=201)


@router.delete(
    "/keys/{set_id}/{kid}",
    response=_WRITTEN,
    auth=session_auth,
    summary="Delete one key (platform admins)",
)
@audited(Action.KEY_DELETE)
@_answers
def delete_key(request: HttpRequest, set_id: str, kid: str) -> HttpResponse:
    """Refuses the last signing key of a set Hydra signs with; warns when tokens it signed may be alive."""
    warnings = keys.delete_key(request, set_id, kid)
    return json_response({"deleted": {"set_id": set_id, "kid": kid}, "warnings": warnings})


@router.get("/keys/rotations", auth=session_auth, response=_READ, summary="Staged rotations, newest first")
@_answers
def list_rotations(request: HttpRequest) -> HttpResponse:
    return json_response({"items": [keys.rotation_json(r) for r in keys.rotations()]})


@router.post(
    "/keys/rotations",
    response=_CREATED,
    auth=session_auth,
    summary="Stage 1: publish the next key (platform admins)",
    openapi_extra={"requestBody": _schema(keys.RotationIn)},
)
@audited(Action.KEY_ROTATION_START)
@_answers
def start_rotation(request: HttpRequest) -> HttpResponse:
    rotation = keys.start_rotation(request, json_object(request))
    return json_response(keys.rotation_json(rotation), status=201)


def _force(request: HttpRequest) -> bool:
    """The optional `{"force": true}` body; a bad one is refused (and audited) before the service runs."""
    try:
        return keys.validated(keys.StepIn, json_object(request, empty={})).force
    except keys.KeyInputError as exc:
        audit_refusal(request, f"invalid request: {sorted(exc.fields)}")
        raise


@router.post(
    "/keys/rotations/{rotation_id}/promote",
    auth=session_auth,
    response=_WRITTEN,
    openapi_extra={"requestBody": _schema(keys.StepIn, required=False)},
    summary="Stage 2: the published key starts signing (after the cache window unless forced)",
)
@audited(Action.KEY_ROTATION_PROMOTE)
@_answers
def promote_rotation(request: HttpRequest, rotation_id: int) -> HttpResponse:
    force = _force(request)
    return json_response(keys.rotation_json(keys.promote(request, rotation_id, force=force)))


@router.post(
    "/keys/rotations/{rotation_id}/retire",
    auth=session_auth,
    response=_WRITTEN,
    openapi_extra={"requestBody": _schema(keys.StepIn, required=False)},
    summary="Stage 3: remove the old keys (after the longest token lifespan unless forced)",
)
@audited(Action.KEY_ROTATION_RETIRE)
@_answers
def retire_rotation(request: HttpRequest, rotation_id: int) -> HttpResponse:
    force = _force(request)
    return json_response(keys.rotation_json(keys.retire(request, rotation_id, force=force)))


@router.post(
    "/keys/rotations/{rotation_id}/cancel",
    auth=session_auth,
    response=_WRITTEN,
    summary="Withdraw a published key that does not sign yet",
)
@audited(Action.KEY_ROTATION_CANCEL)
@_answers
def cancel_rotation(request: HttpRequest, rotation_id: int) -> HttpResponse:
    return json_response(keys.rotation_json(keys.cancel(request, rotation_id)))
