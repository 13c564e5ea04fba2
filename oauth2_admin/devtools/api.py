"""OIDC discovery: public under `/api/hydra/discovery`, and for any API key under `/v1/oauth2/discovery`; the flow
doctor under `/v1/oauth2/diagnose`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from oauth2_admin.devtools import doctor
from truss.apikit import AUTH_ERRORS, UPSTREAM_ERRORS, answers, any_key, error, json_response, tenant_of
from truss.ory import hydra

router = Router(tags=["discovery"])
key_router = Router(tags=["discovery"])


class DiscoveryOut(Schema):
    """Hydra's OpenID Provider metadata (OpenID Connect Discovery 1.0); every other member passes through."""

    model_config = ConfigDict(extra="allow")

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def _discovery() -> HttpResponse:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oidc/operation/discoverOidcConfiguration
    return json_response(hydra.discovery().model_dump(mode="json", exclude_none=True))


@router.get(
    "/discovery",
    auth=None,
    response=answers({200: DiscoveryOut}, UPSTREAM_ERRORS),
    summary="OIDC discovery document",
)
def discovery(request: HttpRequest) -> HttpResponse:
    return _discovery()


@key_router.get(
    "/oauth2/discovery",
    auth=any_key,
    response=answers({200: DiscoveryOut}, AUTH_ERRORS, UPSTREAM_ERRORS),
    summary="OIDC discovery (any API key)",
)
def v1_discovery(request: HttpRequest) -> HttpResponse:
    return _discovery()


class DiagnoseIn(Schema):
    url: str = Field(max_length=doctor.MAX_URL, pattern=doctor.URL_PATTERN)
    request_url: str = Field("", max_length=doctor.MAX_URL, pattern=rf"^$|{doctor.URL_PATTERN}")
    client_id: str = Field("", max_length=255)


class DoctorFindingOut(Schema):
    code: str
    message: str
    fix: dict[str, Any] | None = None


class DiagnoseOut(Schema):
    kind: str
    client_id: str
    client_found: bool
    error: dict[str, str]
    findings: list[DoctorFindingOut]
    events: list[dict[str, Any]]


@key_router.post(
    "/oauth2/diagnose",
    auth=any_key,
    response=answers({200: DiagnoseOut}, 400, AUTH_ERRORS, UPSTREAM_ERRORS),
    summary="Flow doctor: why an authorization request failed",
    description="Reads what the application received (its callback with error/error_description/error_hint, or "
    "Hydra's error page URL) and/or the authorization URL it sent, finds the tenant's client and checks the "
    "request against it. Another tenant's client reads as unknown. Reading only: nothing changes, no audit event.",
)
def diagnose(request: HttpRequest, payload: DiagnoseIn) -> HttpResponse:
    try:
        found = doctor.diagnose(
            tenant_of(request), payload.url, client_id=payload.client_id, request_url=payload.request_url
        )
    except doctor.BadInput as exc:
        return error(request, 400, "invalid_request", "The input cannot be read.", fields=exc.fields)
    return json_response(found.as_dict())
