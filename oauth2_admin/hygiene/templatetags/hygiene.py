from __future__ import annotations

import json
from typing import Any

from django import template

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
