"""Developer tools: the OIDC discovery document, readable."""

from __future__ import annotations

from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

from truss import tenancy
from truss.http import TenantRequest
from truss.ory import hydra


@require_safe
@tenancy.tenant_view()
def discovery(request: TenantRequest) -> HttpResponse:
    """Hydra's OpenID Connect discovery document, readable."""
    doc = hydra.discovery()
    return TemplateResponse(request, "console/devtools/discovery.html", {"doc": doc})
