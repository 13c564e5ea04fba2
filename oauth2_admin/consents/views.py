"""Console pages: find a person, their consents and sessions, revocation, and the client's consent ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from oauth2_admin.consents import jobs, ledger, service
from oauth2_admin.consents.forms import BulkRevokeForm, RevokeForm
from oauth2_admin.consents.models import RevokeJob, ScopeCount
from oauth2_admin.scopes import service as scopes
from truss import audit, csvexport, names, tenancy
from truss.audit import Action
from truss.http import TenantRequest
from truss.models import AuditEvent, Role

PAGE_SIZE, MAX_PAGE_SIZE = 100, 1000


def _person_or_404(request: TenantRequest, subject: str) -> service.Person:
    try:
        return service.person(request.tenant, subject, platform_admin=request.user.is_superuser)
    except (service.NotVisible, service.PersonInputError) as exc:
        raise Http404("No such person.") from exc


# --- find a person ---------------------------------------------------------------------------------------------


@require_safe
@tenancy.tenant_view()
def find_person(request: TenantRequest) -> HttpResponse:
    """Search by exact email or identity id; a hit opens the person's page."""
    q = request.GET.get("q", "")
    context: dict[str, Any] = {"q": q.strip()[:300], "error": "", "missing": False}
    status = 200
    if q:
        try:
            found = service.find(request.tenant, q, platform_admin=request.user.is_superuser)
        except service.PersonInputError as exc:
            context["error"], status = exc.message, 400
        except service.NotVisible:
            context["missing"], status = True, 404
        else:
            return redirect("console:consents:person", found.subject)
    top = ScopeCount.objects.filter(tenant=request.tenant, scope=ledger.PEOPLE, people__gt=0).order_by(
        "-people"
    )
    ledger_clients = list(top.values_list("client_id", "people")[:20])
    named = names.resolve(request.tenant, clients=[client_id for client_id, _ in ledger_clients])
    context["ledger_clients"] = [(named.of(client_id), people) for client_id, people in ledger_clients]
    context["scope_grants"] = scopes.grants_per_scope(request.tenant)
    return TemplateResponse(request, "console/consents/find.html", context, status=status)


# --- a person --------------------------------------------------------------------------------------------------


@require_safe
@tenancy.tenant_view()
def person_detail(request: TenantRequest, subject: str) -> HttpResponse:
    person = _person_or_404(request, subject)
    context = {
        "person": person,
        "sessions": service.sessions(subject),
        "can_revoke": tenancy.role_at_least(request.role, Role.MEMBER),
        "platform_admin": request.user.is_superuser,
    }
    return TemplateResponse(request, "console/consents/person.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def revoke(request: TenantRequest, subject: str) -> HttpResponse:
    """Confirmation page, then the revocation of one client's consent (``?client=``) or all of the tenant's."""
    person = _person_or_404(request, subject)
    client_id = request.GET.get("client") or None
    targets = [c for c in person.consents if client_id is None or c.client_id == client_id]
    if not targets:
        raise Http404("No consent of this person with that client.")
    form = RevokeForm(request.POST or None)
    if not request.user.is_superuser:
        del form.fields["end_login_sessions"]
    if request.method == "POST" and form.is_valid():
        end_login = bool(form.cleaned_data.get("end_login_sessions"))
        try:
            result = service.revoke(
                request, request.tenant, subject, client_id=client_id, end_login=end_login
            )
        except service.NotVisible as exc:
            raise Http404(str(exc)) from exc
        names = ", ".join(c.client_name for c in targets)
        messages.success(
            request,
            f"Revoked consent for {names}: its access and refresh tokens no longer work."
            + (" Their login sessions were ended." if result.login_sessions_ended else ""),
        )
        try:
            service.person(request.tenant, subject, platform_admin=request.user.is_superuser)
        except service.NotVisible:
            messages.info(request, "This person has no consent with your clients any more.")
            return redirect("console:consents:list")
        return redirect("console:consents:person", subject)
    context = {"person": person, "targets": targets, "client_id": client_id, "form": form}
    return TemplateResponse(request, "console/consents/revoke.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.platform_admin_required
@tenancy.tenant_view(min_role=Role.ADMIN)
def end_session(request: TenantRequest, subject: str, session_id: str) -> HttpResponse:
    """End one Kratos session of the person (platform admins: sessions are not per tenant)."""
    person = _person_or_404(request, subject)
    found = next((s for s in service.sessions(subject) if s.id == session_id), None)
    if found is None:
        raise Http404("No such session.")
    if request.method == "POST":
        try:
            service.end_session(request, request.tenant, subject, session_id)
        except service.NotVisible as exc:
            raise Http404(str(exc)) from exc
        messages.success(request, "Session ended: that browser is signed out on its next request.")
        return redirect("console:consents:person", subject)
    return TemplateResponse(
        request, "console/consents/end_session.html", {"person": person, "session": found}
    )


# --- the client's ledger ---------------------------------------------------------------------------------------


def _ledger_client(request: TenantRequest, client_id: str) -> service.LedgerClient:
    try:
        return service.ledger_client(request.tenant, client_id)
    except service.NotVisible as exc:
        raise Http404(str(exc)) from exc


@dataclass(frozen=True)
class PersonRow:
    subject: str
    url: str
    name: names.Name  # the person's email where the tenant may see it (truss/names.py)
    state: str
    decision: str
    scopes: str
    remembered: bool
    last_at: str
    counts: str


def _size(request: TenantRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("per_page", PAGE_SIZE)), MAX_PAGE_SIZE))
    except ValueError:
        return PAGE_SIZE


