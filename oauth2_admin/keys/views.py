"""Signing keys: the public JWKS Hydra publishes (private members never reach this page)."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

from truss import tenancy
from truss.http import TenantRequest
from truss.ory import hydra


@require_safe
@tenancy.tenant_view()
def jwks(request: TenantRequest) -> HttpResponse:
    """The public signing keys Hydra publishes (private members never reach this page)."""
    keys = hydra.public_jwks()
    return TemplateResponse(request, "console/keys/jwks.html", {"keys": keys.keys})
