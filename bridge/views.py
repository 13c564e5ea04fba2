"""End-user screens of the Hydra bridge: login (no screen, only redirects), consent, logout, errors, device.

Every view is framed out, localised and turns Hydra/Kratos trouble into a friendly page (bridge/responses.py),
never a console page or a 500. The only redirects are ``redirect_to`` values Hydra or Kratos returned.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.views.decorators.http import require_http_methods, require_safe

from bridge import branding, i18n
from bridge.flows import common
from bridge.flows import consent as consent_flow
from bridge.flows import device as device_flow
from bridge.flows import login as login_flow
from bridge.flows import logout as logout_flow
from bridge.forms import ConsentForm, LogoutForm
from bridge.links import clean_challenge
from bridge.responses import end_user, page, problem, remembered_tenant, respond
from truss.models import Tenant

_ERROR_CODE_RE = re.compile(r"^[a-z0-9_]{1,64}$")


# --- Login ------------------------------------------------------------------------------------------------


@require_safe
@end_user
def login(request: HttpRequest) -> HttpResponse:
    """Hydra's login redirect: accept from the Kratos session, or send the browser to Kratos's login."""
    challenge = clean_challenge(request.GET.get("login_challenge"))
    return respond(request, login_flow.login(request, challenge, request.GET.get("sent")))


# --- Consent ----------------------------------------------------------------------------------------------


def _http_url(value: str | None) -> str:
    """Client-supplied links are shown only when they are plain http(s) URLs."""
    return value if value and value.startswith(("https://", "http://")) and len(value) <= 2000 else ""


def _consent_page(
    request: HttpRequest, screen: consent_flow.ConsentScreen, form: ConsentForm, status: int = 200
) -> TemplateResponse:
    client = screen.consent.client
    redirect_uri = common.redirect_uri_of(screen.consent.request_url)
    context = {
        "form": form,
        "challenge": screen.consent.challenge,
        "client_name": (client.client_name or client.client_id)[:100],
        "logo_uri": _http_url(client.logo_uri),
        "policy_uri": _http_url(client.policy_uri),
        "tos_uri": _http_url(client.tos_uri),
        "redirect_host": urlsplit(redirect_uri).netloc if redirect_uri else "",
        "account": (screen.identity.email or screen.identity.id)[:320],
        "remember_days": common.remember_consent_days(),
        "rememberable": screen.rememberable,
        "device": screen.device,
        "device_code": device_flow.remembered_code(request) if screen.device else "",
    }
    return page(request, "bridge/consent.html", context, status=status, tenant=screen.tenant)


@require_http_methods(["GET", "HEAD", "POST"])
@end_user
def consent(request: HttpRequest) -> HttpResponse:
    """Hydra's consent redirect (GET) and the user's answer (POST)."""
    if request.method == "POST":
        return _consent_post(request)
    challenge = clean_challenge(request.GET.get("consent_challenge"))
    result = consent_flow.consent(request, challenge)
    if isinstance(result, consent_flow.ConsentScreen):
        form = ConsentForm(
            initial={"challenge": challenge},
            requested_scopes=result.consent.requested_scope,
            entries=result.catalogue,
        )
        return _consent_page(request, result, form)
    return respond(request, result)


def _consent_post(request: HttpRequest) -> HttpResponse:
    # The posted scopes are only a choice among the requested ones: the flow re-fetches the request and
    # intersects, so the form accepts any posted value here (bounded in number).
    posted = request.POST.getlist("scopes")[:50]
    form = ConsentForm(request.POST, requested_scopes=posted)
    if not form.is_valid():
        return problem(request, "invalid_challenge", 400)
    challenge = form.cleaned_data["challenge"]
    if form.cleaned_data["action"] == "switch":
        return respond(request, consent_flow.switch_account(request, challenge))
    result = consent_flow.decide_consent(
        request,
        challenge,
        accept=form.accepted,
        scopes=form.cleaned_data["scopes"],
        remember=form.cleaned_data["remember"],
    )
    if (
        not form.accepted
        and isinstance(result, common.Redirect)
        and device_flow.is_device_request(result.url)
    ):
        # Hydra (v26.2) answers a refused device consent with a bare JSON error page and never tells the device
        # (it polls "authorization_pending" until the code expires): say it here instead.
        refused = device_flow.done(common.query_value(result.url, "client_id"))
        context = {"client_name": refused.client_name, "denied": True}
        tenant = common.tenant_for_client(refused.client)
        return page(request, "bridge/device_done.html", context, tenant=tenant)
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
        challenge = form.cleaned_data["challenge"]
        return respond(request, logout_flow.decide_logout(request, challenge, accept=form.accepted))
    challenge = clean_challenge(request.GET.get("logout_challenge"))
    result = logout_flow.logout(request, challenge)
    if isinstance(result, logout_flow.LogoutScreen):
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
    """Hydra's default post-logout destination, in the look of the tenant the user just signed out of."""
    return page(request, "bridge/logged_out.html", tenant=remembered_tenant(request))


# --- Errors and the device flow ---------------------------------------------------------------------------


@require_safe
@end_user
def error(request: HttpRequest) -> HttpResponse:
    """Hydra's error redirect: the OAuth error and its description, never ``error_debug``."""
    ui_locales = request.GET.get("ui_locales", "")[:200].split()
    if ui_locales:
        i18n.use(request, ui_locales)
    code = request.GET.get("error", "")
    context = {
        "error": code if _ERROR_CODE_RE.match(code) else "unknown_error",
        "description": request.GET.get("error_description", "")[:500],
        "hint": request.GET.get("error_hint", "")[:500],
    }
    tenant = common.tenant_for_client_id(request.GET.get("client_id", ""))
    return page(request, "bridge/error.html", context, status=400, tenant=tenant)


def _device_page(request: HttpRequest, status: int = 200, **context: Any) -> TemplateResponse:
    return page(request, "bridge/device.html", {"hydra_supports_device": True, **context}, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@end_user
def device(request: HttpRequest) -> HttpResponse:
    """Hydra's urls.device.verification: the user types the code their device shows (prefilled from
    ``verification_uri_complete``), then Hydra's login and consent follow. Hydra < v25.4 has no device flow."""
    if not device_flow.supported():
        return page(request, "bridge/device.html", {"hydra_supports_device": False}, status=501)
    source = request.POST if request.method == "POST" else request.GET
    challenge = clean_challenge(source.get("device_challenge"))
    if request.method != "POST":
        return _device_page(
            request,
            device_challenge=challenge,
            user_code=device_flow.clean_user_code(request.GET.get("user_code")),
        )
    result = device_flow.submit(request, challenge, request.POST.get("user_code", "")[:200])
    if isinstance(result, device_flow.CodeRefused):
        return _device_page(
            request, 400, device_challenge=challenge, user_code=result.user_code, refused=True
        )
    if isinstance(result, common.Stop) and result.reason == "device_throttled":
        return _device_page(request, result.status, throttled=True, **result.context)
    response = respond(request, result)
    if isinstance(result, common.Redirect):
        device_flow.remember_code(
            response, request, device_flow.clean_user_code(request.POST.get("user_code"))
        )
    return response


@require_safe
@end_user
def device_done(request: HttpRequest) -> HttpResponse:
    """Hydra's urls.device.success?client_id=…: the device has its tokens (or will at its next poll)."""
    result = device_flow.done(request.GET.get("client_id"))
    tenant = common.tenant_for_client(result.client)
    return page(request, "bridge/device_done.html", {"client_name": result.client_name}, tenant=tenant)


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
