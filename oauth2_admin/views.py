"""Console pages: overview, discovery and JWKS (clients, tokens and the rest arrive in later issues)."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

from oauth2_admin import services
from truss import hydra, tenancy
from truss.http import TenantRequest


@require_safe
@tenancy.tenant_view()
def overview(request: TenantRequest) -> HttpResponse:
    """Hydra and Kratos at a glance for the current tenant."""
    return TemplateResponse(request, "oauth2_admin/overview.html", {"services": services.health()})


@require_safe
@tenancy.tenant_view()
def discovery(request: TenantRequest) -> HttpResponse:
    """Hydra's OpenID Connect discovery document, readable."""
    doc = hydra.discovery()
    return TemplateResponse(request, "oauth2_admin/discovery.html", {"doc": doc})


@require_safe
@tenancy.tenant_view()
def jwks(request: TenantRequest) -> HttpResponse:
    """The public signing keys Hydra publishes (private members never reach this page)."""
    keys = hydra.public_jwks()
    return TemplateResponse(request, "oauth2_admin/jwks.html", {"keys": keys.keys})
