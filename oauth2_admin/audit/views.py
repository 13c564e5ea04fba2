"""The tenant's audit log: filters and a keyset cursor (fast at any depth)."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import HttpResponse
from django.views.decorators.http import require_GET

from oauth2_admin.audit import service
from oauth2_admin.audit.forms import AuditFilterForm
from truss import htmx, tenancy
from truss.audit import retention
from truss.http import TenantRequest
from truss.models import AuditEvent, Role, Tenant

PAGE_SIZE = 50


def _first_id_at_or_after(tenant: Tenant, day: dt.date) -> int:
    """The tenant's first event id on or after ``day``. Appends are serialised per tenant chain, so within a
    tenant created_at never decreases as id grows: a date bound becomes an id bound (one index lookup on
    (tenant, created_at)) and the page stays a pure keyset range."""
    moment = dt.datetime.combine(day, dt.time.min, dt.UTC)
    events = AuditEvent.objects.filter(tenant=tenant)
    first = events.filter(created_at__gte=moment).order_by("created_at", "id").values_list("id", flat=True)
    return first.first() or (events.order_by("-id").values_list("id", flat=True).first() or 0) + 1


def _audit_queryset(request: TenantRequest, form: AuditFilterForm) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.filter(tenant=request.tenant)
    data = form.cleaned_data
    if data.get("action"):
        events = events.filter(action=data["action"])
    if data.get("actor"):
        events = events.filter(actor=data["actor"])
    if data.get("target"):
        events = events.filter(target=data["target"])
    if data.get("since"):
        events = events.filter(id__gte=_first_id_at_or_after(request.tenant, data["since"]))
    if data.get("until"):
        events = events.filter(
            id__lt=_first_id_at_or_after(request.tenant, data["until"] + dt.timedelta(days=1))
        )
    if data.get("before"):
        events = events.filter(id__lt=data["before"])
    return events.order_by("-id")


@require_GET
@tenancy.tenant_view()
def log(request: TenantRequest) -> HttpResponse:
    """The tenant's audit events, newest first, with keyset pagination (fast at any depth)."""
    form = AuditFilterForm(request.GET)
    events: list[AuditEvent] = []
    if form.is_valid():
        events = list(_audit_queryset(request, form)[: PAGE_SIZE + 1])
    has_more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    filters = request.GET.copy()
    filters.pop("before", None)
    older = filters.copy()
    if events:
        older["before"] = str(events[-1].pk)
    context = {
        "form": form,
        "events": events,
        "rows": service.rows_for(
            events, request.tenant, can_see_keys=tenancy.role_at_least(request.role, Role.ADMIN)
        ),
        "next_query": older.urlencode() if has_more else None,
        "first_query": filters.urlencode() if "before" in request.GET else None,
        "archived": retention.archived_for(request.tenant),
        "can_see_archive_dir": tenancy.role_at_least(request.role, Role.ADMIN),
    }
    return htmx.render(request, "console/audit/log.html", context, partial="audit-table")
