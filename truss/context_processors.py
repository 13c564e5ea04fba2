"""What every page's context carries. These run on every render, fragments and end-user pages included, so
each does its work only when a template asks for it, and whatever does not depend on the request is computed
once per process (reverse() and static() are not free on every render: bench/RESULTS.md, console pages)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

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


# The console's menu: groups in display order, each with its pages (url name, label, minimum role). The label is
# the page's <h1> and <title> (tests/console/test_nav.py visits each). A page shows once its URL exists, so each
# feature adds its route and appears here without touching the base template; a group with no page a role may
# see is not shown to it.
NAV_SECTIONS: list[tuple[str, list[tuple[str, str, str]]]] = [
    (
        "Applications",
        [
            ("console:clients:list", "Clients", "viewer"),
            ("console:hygiene:report", "Hygiene", "viewer"),
        ],
    ),
    (
        "Tokens & keys",
        [
            ("console:tokens:list", "Tokens", "viewer"),
            ("console:keys:jwks", "Signing keys", "viewer"),
            ("console:trust:list", "Trusted issuers", "viewer"),
        ],
    ),
    (
        "People",
        [
            ("console:consents:list", "Consent", "viewer"),
            ("console:claims:config", "Claims", "viewer"),
            ("console:scopes:list", "Scopes", "viewer"),
        ],
    ),
    (
        "Tools",
        [
            ("console:devtools:flow", "Flow tester", "viewer"),
            ("console:devtools:jwt", "JWT debugger", "viewer"),
            ("console:devtools:doctor", "Flow doctor", "viewer"),
            ("console:devtools:snippets", "SDK snippets", "viewer"),
            ("console:devtools:discovery", "Discovery", "viewer"),
        ],
    ),
    (
        "Monitoring",
        [
            ("console:overview", "Overview", "viewer"),
            ("console:audit:log", "Audit log", "viewer"),
        ],
    ),
    (
        "Settings",
        [
            ("console:apikeys:list", "API keys", "admin"),
            ("api:openapi-view", "API docs", "viewer"),
        ],
    ),
]

# Pages whose URL lies under one section but which belong to another: a client's hygiene pages (findings,
# fixes, history, restore, drift) are facets of the client, so Clients is current there, not Hygiene.
SECTION_OF_VIEW: dict[str, str] = {
    f"console:hygiene:{name}": "console:clients:list"
    for name in ("client_findings", "fix", "history", "restore", "drift", "drift_adopt", "drift_restore")
}
# Sections current on their own URL only (every console URL starts with the overview's).
_EXACT = frozenset({"console:overview"})
# Pages that are not console pages (no htmx boost: a full page load).
_EXTERNAL = frozenset({"api:openapi-view"})


@dataclass(frozen=True)
class Section:
    name: str
    url: str
    label: str
    minimum: str
    group: str


@functools.cache
def _sections() -> tuple[Section, ...]:
    """The sections that exist, in menu order; URLs never change while running."""
    out = []
    for group, pages in NAV_SECTIONS:
        for name, label, minimum in pages:
            try:
                out.append(Section(name, reverse(name), label, minimum, group))
            except NoReverseMatch:
                continue
    return tuple(out)


@functools.cache
def _visible(role: str) -> tuple[Section, ...]:
    from truss import tenancy

    return tuple(s for s in _sections() if tenancy.role_at_least(role, s.minimum))


def current_section(role: str, path: str, view_name: str | None) -> str:
    """The url name of the section `path` belongs to ("" for none): the view's own section if it is listed in
    SECTION_OF_VIEW, otherwise the section whose URL is the longest prefix of the path."""
    visible = _visible(role)
    if view_name in SECTION_OF_VIEW:
        return SECTION_OF_VIEW[view_name]
    best = ""
    best_len = -1
    for s in visible:
        hit = path == s.url if s.name in _EXACT else path.startswith(s.url)
        if hit and len(s.url) > best_len:
            best, best_len = s.name, len(s.url)
    return best


def _render_nav(role: str, current: str) -> SafeString:
    visible = _visible(role)
    groups = []
    for group, _ in NAV_SECTIONS:
        items = [
            {"url": s.url, "label": s.label, "current": s.name == current, "external": s.name in _EXTERNAL}
            for s in visible
            if s.group == group
        ]
        if items:
            groups.append({"label": group, "items": items, "current": any(i["current"] for i in items)})
    return mark_safe(render_to_string("console/nav.html", {"groups": groups}).strip())


# One rendering per (role, current section): a few dozen strings per process. DEBUG renders every time, so
# that an edited console/nav.html shows at once.
_cached_nav = functools.lru_cache(maxsize=256)(_render_nav)


def nav_html(request: HttpRequest) -> SafeString:
    """The console navigation for this request's role: its pages under their group headings, the current
    page marked (aria-current="page") and its group too."""
    from truss import tenancy

    resolved = tenancy.resolve(request)
    if resolved is None:
        return mark_safe("")
    match = getattr(request, "resolver_match", None)
    current = current_section(resolved[1], request.path, match.view_name if match else None)
    return (_render_nav if settings.DEBUG else _cached_nav)(resolved[1], current)


@functools.cache
def _shell() -> dict[str, str]:
    """The links and assets of the console layout (default_base.html), the same on every page."""
    return {
        "overview_url": reverse("console:overview"),
        "switch_tenant_url": reverse("console:switch_tenant"),
        "logout_url": reverse("logout"),
        "favicon": static("favicon.svg"),
        "css": static("css/truss.css"),
        "nav_css": static("css/nav.css"),
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
