"""End-user screens of the Hydra bridge: login (no screen, only redirects), consent, logout, errors, device.

Every view is framed out, localised (bridge/i18n.py) and turns Hydra/Kratos trouble into a friendly page,
never a console page or a 500. The only redirects are ``redirect_to`` values Hydra or Kratos returned.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.http import require_http_methods, require_safe

from bridge import branding, i18n, services
from bridge.forms import ConsentForm, LogoutForm
from truss import upstream
from truss.models import Tenant
from truss.ory import hydra, kratos

log = logging.getLogger(__name__)
V = TypeVar("V", bound=Callable[..., HttpResponse])

_ERROR_CODE_RE = re.compile(r"^[a-z0-9_]{1,64}$")


def page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    tenant: Tenant | None = None,
) -> TemplateResponse:
    context = dict(context or {})
    context.setdefault("brand", branding.for_tenant(tenant))
    return TemplateResponse(request, template, context, status=status)


def problem(request: HttpRequest, reason: str, status: int = 400, **context: Any) -> TemplateResponse:
    """One page for everything that stops a flow; bridge/problem.html words each ``reason``."""
    tenant = context.pop("tenant", None)
    return page(request, "bridge/problem.html", {"reason": reason, **context}, status=status, tenant=tenant)


def _upstream_problem(request: HttpRequest, exc: hydra.HydraError | kratos.KratosError) -> HttpResponse:
    if isinstance(exc, hydra.HydraGone):
        if exc.redirect_to:
            # An expired challenge: Hydra says where the browser goes next (usually back to the client).
            return HttpResponseRedirect(exc.redirect_to)
        return problem(request, "expired", 410)
    if isinstance(exc, hydra.HydraNotFound):
        return problem(request, "unknown_challenge", 404)
    answer = upstream.answer_for(exc)
    log.warning("bridge: %s during %s", exc, request.path)
    if answer.unavailable:
        response = problem(request, "unavailable", 503, service=answer.service)
        response["Retry-After"] = answer.headers["Retry-After"]
        return response
    return problem(request, "upstream", 502)


def end_user(view: V) -> V:
    """Framed out, localised, and upstream failures become friendly pages."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except services.InvalidChallenge:
            response = problem(request, "invalid_challenge", 400)
        except (hydra.HydraError, kratos.KratosError) as exc:
            response = _upstream_problem(request, exc)
        # Lets the bridge status check tell Truss's bridge apart from anything else answering the URL.
        response["X-Truss-Bridge"] = "1"
        response["Cache-Control"] = "no-store"
        return response

    return cast(V, xframe_options_deny(i18n.localized(wrapper)))


def respond(request: HttpRequest, result: services.Redirect | services.Stop) -> HttpResponse:
    if isinstance(result, services.Redirect):
        return HttpResponseRedirect(result.url)
    return problem(request, result.reason, result.status, **result.context)


# --- Login ------------------------------------------------------------------------------------------------


@require_safe
@end_user
def login(request: HttpRequest) -> HttpResponse:
    """Hydra's login redirect: accept from the Kratos session, or send the browser to Kratos's login."""
    challenge = services.clean_challenge(request.GET.get("login_challenge"))
    return respond(request, services.login(request, challenge, request.GET.get("sent")))


# --- Consent ----------------------------------------------------------------------------------------------


def _http_url(value: str | None) -> str:
    """Client-supplied links are shown only when they are plain http(s) URLs."""
    return value if value and value.startswith(("https://", "http://")) and len(value) <= 2000 else ""


def _consent_page(
    request: HttpRequest, screen: services.ConsentScreen, form: ConsentForm, status: int = 200
) -> TemplateResponse:
    client = screen.consent.client
    redirect_uri = services.redirect_uri_of(screen.consent.request_url)
    context = {
        "form": form,
        "challenge": screen.consent.challenge,
        "client_name": (client.client_name or client.client_id)[:100],
        "logo_uri": _http_url(client.logo_uri),
        "policy_uri": _http_url(client.policy_uri),
        "tos_uri": _http_url(client.tos_uri),
        "redirect_host": urlsplit(redirect_uri).netloc if redirect_uri else "",
        "account": (screen.identity.email or screen.identity.id)[:320],
        "remember_days": services.remember_consent_days(),
    }
    return page(request, "bridge/consent.html", context, status=status, tenant=screen.tenant)


