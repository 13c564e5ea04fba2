from __future__ import annotations

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
    ("overview", "Overview", "viewer"),
    ("clients", "Clients", "viewer"),
    ("tokens", "Tokens", "viewer"),
    ("jwks", "JWKS", "viewer"),
    ("consent_sessions", "Consent", "viewer"),
    ("claims_config", "Claims", "viewer"),
    ("discovery", "Discovery", "viewer"),
    ("audit_log", "Audit log", "viewer"),
    ("api_keys", "API keys", "admin"),
]


def navigation(request: HttpRequest) -> dict[str, list[dict[str, object]]]:
    from truss import tenancy

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    resolved = tenancy.resolve(request)
    role = resolved[1] if resolved else None
    items: list[dict[str, object]] = []
    for name, label, minimum in NAV_SECTIONS:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        if role is None or not tenancy.role_at_least(role, minimum):
            continue
        current = request.path == url if name == "overview" else request.path.startswith(url)
        items.append({"url": url, "label": label, "current": current})
    return {"nav": items}
