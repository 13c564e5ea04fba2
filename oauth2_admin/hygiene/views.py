"""Console pages for client hygiene: the tenant report, a client's findings (an htmx fragment for the client
page), one-click fixes (a diff first, then the normal audited merge update), version history with diff and
restore, drift (adopt or restore) and the tenant's thresholds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from oauth2_admin.clients import service as clients
from oauth2_admin.clients.views import client_or_404
from oauth2_admin.hygiene import drift as drifts
from oauth2_admin.hygiene import freshness, history, snapshot
from oauth2_admin.hygiene import service as hygiene
from oauth2_admin.hygiene.forms import SORTS, ReportFilterForm, ThresholdsForm
from oauth2_admin.hygiene.models import Thresholds
from oauth2_admin.hygiene.templatetags.hygiene import severity_class
from truss import audit, htmx, tenancy
from truss.audit import Action
from truss.forms import ConfirmForm, refused
from truss.http import TenantRequest
from truss.models import Role

REPORT_PAGE = 50
POLL_DELAY, POLL_RETRY = "1s", "10s"  # between progress polls; after Hydra could not be reached
REFRESHED = "hygiene-refreshed"  # the event the page's results reload on
REFRESH_PAGES = 4  # pages of Hydra's listing "Refresh now" walks before it answers
HISTORY = "console:hygiene:history"


@dataclass(frozen=True)
class ReportRow:
    client_id: str
    name: str
    url: str
    score: int
    worst: str
    findings: list[tuple[hygiene.Finding, str, str]]  # with its fix page's URL ("" if none) and badge class
    drift_fields: list[str]


@require_safe
@tenancy.tenant_view()
def report(request: TenantRequest) -> HttpResponse:
    """Every client's score and findings, read from the findings snapshot (sorted, filtered and paged in SQL);
    the time-dependent rules are applied now. No Hydra call (but a tenant's very first view): a snapshot older
    than its maximum age is shown marked as not current, with the progress fragment that checks it again
    (hygiene.freshness). An htmx request gets the table, or all the results when it targets them."""
    form = ReportFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return TemplateResponse(
            request, "console/hygiene/report.html", {"form": form, "rows": []}, status=400
        )
    data = form.cleaned_data if form.is_bound else {}
    severity, rule, sort = data.get("severity") or "", data.get("rule") or "", data.get("sort") or "score"
    fresh = freshness.current(request.tenant)
    now, limits = timezone.now(), Thresholds.for_tenant(request.tenant)
    rt = snapshot.read_time(request.tenant, now=now, limits=limits)
    selected = snapshot.select(rt, severity=severity, rule=rule, sort=sort)
    sums = snapshot.totals(rt)
    shown = sums["total"] if not (severity or rule) else selected.count()
    page = data.get("page") or 1
    pages = max(1, -(-shown // REPORT_PAGE))
    page = min(page, pages)
    window = selected[(page - 1) * REPORT_PAGE : page * REPORT_PAGE]
    found = snapshot.rows(request.tenant, window, now=now, limits=limits)
    can_edit = tenancy.role_at_least(request.role, Role.MEMBER)
    # URLs reversed once and filled in per row: a {% url %} per finding is most of a page's rendering time.
    detail = reverse("console:clients:detail", args=["-id-"])
    fix_url = reverse("console:hygiene:fix", args=["-id-", "-rule-"])
    rows = []
    for r in found:
        quoted = quote(r.client_id, safe="")
        items = [
            (
                f,
                fix_url.replace("-id-", quoted).replace("-rule-", f.rule) if f.fix and can_edit else "",
                severity_class(f.severity),
            )
            for f in r.findings
        ]
        rows.append(
            ReportRow(
                r.client_id, r.name, detail.replace("-id-", quoted), r.score, r.worst, items, r.drift_fields
            )
        )
    query = {k: v for k, v in {"severity": severity, "rule": rule, "sort": sort}.items() if v}
    context = {
        "form": form if form.is_bound else ReportFilterForm(),
        "rows": rows,
        "total": sums["total"],
        "shown": shown,
        "counts": {"high": sums["high_sum"], "medium": sums["medium_sum"], "low": sums["low_sum"]},
        "clean": sums["clean"],
        "drifted": sums["drifted_count"],
        "page": page,
        "pages": pages,
        "prev_url": "?" + urlencode({**query, "page": page - 1}) if page > 1 else "",
        "next_url": "?" + urlencode({**query, "page": page + 1}) if page < pages else "",
        "sorts": SORTS,
        "sort": sort,
        "query": urlencode(query),
        "can_edit": can_edit,
    }
    context.update(_check(fresh))
    target = getattr(request.htmx, "target", None) if htmx.is_fragment_request(request) else None
    partial = "hygiene-results" if target == "hygiene-results" else "hygiene-table"
    return htmx.render(request, "console/hygiene/report.html", context, partial=partial)


def _check(fresh: freshness.Freshness) -> dict[str, Any]:
    """What the progress fragment shows, and whether (and how soon) it polls again."""
    polls = fresh.refreshing
    return {
        "as_of": fresh.as_of,
        "stale": fresh.stale,
        "refreshing": fresh.refreshing,
        "unreachable": fresh.unreachable,
        "walk": fresh.walk,
        "polls": polls,
        "poll_delay": POLL_RETRY if fresh.unreachable else POLL_DELAY,
        "checked": fresh.refreshed,
        "checked_clients": fresh.state.clients,
    }


@require_safe
@tenancy.tenant_view()
def progress(request: TenantRequest) -> HttpResponse:
    """The report's progress fragment (polled while the report is not current): each request walks the next
    small page of Hydra's listing (hygiene.freshness.advance; a refresh of the read model, as viewing the report
    is) and says how far the walk got. The request that ends it tells the page to reload its results
    (HX-Trigger: hygiene-refreshed). Without htmx (the page's noscript link), the report page again."""
    fresh = freshness.advance(request.tenant)
    if not htmx.is_fragment_request(request):
        return redirect("console:hygiene:report")
    response = TemplateResponse(request, "console/hygiene/report.html#hygiene-progress", _check(fresh))
    if fresh.refreshed:
        response["HX-Trigger"] = REFRESHED
    return response


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def refresh(request: TenantRequest) -> HttpResponse:
    """Walk Hydra's listing a few pages further (a new walk unless one is under way); the report shows how far
    it got and its views go on with it (reads Hydra only: nothing to audit)."""
    run = snapshot.refresh(request.tenant, max_pages=REFRESH_PAGES)
    if run.running:
        messages.info(
            request,
            f"Checking against Hydra: {run.done} of about {max(run.expected, run.done)} clients so far; the "
            "report goes on with it while it is open.",
        )
    else:
        messages.success(request, f"Report refreshed from Hydra: {run.done} client{pluralize(run.done)}.")
    return redirect("console:hygiene:report")


@require_safe
@tenancy.tenant_view()
def client_findings(request: TenantRequest, client_id: str) -> HttpResponse:
    """One client's findings: the fragment the client page loads (a whole page without htmx)."""
    client = client_or_404(request, client_id)
    freshness.reconcile(request.tenant, client)
    found = hygiene.findings_for(request.tenant, client)
    context = {
        "client": client,
        "findings": found,
        "score": hygiene.score(found),
        "can_edit": tenancy.role_at_least(request.role, Role.MEMBER),
    }
    template = (
        "console/hygiene/findings.html"
        if htmx.is_fragment_request(request)
        else "console/hygiene/client.html"
    )
    return TemplateResponse(request, template, context)


def _confirm_page(
    request: TenantRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return TemplateResponse(request, f"console/hygiene/{template}", context, status=status)


def _problem(exc: clients.ClientInputError) -> str:
    """A refusal's field messages as one line for a confirmation page."""
    return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())


def _confirmed(
    request: TenantRequest,
    client_id: str,
    action: str,
    template: str,
    context: dict[str, Any],
    apply: Callable[[str], object],
    *,
    done: str,
    then: str,
) -> HttpResponse:
    """A confirmation page (fix, restore): GET shows it; POST checks its ETag form (refused: audited as `action`,
    400) and calls `apply(etag)`. A stale ETag is 412 and refused input 400, on the same page; once applied, the
    message `done` and a redirect to the page named `then`."""
    form = context["form"]
    if request.method != "POST":
        return _confirm_page(request, template, context)
    if not form.is_valid():
        refused(request, action, form, client_id)
        return _confirm_page(request, template, context, status=400)
    try:
        apply(form.cleaned_data["etag"])
    except clients.PreconditionFailed as exc:
        return _confirm_page(request, template, {**context, "problem": str(exc)}, status=412)
    except clients.ClientInputError as exc:
        return _confirm_page(request, template, {**context, "problem": _problem(exc)}, status=400)
    messages.success(request, done)
    return redirect(then, client_id=client_id)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def fix(request: TenantRequest, client_id: str, rule: str) -> HttpResponse:
    """GET: the exact change as a diff; POST: apply it through the client service (one audited event)."""
    client = client_or_404(request, client_id)
    try:
        finding = hygiene.fix_for(request.tenant, client, rule)
    except hygiene.NoFix as exc:
        return _confirm_page(request, "fix.html", {"client": client, "problem": str(exc)}, status=404)
    assert finding.fix is not None
    changes = history.diff(clients.public_view(client), hygiene.preview(client, finding.fix))
    form = ConfirmForm(request.POST or None, initial={"etag": clients.etag(client)})
    context = {"client": client, "finding": finding, "changes": changes, "form": form}
    action = Action.CLIENT_TOKEN_CONFIG if finding.fix.token_config else Action.CLIENT_UPDATE
    return _confirmed(
        request,
        client_id,
        action,
        "fix.html",
        context,
        lambda etag: hygiene.apply_fix(request, request.tenant, client_id, rule, if_match=etag),
        done=f"Applied: {finding.fix.summary}. The change is in the client's history.",
        then="console:clients:detail",
    )


def confirm_fix(request: TenantRequest, client: Any, finding: hygiene.Finding) -> HttpResponse:
    """A fix no rule names (the flow doctor's findings): the same confirmation as `fix` (a diff first, the ETag
    form, one audited merge update through the client service). GET shows it, POST applies it."""
    fix, client_id = finding.fix, str(client.client_id or "")
    assert fix is not None and not fix.token_config
    changes = history.diff(clients.public_view(client), hygiene.preview(client, fix))
    form = ConfirmForm(request.POST or None, initial={"etag": clients.etag(client)})
    context = {"client": client, "finding": finding, "changes": changes, "form": form}
    return _confirmed(
        request,
        client_id,
        Action.CLIENT_UPDATE,
        "fix.html",
        context,
        lambda etag: clients.update_for(request, request.tenant, client_id, fix.changes, if_match=etag),
        done=f"Applied: {fix.summary}. The change is in the client's history.",
        then="console:clients:detail",
    )


@require_safe
@tenancy.tenant_view()
def client_history(request: TenantRequest, client_id: str) -> HttpResponse:
    """The client's versions and a side-by-side diff between any two (default: the last two)."""
    client = client_or_404(request, client_id)
    freshness.reconcile(request.tenant, client)
    versions = history.versions_for(request.tenant, client_id)
    count = len(versions)
    context: dict[str, Any] = {
        "client": client,
        "versions": list(reversed(versions)),
        "count": count,
        "etag": clients.etag(client),
        "can_edit": tenancy.role_at_least(request.role, Role.MEMBER),
    }
    status = 200
    if count:
        try:
            a = int(request.GET.get("a") or max(1, count - 1))
            b = int(request.GET.get("b") or count)
            context.update(
                a=a,
                b=b,
                changes=history.diff_between(versions, a, b),
                left_label=f"Version {a}",
                right_label=f"Version {b}",
            )
        except (ValueError, history.NoSuchVersion):
            context.update(problem=f"Choose two versions between 1 and {count}.", a=1, b=count, changes=[])
            status = 400
    found = drifts.compare(client, versions[-1] if versions else None)
    context["drifted"] = found.drifted
    return TemplateResponse(request, "console/hygiene/history.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def restore(request: TenantRequest, client_id: str, number: int) -> HttpResponse:
    """GET: what restoring version `number` changes; POST: apply it (a new version), If-Match protected."""
    client = client_or_404(request, client_id)
    versions = history.versions_for(request.tenant, client_id)
    try:
        target = history.version(versions, number)
    except history.NoSuchVersion as exc:
        raise Http404(str(exc)) from exc
    form = ConfirmForm(request.POST or None, initial={"etag": clients.etag(client)})
    context = {
        "client": client,
        "version": target,
        "form": form,
        "right_label": f"Version {number}",
        "changes": history.preview_restore(client, target.state),
    }

    def apply(etag: str) -> object:
        label = f"Version {number}"
        return history.restore(request, request.tenant, client_id, target.state, if_match=etag, label=label)

    done = f"Version {number} restored as a new version."
    return _confirmed(
        request, client_id, Action.CLIENT_UPDATE, "restore.html", context, apply, done=done, then=HISTORY
    )


@require_safe
@tenancy.tenant_view()
def drift(request: TenantRequest, client_id: str) -> HttpResponse:
    """Hydra's client vs Truss's last known version, with adopt and restore."""
    client_or_404(request, client_id)
    found = drifts.check(request.tenant, client_id)
    freshness.reconcile(request.tenant, found.client)
    context = {
        "client": found.client,
        "drift": found,
        "form": ConfirmForm(initial={"etag": clients.etag(found.client)}),
        "can_edit": tenancy.role_at_least(request.role, Role.MEMBER),
    }
    return TemplateResponse(request, "console/hygiene/drift.html", context)


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def drift_adopt(request: TenantRequest, client_id: str) -> HttpResponse:
    def adopt(etag: str) -> str:
        adopted = drifts.adopt(request, request.tenant, client_id, if_match=etag)
        return f"Hydra's client adopted as version {adopted.number}."

    return _drift_write(request, client_id, history.ADOPT, adopt)


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def drift_restore(request: TenantRequest, client_id: str) -> HttpResponse:
    def restore_known(etag: str) -> str:
        drifts.restore_known(request, request.tenant, client_id, if_match=etag)
        return "Truss's last known version restored in Hydra."

    return _drift_write(request, client_id, Action.CLIENT_UPDATE, restore_known)


def _drift_write(
    request: TenantRequest, client_id: str, action: str, write: Callable[[str], str]
) -> HttpResponse:
    """Adopt or restore from the drift page: the ETag form (refused: audited, 400), then `write(etag)`, which
    says what it did; a stale ETag is 412, nothing to do or refused input 400, on the drift page."""
    client_or_404(request, client_id)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        refused(request, action, form, client_id)
        return _drift_problem(request, client_id, "The form was incomplete; reload the page.", 400)
    try:
        done = write(form.cleaned_data["etag"])
    except clients.PreconditionFailed as exc:
        return _drift_problem(request, client_id, str(exc), 412)
    except drifts.NothingToAdopt as exc:
        return _drift_problem(request, client_id, str(exc), 400)
    except clients.ClientInputError as exc:
        return _drift_problem(request, client_id, _problem(exc), 400)
    messages.success(request, done)
    return redirect(HISTORY, client_id=client_id)


def _drift_problem(request: TenantRequest, client_id: str, problem: str, status: int) -> HttpResponse:
    found = drifts.check(request.tenant, client_id)
    context = {
        "client": found.client,
        "drift": found,
        "problem": problem,
        "can_edit": True,
        "form": ConfirmForm(initial={"etag": clients.etag(found.client)}),
    }
    return TemplateResponse(request, "console/hygiene/drift.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.ADMIN)
def thresholds(request: TenantRequest) -> HttpResponse:
    """The tenant's linter thresholds (admins)."""
    instance = Thresholds.for_tenant(request.tenant)
    form = ThresholdsForm(request.POST or None, instance=instance)
    if request.method == "POST":
        with audit.mutation(
            request, Action.HYGIENE_THRESHOLDS_UPDATE, request.tenant, request.tenant.slug
        ) as event:
            event.before = _thresholds_view(instance) if instance.pk else None
            if form.is_valid():
                saved = form.save(commit=False)
                saved.updated_by = request.user
                saved.save()
                event.success(after=_thresholds_view(saved))
                messages.success(request, "Thresholds saved; the report uses them now.")
                return redirect("console:hygiene:report")
            event.failure(form.errors.as_text())
        return TemplateResponse(request, "console/hygiene/thresholds.html", {"form": form}, status=400)
    return TemplateResponse(request, "console/hygiene/thresholds.html", {"form": form})


def _thresholds_view(t: Thresholds) -> dict[str, Any]:
    return {
        name: getattr(t, name)
        for name in (
            "secret_max_age_days",
            "idle_days",
            "max_access_token_seconds",
            "max_jwt_access_token_seconds",
            "max_refresh_token_seconds",
            "own_hosts",
        )
    }