@require_http_methods(["GET", "HEAD", "POST"])
@end_user
def consent(request: HttpRequest) -> HttpResponse:
    """Hydra's consent redirect (GET) and the user's answer (POST)."""
    if request.method == "POST":
        return _consent_post(request)
    challenge = services.clean_challenge(request.GET.get("consent_challenge"))
    result = services.consent(request, challenge)
    if isinstance(result, services.ConsentScreen):
        form = ConsentForm(initial={"challenge": challenge}, requested_scopes=result.consent.requested_scope)
        return _consent_page(request, result, form)
    return respond(request, result)


def _consent_post(request: HttpRequest) -> HttpResponse:
    # The posted scopes are only a choice among the requested ones: services re-fetches the request and
    # intersects, so the form accepts any posted value here (bounded in number).
    posted = request.POST.getlist("scopes")[:50]
    form = ConsentForm(request.POST, requested_scopes=posted)
    if not form.is_valid():
        return problem(request, "invalid_challenge", 400)
    if form.cleaned_data["action"] == "switch":
        return respond(request, services.switch_account(request, form.cleaned_data["challenge"]))
    result = services.decide_consent(
        request,
        form.cleaned_data["challenge"],
        accept=form.accepted,
        scopes=form.cleaned_data["scopes"],
        remember=form.cleaned_data["remember"],
    )
    return respond(request, result)


# --- Logout -----------------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@end_user
def logout(request: HttpRequest) -> HttpResponse:
    """Hydra's logout redirect: confirm (unless the client skips it), then end Hydra's and Kratos's sessions."""
    if request.method == "POST":
        form = LogoutForm(request.POST)
        if not form.is_valid():
            return problem(request, "invalid_challenge", 400)
        return respond(
            request, services.decide_logout(request, form.cleaned_data["challenge"], accept=form.accepted)
        )
    challenge = services.clean_challenge(request.GET.get("logout_challenge"))
    result = services.logout(request, challenge)
    if isinstance(result, services.LogoutScreen):
        client = result.logout.client
        context = {
            "form": LogoutForm(initial={"challenge": challenge}),
            "client_name": (client.client_name or client.client_id)[:100] if client else "",
        }
        return page(request, "bridge/logout.html", context, tenant=result.tenant)
    return respond(request, result)


@require_safe
@end_user
def logged_out(request: HttpRequest) -> HttpResponse:
    """Hydra's default post-logout destination."""
    return page(request, "bridge/logged_out.html")


# --- Errors and the device flow ---------------------------------------------------------------------------


@require_safe
@end_user
def error(request: HttpRequest) -> HttpResponse:
    """Hydra's error redirect: the OAuth error and its description, never ``error_debug``."""
    code = request.GET.get("error", "")
    context = {
        "error": code if _ERROR_CODE_RE.match(code) else "unknown_error",
        "description": request.GET.get("error_description", "")[:500],
        "hint": request.GET.get("error_hint", "")[:500],
    }
    return page(request, "bridge/error.html", context, status=400)


@require_safe
@end_user
def device(request: HttpRequest) -> HttpResponse:
    """The device-flow verification page. Hydra < v25.4 has no device flow, and this Truss does not drive one."""
    supported = hydra.version_at_least("v25.4.0")
    return page(request, "bridge/device.html", {"hydra_supports_device": supported}, status=501)


@require_safe
def brand_css(request: HttpRequest, slug: str) -> HttpResponse:
    """The tenant's accent colour as CSS variables (a stylesheet, so the CSP needs no inline styles)."""
    brand = branding.for_tenant(get_object_or_404(Tenant, slug=slug))
    if brand is None:
        raise Http404
    response = HttpResponse(branding.stylesheet(brand.accent), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = (
        "public, max-age=3600" if request.GET.get("v") == brand.css_version else "no-cache"
    )
    return response
