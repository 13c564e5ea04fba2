"""What the developer tools read from Hydra, for the views: discovery, signing keys, device-grant support and
snippet targets (the flow tester's runs live in flows.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from oauth2_admin.devtools import flows, snippets
from truss.ory import hydra

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class Discovery:
    doc: hydra.OidcDiscovery
    raw: dict[str, Any]
    registration: bool | None  # None: cannot tell now


def discovery() -> Discovery:
    """Hydra's OpenID Connect discovery document, and whether dynamic client registration is on."""
    doc = hydra.discovery()
    try:
        registration: bool | None = hydra.dynamic_registration_enabled()
    except hydra.HydraError:
        registration = None
    return Discovery(doc=doc, raw=doc.model_dump(mode="json", exclude_none=True), registration=registration)


def device_support() -> dict[str, Any]:
    """Whether this Hydra has the device grant, and its version for the page (None: cannot tell now)."""
    try:
        return {"device_supported": flows.device_supported(), "hydra_version": hydra.get_version()}
    except hydra.HydraError:
        return {"device_supported": None, "hydra_version": ""}


def snippet_target(client: hydra.OAuth2Client) -> snippets.Target:
    """What the client's snippets call: Hydra's endpoints, the client's grants (the device flow only where this
    Hydra has it)."""
    try:
        device = DEVICE_GRANT in client.grant_types and hydra.version_at_least("25.4.0")
    except hydra.HydraError:
        device = False
    return snippets.target_for(client, hydra.discovery(), device=device)


def verification_keys() -> dict[str, Any] | None:
    """The issuer and Hydra's public JWKS for the JWT debugger; None while Hydra cannot be asked."""
    try:
        return {
            "issuer": hydra.discovery().issuer,
            "keys": [
                k.model_dump(mode="json", exclude_none=True, by_alias=True) for k in hydra.public_jwks().keys
            ],
        }
    except hydra.HydraError:
        return None
