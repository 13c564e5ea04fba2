"""System checks with stable ids, so a misconfigured deployment fails at start-up, not at first use."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

_URL_SETTINGS = [
    ("HYDRA_ADMIN_URL", "truss.E001"),
    ("HYDRA_PUBLIC_URL", "truss.E002"),
    ("KRATOS_ADMIN_URL", "truss.E003"),
    ("KRATOS_PUBLIC_URL", "truss.E004"),
]


@register()
def check_ory_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name, check_id in _URL_SETTINGS:
        value = getattr(settings, name, "")
        if not value:
            errors.append(
                Error(f"{name} is not set.", hint=f"Set {name} in the environment or .env.", id=check_id)
            )
        elif urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
            errors.append(Error(f"{name} is not an http(s) URL: {value!r}.", id=check_id))
    for name, check_id in (("HYDRA_TIMEOUT", "truss.E005"), ("KRATOS_TIMEOUT", "truss.E006")):
        if not 0 < getattr(settings, name, 0) <= 60:
            errors.append(Error(f"{name} must be between 0 and 60 seconds.", id=check_id))
    if "localhost" in settings.TRUSS_PUBLIC_URL and "127.0.0.1" in (settings.KRATOS_PUBLIC_URL or ""):
        errors.append(
            Warning(
                "TRUSS_PUBLIC_URL uses localhost while Kratos uses 127.0.0.1: cookies will not be shared.",
                id="truss.W001",
            )
        )
    return errors
