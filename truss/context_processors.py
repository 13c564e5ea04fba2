from __future__ import annotations

from django.http import HttpRequest


def htmx_base(request: HttpRequest) -> dict[str, str]:
    """Which base template pages extend: boosted navigation gets the full page (nav state stays right),
    other htmx requests get just the content, as a fragment."""
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.boosted  # type: ignore[union-attr]
    return {"base_template": "hx_base.html" if partial else "default_base.html"}
