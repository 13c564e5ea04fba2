"""Console pages for OAuth2 clients: list, detail, create, edit, token settings, secret rotation, token
revocation, delete, and the live redirect-URI check of the form."""

from __future__ import annotations

import functools
import json
import shlex
from dataclasses import dataclass
from html import escape as _escape
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from oauth2_admin.clients import home
from oauth2_admin.clients import service as clients
from oauth2_admin.clients.forms import ClientForm, DeleteClientForm, TokenConfigForm, row_notes
from truss import htmx, tenancy
from truss.audit import Action
from truss.forms import refused
from truss.http import TenantRequest
from truss.models import Role
from truss.ory import hydra

PAGE_SIZE = 25


def client_or_404(request: TenantRequest, client_id: str) -> hydra.OAuth2Client:
    """The tenant's client for a console page (the hygiene pages' too); 404 for another tenant's, like a
    missing one."""
    try:
        return clients.get_for(request.tenant, client_id)
    except hydra.HydraNotFound as exc:
        raise Http404("No such client in this tenant.") from exc


def _flash_warnings(request: TenantRequest, warnings: list[str]) -> None:
    for warning in warnings:
        messages.warning(request, warning)


@dataclass(frozen=True)
class ClientRow:
    """What one list row shows, computed in Python: cheaper than per-cell template lookups and filters
    (the list page is the console's hot path; see bench/client_list.py)."""

    client_id: str
    name: str
    url: str
    public: bool
    grants: list[str]
    created: str

    def __html__(self) -> str:
        """The row's ``<tr>``. One f-string instead of ~10 template nodes a row (the list page's render time:
        bench/RESULTS.md); every value is escaped exactly as ``{{ value }}`` would (``html.escape``)."""
        grants = "".join(f'<span class="badge grant">{_escape(g)}</span> ' for g in self.grants)
        kind = "public" if self.public else "confidential"
        return (
            f'<tr><td><a href="{_escape(self.url)}">{_escape(self.name)}</a></td>'
            f"<td><code>{_escape(self.client_id)}</code></td>"
            f'<td><span class="badge">{kind}</span></td><td>{grants}</td><td>{_escape(self.created)}</td></tr>'
        )


@functools.cache
def _list_urls() -> dict[str, str]:
    """The list page's links, resolved once per process (reverse() is not free, and a page took up to five)."""
    return {
        "list_url": reverse("console:clients:list"),
        "create_url": reverse("console:clients:create"),
        "detail_url": reverse("console:clients:detail", args=["-id-"]),
    }


def _rows(page: hydra.ClientPage) -> list[ClientRow]:
    detail = _list_urls()["detail_url"]
    return [
        ClientRow(
            client_id=c.client_id,
            name=c.client_name or "(unnamed)",
            url=detail.replace("-id-", quote(c.client_id, safe="")),
            public=c.is_public,
            grants=[g.removeprefix("urn:ietf:params:oauth:grant-type:") for g in c.grant_types],
            created=c.created_at.strftime("%Y-%m-%d %H:%M") if c.created_at else "—",
        )
        for c in page.items
    ]


def _list_context(page: hydra.ClientPage, *, name: str, paged: bool) -> dict[str, Any]:
    rows = _rows(page)
    urls = _list_urls()
    return {
        "page": page,
        "rows": rows,
        # Safe: ClientRow.__html__ escapes every value it writes.
        "rows_html": mark_safe("\n".join(row.__html__() for row in rows)),
        "name": name,
        "paged": paged,
        "list_url": urls["list_url"],
        "create_url": urls["create_url"],
    }


@require_safe
@tenancy.tenant_view()
def client_list(request: TenantRequest) -> HttpResponse:
    """The tenant's clients, a page at a time (Hydra's page tokens), with an exact-name search."""
    name = request.GET.get("name", "").strip()[:200]
    token = request.GET.get("page_token") or None
    status = 200
    try:
        page = clients.list_for(request.tenant, page_size=PAGE_SIZE, page_token=token, name=name or None)
    except clients.BadPageToken:
        # An edited or stale link: say so and show the first page (Hydra never sees the token).
        messages.error(request, "That page link is not valid for this list; showing the first page.")
        token, status = None, 400
        page = clients.list_for(request.tenant, page_size=PAGE_SIZE, name=name or None)
    context = _list_context(page, name=name, paged=bool(token))
    return htmx.render(request, "console/clients/list.html", context, partial="client-table", status=status)


