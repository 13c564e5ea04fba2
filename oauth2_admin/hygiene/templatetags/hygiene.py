from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from truss.templatetags.truss_format import duration

register = template.Library()

# truss.css has success/failure badges; severity words are always shown next to the colour.
_SEVERITY_CLASS = {"high": "failure", "medium": "denied", "low": "", "": "success"}


@register.filter
def pretty(value: Any) -> str:
    """A value in a diff cell: strings as they are, everything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


@register.filter
def severity_class(severity: str) -> str:
    return _SEVERITY_CLASS.get(severity, "")


@register.filter
def field_value(value: Any, field: str) -> SafeString:
    """One side of a diff row: a lifespan in the words the forms use ("15 min", not Go's "15m0s"), anything
    else as `pretty` code, and an absent value said in words rather than left blank."""
    if value is None or value == "":
        return format_html('<span class="muted">not set</span>')
    if field.endswith("_lifespan"):
        shown = duration(value)
        if shown:
            return format_html("{}", shown)
    return format_html("<code>{}</code>", pretty(value))
