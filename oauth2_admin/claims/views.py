"""Console page: the tenant's custom claims editor, with a preview for one identity."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods, require_POST

from oauth2_admin.claims import service
from oauth2_admin.claims.forms import ClaimsConfigForm, PreviewForm
from oauth2_admin.scopes import service as scopes
from truss import htmx, tenancy
from truss.audit import Action
from truss.forms import refused
from truss.http import TenantRequest
from truss.models import ClaimsConfig, Role


def _can_edit(request: TenantRequest) -> bool:
    return tenancy.role_at_least(request.role, Role.MEMBER)


def _preview_kept(request: TenantRequest) -> PreviewForm:
    """The preview's fields as the operator left them (a save posts them along): a refused save keeps the
    identity being previewed. Unbound, so an empty identity is no error on a save."""
    if request.method != "POST":
        return PreviewForm()
    kept = {name: request.POST[name] for name in PreviewForm.base_fields if name in request.POST}
    return PreviewForm(initial=kept)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.VIEWER)
def config(request: TenantRequest) -> HttpResponse:
    """View (everyone) and edit (members) the templates for ID-token and access-token claims."""
    config = service.config_for(request.tenant)
    status = 200
    if request.method == "POST":
        if not _can_edit(request):
            tenancy.refuse(request, request.tenant, request.role, Role.MEMBER)
        form = ClaimsConfigForm(request.POST)
        if form.is_valid():
            service.save(
                request,
                request.tenant,
                id_token_claims=form.cleaned_data["id_token_claims"],
                access_token_claims=form.cleaned_data["access_token_claims"],
            )
            messages.success(request, "Claims saved. They apply from the next consent on.")
            return redirect("console:claims:config")
        refused(request, Action.CLAIMS_UPDATE, form, target="claims-config")
        status = 400
    else:
        form = ClaimsConfigForm(
            initial={
                "id_token_claims": config.id_token_claims,
                "access_token_claims": config.access_token_claims,
            }
        )
    context = {
        "form": form,
        "preview_form": _preview_kept(request),
        "can_edit": _can_edit(request),
        "config": config,
        "released": _released(request, config),
    }
    return TemplateResponse(request, "console/claims/config.html", context, status=status)


def _released(request: TenantRequest, config: ClaimsConfig) -> list[tuple[str, str, list[str]]]:
    """(token, claim, scopes that release it) for every saved template: no scope means every sign-in."""
    by_claim = scopes.releasing_scopes(request.tenant)
    return [
        (token, str(name), by_claim.get(str(name), []))
        for token, templates in (
            ("ID token", config.id_token_claims),
            ("Access token", config.access_token_claims),
        )
        for name in templates
    ]


@require_POST
@tenancy.tenant_view(min_role=Role.VIEWER)
def preview(request: TenantRequest) -> HttpResponse:
    """The claims the editor's current (unsaved) templates give for one identity: an htmx fragment."""
    editor = ClaimsConfigForm(request.POST)
    preview = PreviewForm(request.POST)
    # The whole page's context too: a request that is not an in-page htmx one gets the whole page.
    context: dict[str, object] = {
        "preview_form": preview,
        "form": editor,
        "can_edit": _can_edit(request),
        "config": service.config_for(request.tenant),
    }
    if editor.is_valid() and preview.is_valid():
        scopes = preview.cleaned_data["scopes"].split()
        try:
            identity, result = service.preview(
                request,
                request.tenant,
                preview.cleaned_data["identity"],
                scopes,
                editor.cleaned_data["id_token_claims"],
                editor.cleaned_data["access_token_claims"],
            )
            context.update(
                identity=identity,
                left_out=service.left_out(
                    identity,
                    editor.cleaned_data["id_token_claims"],
                    editor.cleaned_data["access_token_claims"],
                ),
                id_token_json=json.dumps(result.id_token, indent=2, ensure_ascii=False),
                access_token_json=json.dumps(result.access_token, indent=2, ensure_ascii=False),
            )
        except service.PreviewRefused:
            context["refused"] = True
    else:
        context["editor_errors"] = editor.errors
    return htmx.render(request, "console/claims/config.html", context, partial="claims-preview")
