"""How every end-user view answers: a branded page, the one problem page, a flow result, upstream trouble.

Views import these; no view module imports another.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_deny

from bridge import branding, i18n
from bridge.flows.common import Redirect, Stop
from bridge.flows.login_pass import LOGIN_PASS_COOKIE, LOGIN_PASS_MAX_AGE
from bridge.links import InvalidChallenge
from truss import upstream
from truss.models import Tenant
from truss.ory import hydra, kratos

log = logging.getLogger(__name__)
V = TypeVar("V", bound=Callable[..., HttpResponse])

# The tenant whose look the signed-out page keeps (set on the way out; the page has no challenge).
BRAND_COOKIE = "truss_bridge_brand"
_BRAND_SALT = "truss.bridge.brand"
_BRAND_MAX_AGE = 600


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


def upstream_problem(request: HttpRequest, exc: hydra.HydraError | kratos.KratosError) -> HttpResponse:
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
    """Framed out, localised, never cached, and upstream failures become friendly pages."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except InvalidChallenge:
            response = problem(request, "invalid_challenge", 400)
        except (hydra.HydraError, kratos.KratosError) as exc:
            response = upstream_problem(request, exc)
        # Lets the bridge status check tell Truss's bridge apart from anything else answering the URL.
        response["X-Truss-Bridge"] = "1"
        response["Cache-Control"] = "no-store"
        return response

    return cast(V, xframe_options_deny(i18n.localized(wrapper)))


def _secure(request: HttpRequest) -> bool:
    # Behind a TLS-terminating proxy is_secure() can be False although browsers use https: follow the settings.
    return bool(settings.SESSION_COOKIE_SECURE) or request.is_secure()


def respond(request: HttpRequest, result: Redirect | Stop) -> HttpResponse:
    if isinstance(result, Redirect):
        response = HttpResponseRedirect(result.url)
        if result.brand:
            response.set_signed_cookie(
                BRAND_COOKIE,
                result.brand,
                salt=_BRAND_SALT,
                max_age=_BRAND_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=_secure(request),
            )
        if result.login_pass:  # already signed; read only by the consent hop
            response.set_cookie(
                LOGIN_PASS_COOKIE,
                result.login_pass,
                max_age=LOGIN_PASS_MAX_AGE,
                path=reverse("bridge:consent"),
                httponly=True,
                samesite="Lax",
                secure=_secure(request),
            )
        return response
    return problem(request, result.reason, result.status, **result.context)


def remembered_tenant(request: HttpRequest) -> Tenant | None:
    """The tenant named by the brand cookie ``respond()`` set on the way out, if it is genuine."""
    slug = request.get_signed_cookie(BRAND_COOKIE, default=None, salt=_BRAND_SALT, max_age=_BRAND_MAX_AGE)
    return Tenant.objects.filter(slug=slug).first() if slug else None
