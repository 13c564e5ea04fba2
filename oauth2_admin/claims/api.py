"""`/api/hydra/claims-config`: the tenant's custom-claims templates (operator session)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

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

router = Router(tags=["claims"])


class ClaimsConfigIO(Schema):
    id_token_claims: dict[str, Any] = Field(default_factory=dict)
    access_token_claims: dict[str, Any] = Field(default_factory=dict)


class PreviewIn(ClaimsConfigIO):
    identity: str = Field(..., min_length=1, max_length=320)
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"], max_length=50)


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
    "/claims-config", response=answers({200: ClaimsConfigIO}, AUTH_ERRORS), summary="Custom claims config"
)
def get_claims_config(request: HttpRequest) -> Any:
    return service.config_for(tenant_of(request))


@router.put(
    "/claims-config",
    auth=member_session,
    response=answers({200: ClaimsConfigIO}, 400, AUTH_ERRORS),
    summary="Update custom claims",
)
@audited("bridge.claims.update")
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
