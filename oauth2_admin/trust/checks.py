"""`manage.py check`: the token hook needs its secret, or every token request fails."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning, register


@register()
def token_hook_secret(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.TRUST_TOKEN_HOOK and not settings.TRUST_TOKEN_HOOK_SECRET:
        return [
            Warning(
                "TRUST_TOKEN_HOOK is on but TRUST_TOKEN_HOOK_SECRET is empty: the token hook refuses Hydra's calls, "
                "so Hydra issues no token at all.",
                hint="Set TRUST_TOKEN_HOOK_SECRET to the value in Hydra's oauth2.token_hook.auth.config.value, "
                "or TRUST_TOKEN_HOOK=off (then any client with the jwt-bearer grant may use any tenant's trust).",
                id="console_trust.W001",
            )
        ]
    return []
