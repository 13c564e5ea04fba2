"""Console pages: Tokens (introspect, revoke) and Cleanup (hydra janitor, platform admins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from oauth2_admin.tokens import janitor, service
from oauth2_admin.tokens.forms import CleanupForm, RevokeTokenForm, TokenForm, TypedNameForm
from truss import audit, tenancy
from truss.audit import Action
from truss.forms import refused
from truss.http import TenantRequest
from truss.models import AuditEvent, Role
from truss.ory import hydra

# What revoking will do, by the kind of token (the confirmation page; service.REVOKE_METHODS says what it did).
WILL_REVOKE = {
    "public_client_revocation": [
        "{client} is a public client: the token is revoked at Hydra's /oauth2/revoke with its client id.",
        "The other token of the same grant (its access or refresh token) is revoked with it. Other grants of "
        "this client and of this user are not touched.",
    ],
    "consent_revocation": [
        "Truss cannot revoke a single token of a confidential client (it holds no client secrets): it revokes "
        "{subject}'s consent for {client}.",
        "Every access and refresh token Hydra issued to {client} for {subject} stops working, on every device; "
        "{subject} is asked for consent again at the next sign-in.",
        "If an access token is still active after that (no consent covers it, e.g. jwt-bearer), every access "
        "token of {client} is deleted too, other users' included.",
    ],
    "client_access_tokens_deleted": [
        "This is a client-credentials token (subject = client): Truss cannot revoke it alone. It deletes EVERY "
        "access token of {client}, the tokens {client} holds for users included.",
        "Anything using {client}'s access tokens gets 401 until it fetches a new token; refresh tokens stay "
        "and can still be exchanged for new access tokens.",
        "Hydra cannot say how many tokens that is. JWT access tokens turn inactive at introspection, but "
        "services that verify JWTs offline accept them until they expire.",
    ],
}


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


@dataclass(frozen=True)
class RevokePlan:
    """What revoking this token will do: the first thing `service.revoke_for` will do for it (the same
    decision, made before it), and for the client-wide case the name to type."""

    report: service.TokenReport
    client: hydra.OAuth2Client
    method: str

    @property
    def client_wide(self) -> bool:
        return self.method == "client_access_tokens_deleted"

    @property
    def expected(self) -> str:
        return self.client.client_name or self.client.client_id


def _revoke_plan(request: TenantRequest, token: str) -> RevokePlan | None:
    """None for an inactive token or another tenant's: answered like a missing one."""
    found = service.report(request.tenant, token)
    client_id = found.result.client_id
    if not found.result.active or not client_id:
        return None
    client = service.client(client_id)
    if client.is_public:
        method = "public_client_revocation"
    elif found.result.sub and found.result.sub != client.client_id:
        method = "consent_revocation"
    else:
        method = "client_access_tokens_deleted"
    return RevokePlan(found, client, method)


