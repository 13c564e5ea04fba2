"""The one way console views answer htmx: a fragment for in-page requests, the whole page otherwise.

Partials are named after the element they replace (``{% partialdef client-table %}`` renders
``<div id="client-table">``), so ``hx-target="#client-table"`` and ``partial="client-table"`` read alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from django.template.response import TemplateResponse


def is_fragment_request(request: HttpRequest) -> bool:
    """An htmx request that swaps part of the page (boosted navigation wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted  # type: ignore[union-attr]


def render(
    request: HttpRequest,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    partial: str | None = None,
    status: int = 200,
) -> TemplateResponse:
    """`template`, or only its `partial` (django-template-partials' ``template#partial``) for fragment
    requests."""
    name = f"{template}#{partial}" if partial and is_fragment_request(request) else template
    return TemplateResponse(request, name, dict(context or {}), status=status)
