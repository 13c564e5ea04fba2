"""Placeholders for Hydra's and Kratos's redirect targets, so the configured URLs answer.

The real login/consent/logout/device bridge and the Kratos self-service screens come with the bridge issue;
until then each target explains itself instead of returning 404.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.http import require_safe


@require_safe
@xframe_options_deny
def placeholder(request: HttpRequest, step: str) -> HttpResponse:
    """Answers Hydra/Kratos redirects with a clear 'not available yet' page."""
    return TemplateResponse(request, "bridge/placeholder.html", {"step": step}, status=501)


@require_safe
@xframe_options_deny
def hydra_error(request: HttpRequest) -> HttpResponse:
    """Hydra's error redirect: show its error and description, never debug data."""
    context = {
        "error": request.GET.get("error", "unknown_error")[:100],
        "description": request.GET.get("error_description", "")[:500],
    }
    return TemplateResponse(request, "bridge/error.html", context, status=400)
