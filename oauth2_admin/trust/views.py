"""Console pages for the tenant's trusted jwt-bearer issuers: list, create, view (with the assertion workbench),
delete. Viewers read; admins change."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from oauth2_admin.trust import service as trust
from oauth2_admin.trust.forms import TrustForm
from truss import audit, tenancy
from truss.audit import Action
from truss.http import TenantRequest
from truss.models import AuditEvent, Role


def _trust_or_404(request: TenantRequest, trust_id: str) -> trust.Trust:
    try:
        return trust.get_for(request.tenant, trust_id, request)
    except trust.TrustNotFound as exc:
        raise Http404("No such trusted issuer in this tenant.") from exc


@require_safe
@tenancy.tenant_view()
def trust_list(request: TenantRequest) -> HttpResponse:
    context = {
        "trusts": trust.list_for(request.tenant, request),
        "token_hook": settings.TRUST_TOKEN_HOOK,
        "can_edit": tenancy.role_at_least(request.role, Role.ADMIN),
    }
    return TemplateResponse(request, "console/trust/list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.ADMIN)
def trust_create(request: TenantRequest) -> HttpResponse:
    form = TrustForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = trust.create_for(request, request.tenant, form.payload())
            except trust.TrustInputError as exc:
                for name, errors in exc.fields.items():
                    field = "public_key" if name == "jwk" else name
                    form.add_error(field if field in form.fields else None, errors)
            except trust.TrustConflict as exc:
                form.add_error(None, str(exc))
                status = 409
            else:
                messages.success(
                    request, f"Hydra now trusts {created.record.issuer} for the jwt-bearer grant."
                )
                return redirect("console:trust:detail", created.record.hydra_id)
        else:
            audit.record(
                request,
                Action.TRUST_CREATE,
                tenant=request.tenant,
                outcome=AuditEvent.Outcome.FAILURE,
                detail=form.errors.as_text(),
            )
        status = status if status != 200 else 400
    return TemplateResponse(request, "console/trust/form.html", {"form": form}, status=status)


@require_safe
@tenancy.tenant_view()
def trust_detail(request: TenantRequest, trust_id: str) -> HttpResponse:
    found = _trust_or_404(request, trust_id)
    context = {
        "trust": found,
        "record": found.record,
        "json": found.as_json(),
        "workbench": trust.workbench_data(found),
        "can_edit": tenancy.role_at_least(request.role, Role.ADMIN),
    }
    return TemplateResponse(request, "console/trust/detail.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.ADMIN)
def trust_delete(request: TenantRequest, trust_id: str) -> HttpResponse:
    found = _trust_or_404(request, trust_id)
    if request.method == "POST":
        trust.delete_for(request, request.tenant, trust_id)
        messages.success(request, f"Hydra no longer trusts {found.record.issuer} ({trust_id}).")
        return redirect("console:trust:list")
    context = {
        "title": f"Stop trusting {found.record.issuer}?",
        "consequence": "Hydra deletes this trust relationship: assertions signed with this key are refused from now "
        "on. Access tokens already issued stay valid until they expire.",
        "button": "Delete trust",
        "cancel_url": reverse("console:trust:detail", args=[trust_id]),
    }
    return TemplateResponse(request, "components/confirm.html", context)


# --- the platform check ----------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.platform_admin_required
def trust_check(request: HttpRequest) -> HttpResponse:
    """Hydra trusts no tenant owns, and tenants' trusts Hydra lost (POST: re-create the lost ones)."""
    if request.method == "POST":
        repaired = trust.repair()
        messages.success(request, f"Re-created Hydra's trusts for {repaired} issuer key(s).")
        return redirect("console:trust:check")
    context = {
        "report": trust.check(),
        "denials": sorted(trust.hook_denials().items()),
        "token_hook": settings.TRUST_TOKEN_HOOK,
    }
    return TemplateResponse(request, "console/trust/check.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.platform_admin_required
def trust_orphan_remove(request: HttpRequest, grant_id: str) -> HttpResponse:
    if request.method == "POST":
        try:
            trust.remove_orphan(request, grant_id)
        except trust.NotAnOrphan as exc:
            messages.error(request, str(exc))
            return TemplateResponse(
                request, "console/trust/check.html", {"report": trust.check()}, status=400
            )
        messages.success(request, f"Hydra no longer holds trust {grant_id}.")
        return redirect("console:trust:check")
    context = {
        "title": f"Remove Hydra trust {grant_id}?",
        "consequence": "No tenant's trust is carried by it, yet every client with the jwt-bearer grant can use it "
        "while the token hook is off. Hydra deletes its key with it; tenants' trusts using the same issuer key are "
        "re-created at once.",
        "button": "Remove from Hydra",
        "cancel_url": reverse("console:trust:check"),
    }
    return TemplateResponse(request, "components/confirm.html", context)
