"""Challenge parameters and the URLs the bridge may send a browser to or name to Kratos.

Shared by the flows, the forms, the self-service views and the JSON API (no module reaches into another for it).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse

# Hydra v2.2+ challenges are base64url (with padding) and about 1–2 KB; logout challenges are UUIDs.
CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_\-.=]{8,6000}$")


class InvalidChallenge(ValueError):
    """A missing or malformed challenge parameter: never forwarded to Hydra."""


def clean_challenge(value: str | None) -> str:
    if not value or not CHALLENGE_RE.match(value):
        raise InvalidChallenge("missing or malformed challenge")
    return value


def public_url(name: str, **query: str) -> str:
    """Truss's own public URL for a route (what Hydra and Kratos are configured with)."""
    url = settings.TRUSS_PUBLIC_URL.rstrip("/") + reverse(name)
    return f"{url}?{urlencode(query)}" if query else url


def is_kratos_url(url: str | None) -> bool:
    base = settings.KRATOS_PUBLIC_URL.rstrip("/")
    return bool(url) and bool(base) and (url == base or str(url).startswith(base + "/"))


def is_hydra_url(url: str | None) -> bool:
    base = settings.HYDRA_PUBLIC_URL.rstrip("/")
    return bool(url) and bool(base) and str(url).startswith(base + "/")


def is_return_url(url: str | None) -> bool:
    """Whether ``url`` may be passed to Kratos as ``return_to``: Truss itself or Hydra's public URL."""
    if not url:
        return False
    bases = [settings.TRUSS_PUBLIC_URL, settings.HYDRA_PUBLIC_URL]
    return any(base and (url == base or url.startswith(base.rstrip("/") + "/")) for base in bases)
