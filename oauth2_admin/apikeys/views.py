"""The tenant's API keys: create (shown once), list, revoke. Admins only."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods, require_POST

from oauth2_admin.apikeys.forms import ApiKeyCreateForm
from truss import apikeys, audit, tenancy
from truss.forms import ConfirmForm
from truss.http import TenantRequest
from truss.models import ApiKey, AuditEvent, Role


def _api_keys_page(
    request: TenantRequest, form: ApiKeyCreateForm, status: int = 200, **extra: object
) -> HttpResponse:
    keys = ApiKey.objects.filter(tenant=request.tenant).select_related("created_by")
    return TemplateResponse(
        request, "console/apikeys/list.html", {"keys": keys, "form": form, **extra}, status=status
    )


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.ADMIN)
def key_list(request: TenantRequest) -> HttpResponse:
    """The tenant's API keys; POST creates one and shows it once."""
    if request.method != "POST":
        return _api_keys_page(request, ApiKeyCreateForm())
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        audit.record(request, "apikey.create", tenant=request.tenant, outcome=AuditEvent.Outcome.FAILURE,
                     after=dict(request.POST.items()), detail=form.errors.as_text())  # fmt: skip
        return _api_keys_page(request, form, status=400)
    key, raw = apikeys.generate(
        request.tenant, form.cleaned_data["role"], name=form.cleaned_data["name"], created_by=request.user
    )
    audit.record(request, "apikey.create", tenant=request.tenant, target=key.prefix,
                 after={"prefix": key.prefix, "role": key.role, "name": key.name})  # fmt: skip
    # Shown exactly once: rendered here, never stored in plaintext, never put in the session.
    title = f"New key “{key.name}”" if key.name else f"New key {key.prefix}…"
    response = _api_keys_page(request, ApiKeyCreateForm(), status=201, new_key=raw, new_key_title=title)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@tenancy.tenant_view(min_role=Role.ADMIN)
def revoke(request: TenantRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id, tenant=request.tenant)
    ConfirmForm(request.POST).is_valid()
    before = {"prefix": key.prefix, "revoked_at": None}
    apikeys.revoke(key)
    audit.record(request, "apikey.revoke", tenant=request.tenant, target=key.prefix, before=before,
                 after={"prefix": key.prefix, "revoked_at": key.revoked_at})  # fmt: skip
    messages.success(request, f"Key {key.prefix}… revoked. Requests using it now get 401.")
    return redirect("console:apikeys:list")
