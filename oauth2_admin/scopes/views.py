"""Console pages for the scope catalogue: the list (standard scopes read-only, then the tenant's), create, edit
and delete with a confirmation naming the clients that still use the scope. Viewers read; members change."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from oauth2_admin.scopes import service
from oauth2_admin.scopes.forms import ScopeForm
from oauth2_admin.scopes.models import Scope
from truss import tenancy
from truss.audit import Action
from truss.errors import InputError
from truss.forms import ConfirmForm, refused
from truss.http import TenantRequest
from truss.models import Role
from truss.ory import hydra


def _scope_or_404(request: TenantRequest, scope_id: int) -> Scope:
    try:
        return service.get_by_id(request.tenant, scope_id)
    except service.ScopeNotFound as exc:
        raise Http404("No such scope in this tenant.") from exc


@require_safe
@tenancy.tenant_view()
def scope_list(request: TenantRequest) -> HttpResponse:
    context = {
        "standard": service.standard_scopes(),
        "scopes": service.list_for(request.tenant),
        "can_edit": tenancy.role_at_least(request.role, Role.MEMBER),
    }
    return TemplateResponse(request, "console/scopes/list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def scope_create(request: TenantRequest) -> HttpResponse:
    form = ScopeForm(request.POST or None, templates=service.claim_templates(request.tenant))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                created = service.create(request, request.tenant, form.payload())
            except service.ScopeConflict as exc:
                form.add_service_errors(exc)
                status = 409
            except InputError as exc:
                form.add_service_errors(exc)
                status = 400
            else:
                messages.success(request, f"Scope {created.name} added to the catalogue.")
                return redirect("console:scopes:list")
        else:
            refused(request, Action.SCOPE_CREATE, form, target=str(request.POST.get("name", ""))[:200])
            status = 400
    context = {"form": form, "creating": True}
    return TemplateResponse(request, "console/scopes/form.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def scope_edit(request: TenantRequest, scope_id: int) -> HttpResponse:
    scope = _scope_or_404(request, scope_id)
    initial = service.as_json(scope)
    form = ScopeForm(
        request.POST or None,
        initial=initial,
        templates=service.claim_templates(request.tenant),
        current=list(scope.claims),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                service.update(request, request.tenant, scope.name, form.payload())
            except service.ScopeNotFound as exc:
                raise Http404("No such scope in this tenant.") from exc
            except InputError as exc:
                form.add_service_errors(exc)
                status = 400
            else:
                messages.success(request, f"Scope {scope.name} saved. It applies from the next consent on.")
                return redirect("console:scopes:list")
        else:
            refused(request, Action.SCOPE_UPDATE, form, target=scope.name)
            status = 400
    context = {"form": form, "scope": scope, "creating": False}
    return TemplateResponse(request, "console/scopes/form.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def scope_delete(request: TenantRequest, scope_id: int) -> HttpResponse:
    scope = _scope_or_404(request, scope_id)
    form = ConfirmForm(request.POST or None, initial={"etag": service.version(scope)})
    status = 200
    if request.method == "POST":
        if form.is_valid() and form.cleaned_data["etag"] == service.version(scope):
            try:
                service.delete(request, request.tenant, scope.name)
            except service.ScopeNotFound as exc:
                raise Http404("No such scope in this tenant.") from exc
            messages.success(request, f"Scope {scope.name} removed from the catalogue.")
            return redirect("console:scopes:list")
        form = ConfirmForm(initial={"etag": service.version(scope)})
        messages.error(request, "The scope changed since this page was shown: check again before deleting.")
        status = 412
    context = {
        "title": f"Delete the scope {scope.name}?",
        "consequence": "Clients that request it are no longer told what it means: the consent screen shows it by "
        "its name, the claims it released go out with every sign-in again unless another scope releases them, "
        "and the hygiene report flags clients that still list it.",
        "facts": [("Scope", scope.name), ("Title", scope.title_en)],
        "consequences": _users(request, scope),
        "button": "Delete scope",
        "cancel_url": reverse("console:scopes:edit", args=[scope.pk]),
        "hidden_form": form,
    }
    return TemplateResponse(request, "components/confirm.html", context, status=status)


def _users(request: TenantRequest, scope: Scope) -> list[str]:
    """The confirmation's list: which clients still list the scope (from at most one page of Hydra's)."""
    try:
        users = service.clients_using(request.tenant, scope.name)
    except hydra.HydraError:
        return ["Hydra is unavailable: the clients that use this scope could not be checked."]
    shown = [f"{name.label} ({name.raw}) lists it in its scope." for name in users.clients]
    if not users.clients:
        shown.append(f"None of the {users.checked} clients checked lists it.")
    if not users.complete:
        shown.append(
            f"Only the first {users.checked} of the tenant's clients were checked: the hygiene report lists "
            "every client that requests a scope missing from the catalogue."
        )
    return shown
