from __future__ import annotations

import functools

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse


def htmx_base(request: HttpRequest) -> dict[str, str]:
    """Which base template pages extend: boosted navigation gets the full page (nav state stays right),
    other htmx requests get just the content, as a fragment."""
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.boosted  # type: ignore[union-attr]
    return {"base_template": "hx_base.html" if partial else "default_base.html"}


# Console sections in display order: (url name, label, minimum role). A section shows once its URL exists,
# so each feature adds its route and appears here without touching the base template.
NAV_SECTIONS = [
    ("console:overview", "Overview", "viewer"),
    ("console:clients:list", "Clients", "viewer"),
    ("console:hygiene:report", "Hygiene", "viewer"),
    ("console:tokens:list", "Tokens", "viewer"),
    ("console:keys:jwks", "JWKS", "viewer"),
    ("console:trust:list", "Trusted issuers", "viewer"),
    ("console:consents:list", "Consent", "viewer"),
    ("console:claims:config", "Claims", "viewer"),
    ("console:devtools:discovery", "Discovery", "viewer"),
    ("console:devtools:flow", "Flow tester", "viewer"),
    ("console:devtools:jwt", "JWT debugger", "viewer"),
    ("console:devtools:snippets", "SDK snippets", "viewer"),
    ("console:audit:log", "Audit log", "viewer"),
    ("console:apikeys:list", "API keys", "admin"),
]


@functools.cache
def _sections() -> list[tuple[str, str, str, str]]:
    """(name, url, label, minimum role) of the sections that exist; URLs never change while running."""
    out = []
    for name, label, minimum in NAV_SECTIONS:
        try:
            out.append((name, reverse(name), label, minimum))
        except NoReverseMatch:
            continue
    return out


def navigation(request: HttpRequest) -> dict[str, list[dict[str, object]]]:
    from truss import tenancy

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    resolved = tenancy.resolve(request)
    if resolved is None:
        return {"nav": []}
    role = resolved[1]
    return {
        "nav": [
            {"url": url, "label": label,
             "current": request.path == url if name == "console:overview" else request.path.startswith(url)}
            for name, url, label, minimum in _sections()
            if tenancy.role_at_least(role, minimum)
        ]
    }  # fmt: skip
