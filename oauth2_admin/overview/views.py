"""The console's front page and the tenant switcher."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from oauth2_admin.overview import service
from oauth2_admin.overview.forms import TenantSwitchForm
from truss import audit, bridge_check, htmx, tenancy
from truss.audit import Action
from truss.http import TenantRequest
from truss.management.commands.seed_demo import DEMO_USER_EMAIL, DEMO_USER_PASSWORD
from truss.models import Role


@require_safe
@tenancy.tenant_view()
def overview(request: TenantRequest) -> HttpResponse:
    """Hydra and Kratos at a glance for the current tenant, and the last bridge check."""
    can_start_flows = tenancy.role_at_least(request.role, Role.MEMBER)  # as the flow tester requires
    context = {
        "services": service.health(),
        "clients": service.client_stats(request.tenant, with_demo=can_start_flows),
        "scopes": service.scope_grants(request.tenant),
        "can_start_flows": can_start_flows,
        "demo_user": DEMO_USER_EMAIL,
        "demo_password": DEMO_USER_PASSWORD,
        "activity": service.activity(request.tenant),
        "signing_keys": service.key_status(),
        "events": service.recent_events(request.tenant),
        "bridge": bridge_check.last_deep(request.tenant),
        "bridge_rate_limit": bridge_check.RATE_LIMIT_SECONDS,
        # The installation's audit delivery (every tenant's events): platform admins only.
        "audit_delivery": service.audit_delivery() if request.user.is_superuser else None,
    }
    return TemplateResponse(request, "console/overview/overview.html", context)


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def check_bridge(request: TenantRequest) -> HttpResponse:
    """Walk a throwaway flow through Hydra and the bridge with one of the tenant's clients (rate-limited;
    the probe's sessions are revoked afterwards). Audited: it makes Hydra accept a login for the probe."""
    ran = bridge_check.acquire()
    result: dict[str, Any] | None
    if ran:
        with audit.mutation(
            request, Action.BRIDGE_CHECK_RUN, request.tenant, bridge_check.PROBE_SUBJECT
        ) as event:
            result = bridge_check.deep_check(request.tenant)
            event.success(after={"ok": result["ok"]})
    else:
        result = bridge_check.last_deep(request.tenant)  # rate-limited: nothing runs, nothing is audited
    context = {
        "bridge": result,
        "bridge_rate_limited": not ran,
        "bridge_rate_limit": bridge_check.RATE_LIMIT_SECONDS,
    }
    if not htmx.is_fragment_request(request):
        return redirect("console:overview")
    return htmx.render(request, "console/overview/overview.html", context, partial="bridge-check")


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
