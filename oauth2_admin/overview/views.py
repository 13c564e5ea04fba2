"""The console's front page and the tenant switcher."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from oauth2_admin.overview import service
from oauth2_admin.overview.forms import TenantSwitchForm
from truss import tenancy
from truss.http import TenantRequest


@require_safe
@tenancy.tenant_view()
def overview(request: TenantRequest) -> HttpResponse:
    """Hydra and Kratos at a glance for the current tenant."""
    return TemplateResponse(request, "console/overview/overview.html", {"services": service.health()})


@require_POST
@tenancy.tenant_view()
def switch_tenant(request: TenantRequest) -> HttpResponse:
    form = TenantSwitchForm(request.POST)
    if form.is_valid() and tenancy.switch(request, form.cleaned_data["tenant"]):
        messages.success(request, "Switched tenant.")
    else:
        messages.error(request, "You are not a member of that tenant.")
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "console:overview"
    return redirect(back)
