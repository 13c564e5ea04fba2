"""Console pages: Tokens (introspect, revoke) and Cleanup (hydra janitor, platform admins)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods, require_POST

from oauth2_admin.tokens import janitor, service
from oauth2_admin.tokens.forms import CleanupForm, TokenForm
from truss import audit, tenancy
from truss.http import TenantRequest
from truss.models import AuditEvent, Role


def _page(request: TenantRequest, form: TokenForm, status: int = 200, **extra: Any) -> HttpResponse:
    context = {
        "form": form,
        "can_revoke": tenancy.role_at_least(request.role, Role.MEMBER),
        "revoke_methods": service.REVOKE_METHODS,
        **extra,
    }
    response = TemplateResponse(request, "console/tokens/list.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the answer may echo the pasted token (revoke form)
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view()
def token_list(request: TenantRequest) -> HttpResponse:
    """Introspect a token (POST: the token never goes into a URL) and show it readably."""
    if request.method != "POST":
        return _page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    token = form.cleaned_data["token"]
    return _page(request, form, report=service.report(request.tenant, token), token=token)


@require_POST
@tenancy.tenant_view()
def token_revoke(request: TenantRequest) -> HttpResponse:
    """Revoke one of the tenant's tokens (member and up); the page then shows it inactive."""
    if not tenancy.role_at_least(request.role, Role.MEMBER):
        audit.record(request, "oauth2.token.revoke", tenant=request.tenant, outcome=AuditEvent.Outcome.DENIED,
                     detail="needs the member role")  # fmt: skip
        raise PermissionDenied("Revoking tokens needs the member role.")
    form = TokenForm(request.POST)
    if not form.is_valid():
        audit.record(request, "oauth2.token.revoke", tenant=request.tenant, outcome=AuditEvent.Outcome.FAILURE,
                     detail="invalid token field")  # fmt: skip
        return _page(request, form, status=400)
    token = form.cleaned_data["token"]
    try:
        revocation = service.revoke_for(request, request.tenant, token)
    except service.NothingToRevoke as exc:
        messages.error(request, str(exc))
        return _page(request, TokenForm(), status=404)
    except service.NotRevoked as exc:
        messages.error(request, str(exc))
        return _page(request, form, status=409, report=service.report(request.tenant, token), token=token)
    return _page(request, TokenForm(), revoked=revocation, report=service.report(request.tenant, token))


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view()
def cleanup(request: HttpRequest) -> HttpResponse:
    """Run `hydra janitor` against Hydra's database (platform admins: it affects every tenant)."""
    if not request.user.is_superuser:
        if request.method == "POST":
            audit.record(request, "oauth2.tokens.flush", tenant=None, target="hydra-janitor",
                         outcome=AuditEvent.Outcome.DENIED, detail="platform admins only")  # fmt: skip
        raise PermissionDenied("Cleaning Hydra's database affects every tenant: platform admins only.")
    form = CleanupForm(request.POST or None)
    status, last = 200, None
    if request.method == "POST":
        if not form.is_valid():
            audit.record(request, "oauth2.tokens.flush", tenant=None, target="hydra-janitor",
                         outcome=AuditEvent.Outcome.FAILURE, detail=form.errors.as_text())  # fmt: skip
            status = 400
        else:
            try:
                last = janitor.run(request, form.options)
            except janitor.NotConfigured as exc:
                messages.error(request, str(exc))
                status = 409
            except janitor.Busy as exc:
                messages.error(request, str(exc))
                status = 409
            except janitor.RunFailed as exc:
                last, status = exc.run, 502
    context = {
        "form": form,
        "config": janitor.configuration(),
        "runs": janitor.history(),
        "last": last,
        "compose_snippet": janitor.COMPOSE_SNIPPET,
        "cron_line": janitor.CRON_LINE,
        "timeout": janitor.TIMEOUT_SECONDS,
    }
    return TemplateResponse(request, "console/tokens/cleanup.html", context, status=status)
