"""OIDC discovery: public under `/api/hydra/discovery`, and for any API key under `/v1/oauth2/discovery`."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from truss.apikit import any_key
from truss.ory import hydra

router = Router(tags=["discovery"])
key_router = Router(tags=["discovery"])


@router.get("/discovery", auth=None, summary="OIDC discovery document")
def discovery(request: HttpRequest) -> dict[str, Any]:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oidc/operation/discoverOidcConfiguration
    return hydra.discovery().model_dump(mode="json", exclude_none=True)


@key_router.get("/oauth2/discovery", auth=any_key, summary="OIDC discovery (any API key)")
def v1_discovery(request: HttpRequest) -> dict[str, Any]:
    return hydra.discovery().model_dump(mode="json", exclude_none=True)
