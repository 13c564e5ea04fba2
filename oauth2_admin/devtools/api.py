"""OIDC discovery: public under `/api/hydra/discovery`, and for any API key under `/v1/oauth2/discovery`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import ConfigDict

from truss.apikit import AUTH_ERRORS, UPSTREAM_ERRORS, answers, any_key, json_response
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
