"""`GET /api/hydra/jwks`: the public JSON Web Key Set Hydra publishes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from truss.apikit import json_response
from truss.ory import hydra

router = Router(tags=["keys"])


@router.get("/jwks", auth=None, summary="Public JSON Web Key Set")
def jwks(request: HttpRequest) -> HttpResponse:
    # Public keys only: the client module strips private members at the boundary.
    keys = hydra.public_jwks().model_dump(mode="json", exclude_none=True)
    response = json_response(keys)
    response["Cache-Control"] = "public, max-age=60"
    return response
