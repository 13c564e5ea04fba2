"""Kratos's self-service screens (login, registration, recovery, verification, settings, error), rendered by
Truss from the flow's ``ui`` nodes. The forms post straight to Kratos (``ui.action``); Truss only reads flows.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_safe

from bridge import i18n, ui
from bridge.flows.common import tenant_for_client
from bridge.flows.login import login_request_for_flow
from bridge.links import is_kratos_url, is_return_url
from bridge.responses import end_user, page, problem
from truss.ory import kratos

# Kratos flow ids are UUIDs; anything else is not worth a round trip.
_FLOW_ID_MAX = 64


def _init_url(kind: kratos.FlowKind, return_to: str | None) -> str:
    # Only Truss's own or Hydra's URLs are passed on as return_to (Kratos checks too, but with an error page).
    safe = return_to if is_return_url(return_to) else None
    return kratos.browser_flow_url(kind, return_to=safe)


@require_safe
@end_user
def flow(request: HttpRequest, kind: str) -> HttpResponse:
    """Kratos's ``ui_url`` for a flow: start one if there is no ``?flow=``, else render it."""
    if kind not in kratos.FLOW_KINDS:
        raise Http404
    flow_kind: kratos.FlowKind = kind  # type: ignore[assignment]
    flow_id = request.GET.get("flow", "")
    if not flow_id or len(flow_id) > _FLOW_ID_MAX:
        return HttpResponseRedirect(_init_url(flow_kind, request.GET.get("return_to")))
    try:
        current = kratos.get_flow(flow_kind, flow_id, request.headers.get("Cookie"))
    except kratos.KratosGone as exc:
        # Expired: Kratos names a fresh init URL.
        target = exc.redirect_to if is_kratos_url(exc.redirect_to) else _init_url(flow_kind, None)
        return HttpResponseRedirect(str(target))
    except kratos.KratosNotFound:
        return HttpResponseRedirect(_init_url(flow_kind, None))
    except kratos.KratosForbidden as exc:
        if is_kratos_url(exc.redirect_to):
            return HttpResponseRedirect(str(exc.redirect_to))  # e.g. settings needing a fresh login
        # CSRF cookie missing: redirecting would only loop, so explain and offer a fresh start.
        return problem(request, "cookies", 403, restart_url=_init_url(flow_kind, None))
    except kratos.KratosUnauthorized:
        return HttpResponseRedirect(_init_url("login", None))  # settings without a session
    return _render(request, current)


def _render(request: HttpRequest, current: kratos.SelfServiceFlow) -> HttpResponse:
    login_request = login_request_for_flow(current)
    tenant = None
    login_hint = None
    client_name = ""
    if login_request is not None:
        oidc = login_request.oidc_context
        i18n.use(request, oidc.ui_locales if oidc else None)
        tenant = tenant_for_client(login_request.client)
        login_hint = oidc.login_hint if oidc else None
        client_name = (login_request.client.client_name or login_request.client.client_id)[:100]
    return_to = current.return_to if is_return_url(current.return_to) else None
    links = {
        name: reverse("bridge:kratos_flow", args=[name])
        + (f"?{urlencode({'return_to': return_to})}" if return_to else "")
        for name in ("login", "registration", "recovery")
    }
    context = {
        "flow": current,
        "kind": current.kind,
        "forms": ui.forms_for(current, login_hint=login_hint),
        "flow_messages": ui.flow_messages(current),
        "client_name": client_name,
        "links": links,
        "refresh": bool(current.refresh),
    }
    return page(request, "bridge/flow.html", context, tenant=tenant)


@require_safe
@end_user
def flow_error(request: HttpRequest) -> HttpResponse:
    """Kratos's error ``ui_url``: what went wrong, in words, never Kratos's debug details."""
    error_id = request.GET.get("id", "")
    found: kratos.FlowError | None = None
    if error_id and len(error_id) <= _FLOW_ID_MAX:
        try:
            found = kratos.get_flow_error(error_id)
        except kratos.KratosNotFound:
            found = None
    context = {
        "error_id": (found.error.get("id") if found else None) or "unknown",
        "message": (found.message if found else None) or "",
        "restart_url": _init_url("login", None),
    }
    return page(
        request, "bridge/flow_error.html", context, status=(found.code if found and found.code else 404)
    )
