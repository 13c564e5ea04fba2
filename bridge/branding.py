"""The tenant's look on the end-user screens: name, logo and an accent colour that stays readable."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from truss.models import Tenant

DEFAULT_ACCENT = "#2453d6"


@dataclass(frozen=True)
class Brand:
    name: str
    logo_url: str
    slug: str
    accent: str

    @property
    def css_version(self) -> str:
        """Changes with the colour, so the brand stylesheet can be cached for long."""
        return hashlib.sha256(self.accent.encode()).hexdigest()[:8]


def for_tenant(tenant: Tenant | None) -> Brand | None:
    if tenant is None:
        return None
    return Brand(
        name=tenant.name,
        logo_url=tenant.logo_url,
        slug=tenant.slug,
        accent=(tenant.accent_color or DEFAULT_ACCENT).lower(),
    )


def _luminance(hex_colour: str) -> float:
    """WCAG 2.x relative luminance."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _darken(hex_colour: str, factor: float) -> str:
    channels = [round(int(hex_colour[i : i + 2], 16) * factor) for i in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in channels)


def palette(accent: str) -> dict[str, str]:
    """Button colour and its text colour, plus an "ink" shade for links and focus rings on white.

    Any tenant colour must keep WCAG AA contrast (4.5:1), so the text colour is picked, and the ink shade is
    darkened until it reads on the white card.
    """
    # Black or white: for any colour one of them reaches at least 4.58:1.
    foreground = "#ffffff" if contrast(accent, "#ffffff") >= contrast(accent, "#000000") else "#000000"
    ink = accent
    factor = 1.0
    while contrast(ink, "#ffffff") < 4.5 and factor > 0:
        factor -= 0.05
        ink = _darken(accent, max(factor, 0))
    return {"brand": accent, "brand-fg": foreground, "brand-ink": ink}


def stylesheet(accent: str) -> str:
    values = palette(accent)
    return ":root{" + "".join(f"--{name}:{value};" for name, value in values.items()) + "}\n"
