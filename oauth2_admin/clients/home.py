"""What the sections of a client's home show, read from the services that own each facet (hygiene findings,
version history and drift, the consent ledger, the flow tester). Reads only: every change goes through the
pages and services that own it."""

from __future__ import annotations

from typing import Any

from oauth2_admin.consents import ledger
from oauth2_admin.devtools import flows
from oauth2_admin.hygiene import drift as drifts
from oauth2_admin.hygiene import freshness, history
from oauth2_admin.hygiene import service as hygiene
from truss import names
from truss.models import Tenant
from truss.ory import hydra

RECENT_VERSIONS = 10


def drift_of(tenant: Tenant, client: hydra.OAuth2Client) -> drifts.Drift:
    """Hydra's client against Truss's last recorded version (the banner every section shows)."""
    versions = history.versions_for(tenant, client.client_id)
    return drifts.compare(client, versions[-1] if versions else None)


def findings_of(tenant: Tenant, client: hydra.OAuth2Client) -> dict[str, Any]:
    freshness.reconcile(tenant, client)
    found = hygiene.findings_for(tenant, client)
    return {"findings": found, "score": hygiene.score(found)}


def history_of(tenant: Tenant, client: hydra.OAuth2Client) -> dict[str, Any]:
    versions = history.versions_for(tenant, client.client_id)
    recent = list(reversed(versions))[:RECENT_VERSIONS]
    who = names.resolve(tenant, actors=[v.actor for v in recent])
    return {
        "versions": [(v, who.of(v.actor)) for v in recent],
        "count": len(versions),
        "drift": drifts.compare(client, versions[-1] if versions else None),
    }


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