def _confirm_revoke(
    request: TenantRequest,
    token: str,
    plan: RevokePlan,
    typed: TypedNameForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The confirmation page: which token, and everything that is revoked with it for this kind of token;
    deleting every access token of a client is confirmed by typing the client's name."""
    found, client = plan.report, plan.client
    result = found.result
    client_label = f"“{client.client_name}”" if client.client_name else client.client_id
    subject = found.subject_label or result.sub or "the user"
    kind = "refresh token" if result.token_use == "refresh_token" else "access token"
    if plan.client_wide:
        title = f"Delete every access token of {client_label}?"
    elif plan.method == "consent_revocation":
        title = f"Revoke {subject}'s consent for {client_label}?"
    else:
        title = f"Revoke this {kind} of {client_label}?"
    facts = [
        ("Token", f"{kind}{' (JWT)' if found.jwt else ' (opaque)'}"),
        ("Client", f"{client_label} ({client.client_id})"),
        ("Subject", f"{found.subject_label or ''} {result.sub or '—'}".strip()),
        ("Expires", f"{found.expires.absolute} ({found.expires.relative})" if found.expires else "—"),
    ]
    if plan.client_wide and typed is None:
        typed = TypedNameForm(expected=plan.expected)
    context = {
        "title": title,
        "facts": facts,
        "consequence": "Until you confirm, nothing is revoked. This cannot be undone.",
        "consequences": [t.format(client=client_label, subject=subject) for t in WILL_REVOKE[plan.method]],
        "hidden_form": RevokeTokenForm(initial={"token": token, "confirmed": True}),
        "form": typed,
        "button": "Delete all access tokens" if plan.client_wide else "Revoke token",
        "cancel_url": reverse("console:tokens:list"),
    }
    response = TemplateResponse(request, "components/confirm.html", context, status=status)
    response["Cache-Control"] = "no-store"  # the page carries the token in a hidden field
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view()
def token_revoke(request: TenantRequest) -> HttpResponse:
    """Revoke one of the tenant's tokens (member and up): the first POST shows what will be revoked, the
    confirmation posts again; the page then shows the token inactive."""
    if request.method != "POST":
        return redirect("console:tokens:list")  # a reload of the confirmation or result page
    if not tenancy.role_at_least(request.role, Role.MEMBER):
        audit.record(
            request,
            Action.TOKEN_REVOKE,
            tenant=request.tenant,
            outcome=AuditEvent.Outcome.DENIED,
            detail="needs the member role",
        )
        raise PermissionDenied("Revoking tokens needs the member role.")
    form = RevokeTokenForm(request.POST)
    if not form.is_valid():
        audit.record(
            request,
            Action.TOKEN_REVOKE,
            tenant=request.tenant,
            outcome=AuditEvent.Outcome.FAILURE,
            detail="invalid token field",
        )
        return _page(request, TokenForm(request.POST), status=400)
    token = form.cleaned_data["token"]
    plan = _revoke_plan(request, token)
    if plan is not None and not form.cleaned_data["confirmed"]:
        return _confirm_revoke(request, token, plan)
    if plan is not None and plan.client_wide:
        typed = TypedNameForm(request.POST, expected=plan.expected)
        if not typed.is_valid():
            refused(request, Action.TOKEN_REVOKE, typed, target=service.fingerprint(token))
            return _confirm_revoke(request, token, plan, typed=typed, status=400)
    try:  # an unknown token (plan None) is answered by the service, audited as a failure
        revocation = service.revoke_for(request, request.tenant, token)
    except service.NothingToRevoke as exc:
        messages.error(request, str(exc))
        return _page(request, TokenForm(), status=404)
    except service.NotRevoked as exc:
        messages.error(request, str(exc))
        return _page(
            request,
            TokenForm(initial={"token": token}),
            status=409,
            report=service.report(request.tenant, token),
            token=token,
        )
    return _page(request, TokenForm(), revoked=revocation, report=service.report(request.tenant, token))


def _cleanup_consequences(options: janitor.JanitorOptions) -> list[str]:
    """What a janitor run with these options deletes, in words (the confirmation page)."""
    keep = (
        ""
        if options.keep_if_younger in ("0s", "0")
        else f" (none issued in the last {options.keep_if_younger})"
    )
    items = []
    if options.tokens:
        items.append(f"Access tokens issued more than {options.access_lifespan} ago{keep}, expired or not.")
        items.append(f"Refresh tokens issued more than {options.refresh_lifespan} ago{keep}, expired or not.")
    if options.requests:
        items.append(
            f"Login and consent requests older than {options.consent_request_lifespan} that were "
            "never finished, were rejected or expired."
        )
    if options.grants:
        items.append("Expired jwt-bearer trust relationships.")
    items.append(
        f"At most {options.limit:,} rows per table, in batches of {min(options.batch_size, options.limit):,}."
    )
    items.append(
        "How many rows that is: Hydra cannot tell beforehand (the janitor has no dry run and the "
        "admin API counts no tokens); the result says how many tokens were removed."
    )
    return items


def _confirm_cleanup(request: HttpRequest, form: CleanupForm) -> HttpResponse:
    context = {
        "title": "Delete these rows from Hydra's database?",
        "consequence": "Hydra's database serves every tenant: this deletes for all of them, and it cannot be "
        "undone. Tokens a client still uses are deleted too if their issue time is past the lifespan.",
        "consequences": _cleanup_consequences(form.options),
        "hidden_form": CleanupForm(initial={**form.cleaned_data, "confirmed": True}),
        "button": "Run cleanup",
        "cancel_url": reverse("console:tokens:cleanup"),
    }
    return TemplateResponse(request, "components/confirm.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view()
def cleanup(request: HttpRequest) -> HttpResponse:
    """Run `hydra janitor` against Hydra's database (platform admins: it affects every tenant)."""
    if not request.user.is_superuser:
        if request.method == "POST":
            audit.record(
                request,
                Action.TOKENS_FLUSH,
                tenant=None,
                target="hydra-janitor",
                outcome=AuditEvent.Outcome.DENIED,
                detail="platform admins only",
            )
        raise PermissionDenied("Cleaning Hydra's database affects every tenant: platform admins only.")
    form = CleanupForm(request.POST or None)
    status, last = 200, None
    if request.method == "POST":
        if not form.is_valid():
            audit.record(
                request,
                Action.TOKENS_FLUSH,
                tenant=None,
                target="hydra-janitor",
                outcome=AuditEvent.Outcome.FAILURE,
                detail=form.errors.as_text(),
            )
            status = 400
        elif not form.cleaned_data["confirmed"]:
            return _confirm_cleanup(request, form)
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
