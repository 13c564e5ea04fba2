"""Drift: Hydra's client compared with the last version Truss knows (the newest version's state).

A change through Hydra's admin API or the `hydra` CLI leaves no audit event, so the client Hydra holds differs
from Truss's last known version (server-managed fields such as updated_at ignored; secrets redacted on both
sides, as the audit log keeps them, so a client with a secret in its metadata is not drifted). The operator
either adopts it (recorded as a version: `oauth2.client.drift_adopt`, before = last known, after = Hydra's
client) or restores Truss's version through the client service. Both need the ETag the operator reviewed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from oauth2_admin.clients import service as clients
from oauth2_admin.hygiene import history
from truss import audit
from truss.audit import Action
from truss.models import AuditEvent, Tenant
from truss.ory import hydra

DETECTED = Action.CLIENT_DRIFT_DETECTED


@dataclass
class Drift:
    client: hydra.OAuth2Client
    known: history.Version | None
    changes: list[history.Change] = field(default_factory=list)

    @property
    def drifted(self) -> bool:
        return bool(self.changes)

    @property
    def unknown(self) -> bool:
        """Truss has never recorded this client (created and only changed outside Truss)."""
        return self.known is None


def compare(client: hydra.OAuth2Client, known: history.Version | None) -> Drift:
    if known is None:
        return Drift(client, None, [])
    return Drift(client, known, history.diff(known.state, clients.public_view(client)))


def check(tenant: Tenant, client_id: str) -> Drift:
    client = clients.get_for(tenant, client_id)
    versions = history.versions_for(tenant, client_id)
    return compare(client, versions[-1] if versions else None)


class NothingToAdopt(Exception):
    pass


def adopt(
    request: HttpRequest | None, tenant: Tenant, client_id: str, *, if_match: str | None
) -> history.Version:
    """Record Hydra's current client as the newest version (one audit event). `if_match` is the ETag of the
    client the operator looked at, required (PreconditionRequired): 412 if Hydra changed again since."""
    with audit.mutation(request, history.ADOPT, tenant, client_id) as event:
        clients.require_version(if_match, "Adopting Hydra's client")
        found = check(tenant, client_id)
        event.before = found.known.state if found.known else None
        if if_match and if_match.strip() not in (clients.etag(found.client), "*"):
            raise clients.PreconditionFailed(
                "Hydra's client changed again since you looked at it. Reload and review the new difference."
            )
        if found.known is not None and not found.drifted:
            raise NothingToAdopt("Hydra's client matches Truss's last known version: nothing to adopt.")
        counted = _counted_grants(tenant, client_id)
        event.success(after=clients.public_view(found.client))
    _count_adopted(tenant, counted, found.client)
    return history.versions_for(tenant, client_id)[-1]


def _counted_grants(tenant: Tenant, client_id: str) -> list[str] | None:
    """The grant types the tenant's client counts hold for this client: its findings row's (the counts move
    with the rows, whether Truss wrote them or a walk saw the client); None if it has no row."""
    from oauth2_admin.hygiene.models import FindingsSnapshot

    stored = (
        FindingsSnapshot.objects.filter(tenant=tenant, client_id=client_id)
        .values_list("client", flat=True)
        .first()
    )
    if not isinstance(stored, dict):
        return None
    return [str(g) for g in stored.get("grant_types") or []]


def _count_adopted(tenant: Tenant, counted: list[str] | None, client: hydra.OAuth2Client) -> None:
    """An adopted change made outside Truss moves the client counts if it changed the grant types and no walk
    has counted it yet (a walk that saw it moved them already, and updated the row)."""
    from oauth2_admin.hygiene.fleet import counts_module

    counts = counts_module()
    if counts is not None and counted is not None:
        counts.changed(tenant, counted, client)


def restore_known(
    request: HttpRequest | None, tenant: Tenant, client_id: str, *, if_match: str | None
) -> hydra.OAuth2Client:
    """Put Truss's last known version back into Hydra (audited by the client service)."""
    found = check(tenant, client_id)
    if found.known is None:
        raise NothingToAdopt("Truss has no version of this client to restore.")
    if not found.drifted:
        raise NothingToAdopt("Hydra's client matches Truss's last known version: nothing to restore.")
    label = f"Truss's last known version ({found.known.number})"
    return history.restore(request, tenant, client_id, found.known.state, if_match=if_match, label=label)


@dataclass(frozen=True)
class SweepResult:
    tenant: Tenant
    client_id: str
    name: str
    fields: list[str]
    recorded: bool


def detect(tenant: Tenant, page: Sequence[hydra.OAuth2Client], *, record: bool = True) -> list[SweepResult]:
    """The drifted clients of one page of the tenant's listing, against their last known versions: two audit
    queries for the page's clients only, so a walk over the fleet holds one page. Records one
    `oauth2.client.drift_detected` event per drifted client unless the same drift is already the client's
    latest one: a page handled again (a walk resumed after it was stopped) records nothing twice."""
    ids = [c.client_id for c in page]
    known = history.latest_by_client(tenant, ids)
    already: dict[str, Any] = {}
    if record and ids:
        for target, after in (
            AuditEvent.objects.filter(tenant=tenant, action=DETECTED, target__in=ids)
            .order_by("id")
            .values_list("target", "after")
        ):
            already[target] = after
    out = []
    for client in page:
        found = compare(client, known.get(client.client_id))
        if not found.drifted:
            continue
        fields = [c.field for c in found.changes]
        summary = {"fields": fields, "hydra_updated_at": clients.public_view(client).get("updated_at")}
        recorded = False
        if record and already.get(client.client_id) != summary:
            audit.record(
                None,
                DETECTED,
                tenant=tenant,
                target=client.client_id,
                after=summary,
                detail=f"changed outside Truss: {', '.join(fields)}",
            )
            recorded = True
        out.append(SweepResult(tenant, client.client_id, client.client_name or "", fields, recorded))
    return out


def sweep(
    tenant: Tenant, *, record: bool = True, listed: Iterable[hydra.OAuth2Client] | None = None
) -> list[SweepResult]:
    """Every client of the tenant (streamed from Hydra page by page, or `listed`) against its last known
    version; the drifted ones (see detect). The findings snapshot and client counts are not touched: the
    resumable walk that does all of it is hygiene.fleet (`manage.py sweep_drift`)."""
    out: list[SweepResult] = []
    if listed is None:
        for page in hydra.iter_clients(owner=tenant.hydra_owner):
            out += detect(tenant, page.items, record=record)
        return out
    batch: list[hydra.OAuth2Client] = []
    for client in listed:
        batch.append(client)
        if len(batch) == hydra.FLEET_PAGE:
            out += detect(tenant, batch, record=record)
            batch = []
    return out + detect(tenant, batch, record=record)