@dataclass(frozen=True)
class Section:
    """One facet of a client's home, with its own URL (``console:clients:<view>``)."""

    key: str
    label: str
    view: str
    template: str


SECTIONS = (
    Section("settings", "Settings", "detail", "console/clients/detail.html"),
    Section("credentials", "Credentials & tokens", "credentials", "console/clients/credentials.html"),
    Section("security", "Security findings", "security", "console/clients/security.html"),
    Section("history", "History & drift", "history", "console/clients/history.html"),
    Section("people", "People", "people", "console/clients/people.html"),
    Section("quickstart", "Quickstart", "quickstart", "console/clients/quickstart.html"),
)
_SECTION = {s.key: s for s in SECTIONS}


def _curl(client: hydra.OAuth2Client) -> str:
    token_url = f"{settings.HYDRA_PUBLIC_URL}/oauth2/token"
    if client.token_endpoint_auth_method == "client_secret_post":
        return (
            f"curl -X POST {shlex.quote(token_url)} -d grant_type=client_credentials "
            f'-d client_id={shlex.quote(client.client_id)} -d client_secret="$CLIENT_SECRET"'
        )
    return (
        f'curl -X POST {shlex.quote(token_url)} -u {shlex.quote(client.client_id)}:"$CLIENT_SECRET" '
        "-d grant_type=client_credentials"
    )


