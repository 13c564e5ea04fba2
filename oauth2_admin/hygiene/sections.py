"""What a client's home shows of hygiene: its findings, its versions and its drift. Provided to
oauth2_admin.clients.home from HygieneConfig.ready, so that clients never imports hygiene."""

from __future__ import annotations

from typing import Any

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
