"""`/api/hydra/claims-config`: the tenant's custom-claims templates (operator session)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import AfterValidator, ConfigDict, StrictStr, WithJsonSchema

from oauth2_admin.claims import service
from truss import claims
from truss.apikit import (
    AUTH_ERRORS,
    UPSTREAM_ERRORS,
    answers,
    audit_refusal,
    audited,
    error,
    member_session,
    tenant_of,
)
from truss.audit import Action

router = Router(tags=["claims"])

# The API's templates, stated as patterns the OpenAPI document carries and the check applies (fullmatch): a
# claim name, and a template whose braces only ever open and close a `{{ variable }}` placeholder (the console's
# editor also takes a lone brace). Both are inside what the claims engine accepts, so it never refuses them.
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.:\-]{0,63}$"
TEMPLATE_PATTERN = r"^(?:[^{}]|\{\{ *(?:id|(?:traits|metadata_public)(?:\.[A-Za-z0-9_-]+)*) *\}\})*$"


def _template(value: str) -> str:
    if len(value) > claims.MAX_TEMPLATE_LENGTH or not re.fullmatch(TEMPLATE_PATTERN, value):
        raise ValueError(
            f"At most {claims.MAX_TEMPLATE_LENGTH} characters; braces only in {{{{ id }}}}, {{{{ traits.… }}}} "
            "or {{ metadata_public.… }} placeholders."
        )
    return value


def _name(name: str, reserved: frozenset[str]) -> str:
    if not re.fullmatch(NAME_PATTERN, name):
        raise ValueError("Claim names use letters, digits, _ . : - and start with a letter or _.")
    if name in reserved:
        raise ValueError(f"{name!r} is set by Hydra and cannot be templated.")
    return name


def _id_token_name(name: str) -> str:
    return _name(name, claims.RESERVED_ID_TOKEN)


def _access_token_name(name: str) -> str:
    return _name(name, claims.RESERVED_ACCESS_TOKEN)


def _claims_schema(reserved: frozenset[str]) -> dict[str, Any]:
    """Names by propertyNames (pydantic would state a key pattern as patternProperties, which admits others)."""
    names = {"type": "string", "pattern": NAME_PATTERN, "not": {"enum": sorted(reserved)}}
    template = {"type": "string", "pattern": TEMPLATE_PATTERN, "maxLength": claims.MAX_TEMPLATE_LENGTH}
    return {
        "type": "object",
        "maxProperties": claims.MAX_CLAIMS,
        "propertyNames": names,
        "additionalProperties": template,
    }


Template = Annotated[StrictStr, AfterValidator(_template)]
IdTokenClaims = Annotated[
    dict[Annotated[str, AfterValidator(_id_token_name)], Template],
    Field(max_length=claims.MAX_CLAIMS),
    WithJsonSchema(_claims_schema(claims.RESERVED_ID_TOKEN)),
]
AccessTokenClaims = Annotated[
    dict[Annotated[str, AfterValidator(_access_token_name)], Template],
    Field(max_length=claims.MAX_CLAIMS),
    WithJsonSchema(_claims_schema(claims.RESERVED_ACCESS_TOKEN)),
]


class ClaimsConfigOut(Schema):
    """What is stored (the console's editor may have saved templates the API would word more strictly)."""

    id_token_claims: dict[str, Any]
    access_token_claims: dict[str, Any]


class ClaimsConfigIO(Schema):
    model_config = ConfigDict(extra="forbid")

    id_token_claims: IdTokenClaims = Field(default_factory=dict)
    access_token_claims: AccessTokenClaims = Field(default_factory=dict)


class PreviewIn(ClaimsConfigIO):
    identity: StrictStr = Field(..., min_length=1, max_length=320)
    scopes: list[StrictStr] = Field(default_factory=lambda: ["openid", "email", "profile"], max_length=50)


class PreviewOut(Schema):
    identity_id: str
    id_token: dict[str, Any]
    access_token: dict[str, Any]


def _invalid(payload: ClaimsConfigIO) -> dict[str, list[str]]:
    return {
        **claims.validate("id_token_claims", payload.id_token_claims),
        **claims.validate("access_token_claims", payload.access_token_claims),
    }


@router.get(
    "/claims-config", response=answers({200: ClaimsConfigOut}, AUTH_ERRORS), summary="Custom claims config"
)
def get_claims_config(request: HttpRequest) -> Any:
    return service.config_for(tenant_of(request))


@router.put(
    "/claims-config",
    auth=member_session,
    response=answers({200: ClaimsConfigOut}, 400, AUTH_ERRORS),
    summary="Update custom claims",
)
@audited(Action.CLAIMS_UPDATE)
def put_claims_config(request: HttpRequest, payload: ClaimsConfigIO) -> Any:
    fields = _invalid(payload)
    if fields:
        audit_refusal(request, f"invalid templates: {sorted(fields)}")
        return error(request, 400, "invalid_request", "The claims templates are invalid.", fields=fields)
    return service.save(
        request,
        tenant_of(request),
        id_token_claims=payload.id_token_claims,
        access_token_claims=payload.access_token_claims,
    )


@router.post(
    "/claims-config/preview",
    response=answers({200: PreviewOut}, 400, AUTH_ERRORS, 404, UPSTREAM_ERRORS),
    summary="Preview claims for one identity",
)
def preview_claims_config(request: HttpRequest, payload: PreviewIn) -> Any:
    fields = _invalid(payload)
    if fields:
        return error(request, 400, "invalid_request", "The claims templates are invalid.", fields=fields)
    try:
        identity, result = service.preview(
            request,
            tenant_of(request),
            payload.identity,
            payload.scopes,
            payload.id_token_claims,
            payload.access_token_claims,
        )
    except service.PreviewRefused:
        return error(request, 404, "not_found", "No identity that has used this tenant's clients matches.")
    return {"identity_id": identity.id, "id_token": result.id_token, "access_token": result.access_token}
