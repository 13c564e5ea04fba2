"""What the sections of a client's home show, read from the services that own each facet (hygiene findings,
version history and drift, the consent ledger, the flow tester). Reads only: every change goes through the
pages and services that own it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oauth2_admin.consents import ledger
from oauth2_admin.devtools import flows
from truss.models import Tenant
from truss.ory import hydra

# Findings, versions and drift belong to hygiene, which depends on clients and never the reverse: hygiene
# provides them here from its AppConfig.ready (oauth2_admin/hygiene/sections.py), as it provides the linter's
# warnings to the client API.
Section = Callable[[Tenant, hydra.OAuth2Client], Any]
_provided: dict[str, Section] = {}


def provide(name: str, section: Section) -> None:
    """Register what the `name` section ("drift", "findings", "history") shows."""
    _provided[name] = section


def drift_of(tenant: Tenant, client: hydra.OAuth2Client) -> Any:
    """Hydra's client against Truss's last recorded version (the banner every section shows)."""
    return _provided["drift"](tenant, client)


def findings_of(tenant: Tenant, client: hydra.OAuth2Client) -> dict[str, Any]:
    return dict(_provided["findings"](tenant, client))


def history_of(tenant: Tenant, client: hydra.OAuth2Client) -> dict[str, Any]:
    return dict(_provided["history"](tenant, client))


def people_of(tenant: Tenant, client: hydra.OAuth2Client) -> ledger.Counts:
    return ledger.counts(tenant, client.client_id)


def quickstart_of(client: hydra.OAuth2Client) -> dict[str, Any]:
    """Which test buttons apply: a sign-in for a code client (one click when the flow tester's callback is one
    of its redirect URIs), a token for a client-credentials client."""
    callback = flows.callback_url()
    return {
        "can_sign_in": "authorization_code" in client.grant_types,
        "callback_url": callback,
        "callback_registered": callback in client.redirect_uris,
        "can_get_token": "client_credentials" in client.grant_types and not client.is_public,
    }
