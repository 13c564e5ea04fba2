"""Project-level views: health probes, operator sign-in, tenant switching, audit log and API keys."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from truss import apikeys, audit, hydra, kratos, tenancy
from truss.forms import ApiKeyCreateForm, AuditFilterForm, ConfirmForm, TenantSwitchForm
from truss.http import TenantRequest
from truss.models import ApiKey, AuditEvent, Role

AUDIT_PAGE_SIZE = 50


@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Nothing external is checked."""
    return JsonResponse({"status": "ok"})


@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Readiness: the database, Hydra and Kratos all answer; 503 otherwise."""
    checks: dict[str, bool] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = True
    except Exception:
        checks["database"] = False
    checks["hydra"] = hydra.is_ready()
    checks["kratos"] = kratos.is_ready()
    ok = all(checks.values())
    return JsonResponse(
        {"status": "ready" if ok else "unavailable", "checks": checks}, status=200 if ok else 503
    )


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


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
        back = "overview"
    return redirect(back)


def _first_id_at_or_after(day: dt.date) -> int:
    moment = dt.datetime.combine(day, dt.time.min, dt.UTC)
    first = (
        AuditEvent.objects.filter(created_at__gte=moment)
        .order_by("created_at", "id")
        .values_list("id", flat=True)
    )
    return first.first() or (AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1


def _audit_queryset(request: TenantRequest, form: AuditFilterForm) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(tenant=request.tenant)
    data = form.cleaned_data
    if data.get("action"):
        events = events.filter(action=data["action"])
    if data.get("actor"):
        events = events.filter(actor=data["actor"])
    if data.get("target"):
        events = events.filter(target=data["target"])
    # Appends are serialised by the chain-head lock, so created_at never decreases as id grows: a date bound
    # becomes an id bound found with one created_at index lookup, and the page stays a pure keyset range.
    if data.get("since"):
        events = events.filter(id__gte=_first_id_at_or_after(data["since"]))
    if data.get("until"):
        events = events.filter(id__lt=_first_id_at_or_after(data["until"] + dt.timedelta(days=1)))
    if data.get("before"):
        events = events.filter(id__lt=data["before"])
    return events.order_by("-id")


@require_GET
@tenancy.tenant_view()
def audit_log(request: TenantRequest) -> HttpResponse:
    """The tenant's audit events, newest first, with keyset pagination (fast at any depth)."""
    form = AuditFilterForm(request.GET)
    events: list[AuditEvent] = []
    if form.is_valid():
        events = list(_audit_queryset(request, form)[: AUDIT_PAGE_SIZE + 1])
    has_more = len(events) > AUDIT_PAGE_SIZE
    events = events[:AUDIT_PAGE_SIZE]
    filters = request.GET.copy()
    filters.pop("before", None)
    older = filters.copy()
    if events:
        older["before"] = str(events[-1].pk)
    context = {
        "form": form,
        "events": events,
        "next_query": older.urlencode() if has_more else None,
        "first_query": filters.urlencode() if "before" in request.GET else None,
    }
    partial = request.htmx and not request.htmx.boosted
    template = "truss/audit_log.html#audit-table" if partial else "truss/audit_log.html"
    return TemplateResponse(request, template, context)


def _api_keys_page(
    request: TenantRequest, form: ApiKeyCreateForm, status: int = 200, **extra: object
) -> HttpResponse:
    keys = ApiKey.objects.filter(tenant=request.tenant).select_related("created_by")
    return TemplateResponse(
        request, "truss/api_keys.html", {"keys": keys, "form": form, **extra}, status=status
    )


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.ADMIN)
def api_keys(request: TenantRequest) -> HttpResponse:
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
def api_key_revoke(request: TenantRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id, tenant=request.tenant)
    ConfirmForm(request.POST).is_valid()
    before = {"prefix": key.prefix, "revoked_at": None}
    apikeys.revoke(key)
    audit.record(request, "apikey.revoke", tenant=request.tenant, target=key.prefix, before=before,
                 after={"prefix": key.prefix, "revoked_at": key.revoked_at})  # fmt: skip
    messages.success(request, f"Key {key.prefix}… revoked. Requests using it now get 401.")
    return redirect("api_keys")
