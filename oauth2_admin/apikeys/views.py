"""The tenant's API keys: create (shown once), list, revoke (after a confirmation page). Admins only."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from oauth2_admin.apikeys.forms import ApiKeyCreateForm
from truss import apikeys, audit, tenancy
from truss.audit import Action
from truss.http import TenantRequest
from truss.models import ApiKey, Role


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
    with audit.mutation(request, Action.APIKEY_CREATE, request.tenant) as event:
        if not form.is_valid():
            event.failure(form.errors.as_text())
            return _api_keys_page(request, form, status=400)
        key, raw = apikeys.generate(
            request.tenant, form.cleaned_data["role"], name=form.cleaned_data["name"], created_by=request.user
        )
        event.success(target=key.prefix, after={"prefix": key.prefix, "role": key.role, "name": key.name})
    # Shown exactly once: rendered here, never stored in plaintext, never put in the session.
    title = f"New key “{key.name}”" if key.name else f"New key {key.prefix}…"
    response = _api_keys_page(request, ApiKeyCreateForm(), status=201, new_key=raw, new_key_title=title)
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.ADMIN)
def revoke(request: TenantRequest, key_id: int) -> HttpResponse:
    """GET asks first (components/confirm.html); POST revokes."""
    key = get_object_or_404(ApiKey, pk=key_id, tenant=request.tenant, revoked_at__isnull=True)
    label = f"“{key.name}” ({key.prefix}…)" if key.name else f"{key.prefix}…"
    if request.method != "POST":
        context = {
            "title": f"Revoke the API key {label}?",
            "consequence": "Anything using it gets 401 from now on. This cannot be undone: a new key is a "
            "new secret to distribute.",
            "button": "Revoke key",
            "cancel_url": reverse("console:apikeys:list"),
        }
        return TemplateResponse(request, "components/confirm.html", context)
    with audit.mutation(request, Action.APIKEY_REVOKE, request.tenant, key.prefix) as event:
        event.before = {"prefix": key.prefix, "revoked_at": None}
        apikeys.revoke(key)
        event.success(after={"prefix": key.prefix, "revoked_at": key.revoked_at})
    messages.success(request, f"Key {key.prefix}… revoked. Requests using it now get 401.")
    return redirect("console:apikeys:list")