@require_safe
@tenancy.tenant_view()
def client_people(request: TenantRequest, client_id: str) -> HttpResponse:
    """People who authorised the client: counts per scope, search by subject, keyset pages, export, bulk revoke."""
    client = _ledger_client(request, client_id)
    show = request.GET.get("show", "active")
    show = show if show in ledger.STATES else "active"
    q = request.GET.get("q", "").strip()[:255]
    cursor = request.GET.get("cursor", "")
    size = _size(request)
    status, error = 200, ""
    try:
        subject = service.ledger_subject(q)
        entries, next_cursor = ledger.people_page(
            request.tenant, client_id, show=show, subject=subject, cursor=cursor, size=size
        )
    except (ledger.BadCursor, service.PersonInputError) as exc:
        entries, next_cursor, status, error = [], None, 400, str(exc)
    person_url = reverse("console:consents:person", args=["-s-"])
    found = names.resolve(request.tenant, ledger_subjects=[e.subject for e in entries])
    rows = [
        PersonRow(
            e.subject,
            person_url.replace("-s-", e.subject),
            found.of(e.subject),
            e.state,
            e.decision,
            " ".join(e.scopes),
            e.remembered,
            e.last_at.strftime("%Y-%m-%d %H:%M"),
            f"{e.granted_count}/{e.denied_count}",
        )
        for e in entries
    ]
    counts, titles = ledger.counts(request.tenant, client_id), scopes.titles(request.tenant)
    context = {
        "client": client,
        "rows": rows,
        "counts": counts,
        "scope_rows": [(scope, titles.get(scope, ""), n) for scope, n in counts.scopes],
        "show": show,
        "q": q,
        "next_cursor": next_cursor,
        "paged": bool(cursor),
        "size": size,
        "error": error,
        "states": list(ledger.STATES),
        "job": jobs.current(request.tenant, client_id),
        "can_revoke": tenancy.role_at_least(request.role, Role.MEMBER),
    }
    partial = request.htmx and not request.htmx.boosted
    template = (
        "console/consents/client_people.html#people-table"
        if partial
        else "console/consents/client_people.html"
    )
    return TemplateResponse(request, template, context, status=status)


@require_safe
@tenancy.tenant_view()
def client_people_csv(request: TenantRequest, client_id: str) -> HttpResponse:
    """The whole ledger of the client as CSV, streamed (constant memory at any size)."""
    client = _ledger_client(request, client_id)
    show = request.GET.get("show", "all")
    show = show if show in ledger.STATES else "all"
    rows = ledger.csv_rows(request.tenant, client.client_id, show=show)
    # A streaming answer is not an HttpResponse subclass; the decorators only pass it through.
    return cast(HttpResponse, csvexport.response(rows, f"consents-{client.client_id}"))


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def bulk_revoke(request: TenantRequest, client_id: str) -> HttpResponse:
    """ "Revoke this client for everyone": typed confirmation, then a job with progress."""
    client = _ledger_client(request, client_id)
    form = BulkRevokeForm(request.POST or None, expected=client.name)
    if request.method == "POST":
        if form.is_valid():
            job = jobs.start(request, request.tenant, client_id)
            return redirect("console:consents:job", client_id, job.pk)
        audit.record(
            request,
            Action.CONSENT_REVOKE_ALL_START,
            tenant=request.tenant,
            target=client_id,
            outcome=AuditEvent.Outcome.FAILURE,
            detail=form.errors.as_text(),
        )
    context = {"client": client, "form": form, "counts": ledger.counts(request.tenant, client_id)}
    status = 400 if form.is_bound else 200
    return TemplateResponse(request, "console/consents/bulk_revoke.html", context, status=status)


def _job_or_404(request: TenantRequest, client_id: str, job_id: int) -> RevokeJob:
    job = RevokeJob.objects.filter(pk=job_id, tenant=request.tenant, client_id=client_id).first()
    if job is None:
        raise Http404("No such job.")
    return job


@require_safe
@tenancy.tenant_view()
def job_detail(request: TenantRequest, client_id: str, job_id: int) -> HttpResponse:
    client = _ledger_client(request, client_id)
    job = _job_or_404(request, client_id, job_id)
    context = {"client": client, "job": job, "can_run": tenancy.role_at_least(request.role, Role.MEMBER)}
    return TemplateResponse(request, "console/consents/job.html", context)


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def job_step(request: TenantRequest, client_id: str, job_id: int) -> HttpResponse:
    """One batch of the job (the progress fragment polls this); without JavaScript, a button posts here."""
    client = _ledger_client(request, client_id)
    job = jobs.run_batch(_job_or_404(request, client_id, job_id))
    context = {"client": client, "job": job, "can_run": True}
    if request.htmx:
        return TemplateResponse(request, "console/consents/job.html#job-progress", context)
    return redirect("console:consents:job", client_id, job.pk)
