"""What every page's context carries. These run on every render, fragments and end-user pages included, so
each does its work only when a template asks for it, and whatever does not depend on the request is computed
once per process (reverse() and static() are not free on every render: bench/RESULTS.md, console pages)."""

from __future__ import annotations

import functools

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import SafeString, mark_safe


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


@functools.cache
def _visible(role: str) -> tuple[tuple[str, str, bool], ...]:
    """(url, label, exact) of the sections `role` sees; the overview is current on its own URL only."""
    from truss import tenancy

    return tuple(
        (url, label, name == "console:overview")
        for name, url, label, minimum in _sections()
        if tenancy.role_at_least(role, minimum)
    )


def _render_nav(role: str, current: tuple[str, ...]) -> SafeString:
    items = [{"url": url, "label": label, "current": url in current} for url, label, _ in _visible(role)]
    return mark_safe(render_to_string("components/nav.html", {"items": items}).strip())


# One rendering per (role, current section): a few dozen strings per process. DEBUG renders every time, so
# that an edited components/nav.html shows at once.
_cached_nav = functools.lru_cache(maxsize=256)(_render_nav)


def nav_html(request: HttpRequest) -> SafeString:
    """The console navigation's links for this request's role, the current section marked (aria-current)."""
    from truss import tenancy

    resolved = tenancy.resolve(request)
    if resolved is None:
        return mark_safe("")
    role, path = resolved[1], request.path
    visible = _visible(role)
    current = tuple(url for url, _, exact in visible if (path == url if exact else path.startswith(url)))
    return (_render_nav if settings.DEBUG else _cached_nav)(role, current)


@functools.cache
def _shell() -> dict[str, str]:
    """The links and assets of the console layout (default_base.html), the same on every page."""
    return {
        "overview_url": reverse("console:overview"),
        "switch_tenant_url": reverse("console:switch_tenant"),
        "logout_url": reverse("logout"),
        "favicon": static("favicon.svg"),
        "css": static("css/truss.css"),
        "htmx_js": static("django_htmx/htmx-2.min.js"),
        "truss_js": static("js/truss.js"),
    }


def navigation(request: HttpRequest) -> dict[str, object]:
    """`nav`: the console navigation's links, rendered only if the page shows them (fragments do not);
    `shell`: the layout's fixed links and asset URLs. Both are callables, which templates call on use."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": "", "shell": _shell}
    return {"nav": functools.partial(nav_html, request), "shell": _shell}