def _section_page(
    request: TenantRequest,
    client: hydra.OAuth2Client,
    key: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    """A section of the client's home: the shared head (name, tabs, drift banner) and the section's body."""
    section = _SECTION[key]
    tabs = [
        {
            "label": s.label,
            "url": reverse(f"console:clients:{s.view}", args=[client.client_id]),
            "current": s is section,
        }
        for s in SECTIONS
    ]
    full = {
        "client": client,
        "section": section,
        "tabs": tabs,
        "drift": context.get("drift") or home.drift_of(request.tenant, client),
        "can_edit": tenancy.role_at_least(request.role, Role.MEMBER),
        **context,
    }
    return TemplateResponse(request, section.template, full, status=status)


def _detail(
    request: TenantRequest, client: hydra.OAuth2Client, status: int = 200, **extra: Any
) -> HttpResponse:
    """The Settings section (the client's home); after creation or rotation with the new secret, shown once."""
    context = {
        "client_json": json.dumps(clients.public_view(client), indent=2, sort_keys=True),
        **extra,
    }
    response = _section_page(request, client, "settings", context, status)
    if "new_secret" in extra:
        response["Cache-Control"] = "no-store"
        response["HX-Replace-Url"] = reverse("console:clients:detail", args=[client.client_id])
    return response


@require_safe
@tenancy.tenant_view()
def client_detail(request: TenantRequest, client_id: str) -> HttpResponse:
    """Settings: every setting of one client at a glance, its secret-less JSON and the danger zone."""
    return _detail(request, client_or_404(request, client_id))


def _credentials_context(client: hydra.OAuth2Client) -> dict[str, Any]:
    return {"curl": _curl(client), "lifespans": clients.lifespans_in_seconds(client)}


@require_safe
@tenancy.tenant_view()
def client_credentials(request: TenantRequest, client_id: str) -> HttpResponse:
    """Credentials & tokens: how the client authenticates, its token settings, a curl for the token endpoint."""
    client = client_or_404(request, client_id)
    return _section_page(request, client, "credentials", _credentials_context(client))


@require_safe
@tenancy.tenant_view()
def client_security(request: TenantRequest, client_id: str) -> HttpResponse:
    """Security findings (RFC 9700) with their one-click fixes."""
    client = client_or_404(request, client_id)
    return _section_page(request, client, "security", home.findings_of(request.tenant, client))


@require_safe
@tenancy.tenant_view()
def client_history(request: TenantRequest, client_id: str) -> HttpResponse:
    """History & drift: the newest versions Truss recorded and whether Hydra still holds the newest."""
    client = client_or_404(request, client_id)
    return _section_page(request, client, "history", home.history_of(request.tenant, client))


@require_safe
@tenancy.tenant_view()
def client_people(request: TenantRequest, client_id: str) -> HttpResponse:
    """People: how many people authorised the client, per scope, and the way to the full ledger."""
    client = client_or_404(request, client_id)
    return _section_page(request, client, "people", {"counts": home.people_of(request.tenant, client)})


@require_safe
@tenancy.tenant_view()
def client_quickstart(request: TenantRequest, client_id: str) -> HttpResponse:
    """Quickstart: test buttons that run the real flows in the flow tester, and the client's SDK snippets."""
    client = client_or_404(request, client_id)
    return _section_page(request, client, "quickstart", home.quickstart_of(client))


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def client_create(request: TenantRequest) -> HttpResponse:
    """A new client owned by the tenant; its secret is shown once, on the page that follows."""
    form = ClientForm(request.POST or None, tenant=request.tenant)  # its fields start at ClientIn's defaults
    if request.method == "POST":
        if not form.is_valid():
            refused(request, Action.CLIENT_CREATE, form)
        else:
            try:
                client, warnings = clients.create_for(request, request.tenant, form.payload())
            except clients.ClientInputError as exc:
                form.add_service_errors(exc)
            else:
                _flash_warnings(request, warnings)
                return _detail(request, client, status=201, new_secret=client.client_secret, created=True)
    status = 400 if form.is_bound else 200
    return TemplateResponse(
        request, "console/clients/form.html", {"form": form, "creating": True}, status=status
    )


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def client_edit(request: TenantRequest, client_id: str) -> HttpResponse:
    """Edit every setting; a concurrent change by someone else is detected, not overwritten."""
    client = client_or_404(request, client_id)
    form = ClientForm(
        request.POST or None,
        initial=ClientForm.initial_for(client, clients.etag(client)),
        tenant=request.tenant,
    )
    if request.method == "POST":
        if not form.is_valid():
            refused(request, Action.CLIENT_UPDATE, form, client_id)
        else:
            # The form shows every setting, so a blank field means "clear it".
            changes = {k: (None if v == "" else v) for k, v in form.cleaned_data.items() if k != "version"}
            try:
                client, warnings = clients.update_for(
                    request, request.tenant, client_id, changes, if_match=form.cleaned_data["version"] or None
                )
            except clients.ClientInputError as exc:
                form.add_service_errors(exc)
            except clients.PreconditionFailed as exc:
                form.add_error(None, str(exc))
            else:
                _flash_warnings(request, warnings)
                messages.success(request, f"Saved “{client.client_name}”.")
                return redirect("console:clients:detail", client_id)
    status = 400 if form.is_bound else 200
    context = {"form": form, "client": client, "creating": False}
    return TemplateResponse(request, "console/clients/form.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def client_token_config(request: TenantRequest, client_id: str) -> HttpResponse:
    """Token lifespans (simple TTLs or the per-grant matrix) and the access-token strategy."""
    client = client_or_404(request, client_id)
    current = clients.lifespans_in_seconds(client)
    initial = {
        **current,
        "access_token_strategy": client.access_token_strategy or "",
        "version": clients.etag(client),
    }
    form = TokenConfigForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not form.is_valid():
            refused(request, Action.CLIENT_TOKEN_CONFIG, form, client_id)
        else:
            try:
                clients.set_token_config(
                    request,
                    request.tenant,
                    client_id,
                    form.payload(current),
                    if_match=form.cleaned_data["version"] or None,
                )
            except clients.ClientInputError as exc:
                for field, errors in exc.fields.items():
                    form.add_error(field if field in form.fields else None, errors)
            except clients.PreconditionFailed as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Token settings saved.")
                return redirect("console:clients:detail", client_id)
    status = 400 if form.is_bound else 200
    context = {"form": form, "client": client, "ttl_fields": clients.TTL_FIELDS}
    return TemplateResponse(request, "console/clients/token_config.html", context, status=status)


def _confirm(request: TenantRequest, client: hydra.OAuth2Client, **context: Any) -> HttpResponse:
    """The confirmation page every destructive client action goes through (components/confirm.html)."""
    name = client.client_name or client.client_id
    cancel_url = reverse("console:clients:detail", args=[client.client_id])
    return TemplateResponse(
        request, "components/confirm.html", {"subject": name, "cancel_url": cancel_url, **context}
    )


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def client_rotate_secret(request: TenantRequest, client_id: str) -> HttpResponse:
    """GET asks first; POST replaces the secret now and the page that follows shows the new one once."""
    client = client_or_404(request, client_id)
    if request.method != "POST":
        if client.is_public:
            raise Http404("A public client has no secret.")
        return _confirm(
            request,
            client,
            title=f"Rotate the secret of “{client.client_name or client_id}”?",
            consequence="A new secret is generated and applies at once: anything still using the "
            "old secret gets 401 invalid_client from the token endpoint.",
            button="Rotate secret",
        )
    try:
        client, secret = clients.rotate_secret(request, request.tenant, client_id)
    except clients.ClientInputError as exc:
        messages.error(request, " ".join(m for ms in exc.fields.values() for m in ms))
        return redirect("console:clients:detail", client_id)
    return _detail(request, client, new_secret=secret)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def client_revoke_tokens(request: TenantRequest, client_id: str) -> HttpResponse:
    """GET asks first; POST revokes the client's access tokens and keeps the client."""
    client = client_or_404(request, client_id)
    if request.method != "POST":
        return _confirm(
            request,
            client,
            title=f"Revoke the access tokens of “{client.client_name or client_id}”?",
            consequence="Every opaque access token Hydra issued to this client stops working now: "
            "introspection answers inactive and APIs refuse them. The client, its "
            "secret and its refresh tokens stay, so it can get new tokens. JWT access "
            "tokens are self-contained and stay valid until they expire.",
            button="Revoke access tokens",
        )
    clients.revoke_tokens_for(request, request.tenant, client_id)
    messages.success(request, f"Revoked the access tokens of “{client.client_name or client_id}”.")
    return redirect("console:clients:detail", client_id)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def client_delete(request: TenantRequest, client_id: str) -> HttpResponse:
    """Delete after typing the client's name (Hydra deletes the client's tokens with it)."""
    client = client_or_404(request, client_id)
    form = DeleteClientForm(request.POST or None, expected=client.client_name or client.client_id)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            clients.delete_for(request, request.tenant, client_id)
            messages.success(request, f"Deleted “{client.client_name or client_id}”.")
            return redirect("console:clients:list")
        refused(request, Action.CLIENT_DELETE, form, client_id)
        status = 400
    response = _confirm(
        request,
        client,
        form=form,
        title=f"Delete “{client.client_name or client_id}”?",
        consequence="The client disappears from Hydra: users can no longer sign in to it, its "
        "secret stops working and Hydra deletes its access and refresh tokens with "
        "it. This cannot be undone.",
        button="Delete client",
    )
    response.status_code = status
    return response


@require_POST
@tenancy.tenant_view()
def check_uris(request: TenantRequest) -> HttpResponse:
    """The client form's live check: each row of one URI list with the service's problem or warning, as
    out-of-band notes (the same rules the submit applies). Changes nothing."""
    field = request.POST.get("field", "")
    if field not in ("redirect_uris", "post_logout_redirect_uris"):
        return HttpResponse("Unknown field.", status=400, content_type="text/plain")
    values = [v[:2000] for v in request.POST.getlist(field)[:60]]
    context = {"rows": row_notes(values, "uri"), "editor_id": f"id_{field}"}
    return htmx.render(request, "console/clients/uri_checks.html", context)
