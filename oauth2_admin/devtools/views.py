"""Developer tools: the OIDC discovery document, readable, and the demo client's callback page."""

from __future__ import annotations

import re

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.http import require_safe

from truss import tenancy
from truss.http import TenantRequest
from truss.ory import hydra


@require_safe
@tenancy.tenant_view()
def discovery(request: TenantRequest) -> HttpResponse:
    """Hydra's OpenID Connect discovery document, readable."""
    doc = hydra.discovery()
    return TemplateResponse(request, "console/devtools/discovery.html", {"doc": doc})


# Plain words for the OAuth errors a demo sign-in can end with (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6).
_ERRORS = {
    "access_denied": "The user (or the sign-in service) refused: the application got no access.",
    "login_required": "The application asked to sign in without any screen (prompt=none), but nobody is signed in.",
    "consent_required": "The application asked for no screen (prompt=none), but the user has not agreed yet.",
    "interaction_required": "The sign-in needs the user to do something, but the application asked for no screen.",
    "invalid_request": "The application's request was malformed or reused.",
    "invalid_scope": "The application asked for a scope it is not allowed to ask for.",
    "unauthorized_client": "The application may not use this kind of sign-in.",
    "unsupported_response_type": "The application asked for a response type it is not allowed to use.",
    "request_forbidden": "This sign-in request was already used.",
    "server_error": "The sign-in service failed. Try again.",
    "temporarily_unavailable": "The sign-in service is busy or down. Try again shortly.",
}
_CODE_RE = re.compile(r"^[A-Za-z0-9_\-.~]{1,2000}$")
_ERROR_RE = re.compile(r"^[a-z0-9_]{1,64}$")


def _mask(value: str) -> str:
    return value[:6] + "…" + f" ({len(value)} characters)" if len(value) > 6 else "…"


@require_safe
@xframe_options_deny
def callback(request: HttpRequest) -> HttpResponse:
    """Where the demo client's sign-in ends (public: the end user is not an operator): the outcome in words.

    The code is only shown masked; nothing here redeems it or links anywhere else.
    """
    code = request.GET.get("code", "")
    error = request.GET.get("error", "")
    context = {
        "code": _mask(code) if _CODE_RE.match(code) else "",
        "state": request.GET.get("state", "")[:200],
        "scope": request.GET.get("scope", "")[:500],
        "error": error if _ERROR_RE.match(error) else ("unknown_error" if error else ""),
        "error_text": _ERRORS.get(error, "The sign-in did not complete."),
        "error_description": request.GET.get("error_description", "")[:500],
    }
    response = TemplateResponse(request, "console/devtools/callback.html", context, status=200)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response
