"""Read models for the console and the API, shared so both answer the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.utils import timezone

from oauth2_admin.clients import counts
from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import TenantScopeCount
from oauth2_admin.devtools import flows
from oauth2_admin.keys.models import Rotation
from oauth2_admin.scopes import catalogue
from truss import caching, metrics, names
from truss.audit import actions as audit_actions
from truss.audit import rollup, stream
from truss.management.commands.seed_demo import DEMO_CLIENT_NAME
from truss.models import AuditEvent, Tenant
from truss.ory import hydra, kratos


@dataclass(frozen=True)
class ServiceHealth:
    name: str
    ready: bool
    version: str | None
    url: str


def health() -> list[ServiceHealth]:
    """Readiness and version of Hydra and Kratos; never raises (an outage is a state, not an error)."""
    from django.conf import settings

    out = []
    for name, module, url in (
        ("Hydra", hydra, settings.HYDRA_ADMIN_URL),
        ("Kratos", kratos, settings.KRATOS_ADMIN_URL),
    ):
        ready = module.is_ready()
        version: str | None = None
        if ready:
            try:
                version = module.get_version()
            except (hydra.HydraError, kratos.KratosError):
                version = None
        out.append(ServiceHealth(name=name, ready=ready, version=version, url=url))
    return out


# --- Dashboard ---------------------------------------------------------------------------------------------

DAYS = 14
# The chart's series, from the bridge steps /metrics counts (truss.metrics.bridge_step, one classification for
# both): (kind, outcome) -> series. A skipped step (remembered login or consent) counts as given here: the grouped
# query reads no detail, and skipped is a kind of given.
ACTIVITY_SERIES: dict[tuple[str, str], str] = {
    ("login", "accepted"): "sign-ins",
    ("login", "skipped"): "sign-ins",
    ("consent", "accepted"): "consents given",
    ("consent", "skipped"): "consents given",
    ("consent", "denied"): "consents refused",
}
SERIES_LABELS = ("sign-ins", "consents given", "consents refused")


DEMO_TENANT = "demo"  # the tenant `manage.py seed_demo` creates, with the demo client


@dataclass(frozen=True)
class ClientStats:
    """The tenant's clients as counted (oauth2_admin.clients.counts), never by listing them on a page view."""

    total: int
    by_grant: list[tuple[str, int]]
    counted_at: datetime | None  # the last full count from Hydra (the sweep's, or the first one)
    updated_at: datetime | None  # the last change Truss counted since
    counting: bool = False  # a first count is under way in another request: no numbers yet
    demo_client_id: str = ""  # the `seed_demo` client, when the flow tester can sign in with it


def is_demo_client(client: hydra.OAuth2Client) -> bool:
    """The client `manage.py seed_demo` creates, ready for a sign-in through the flow tester: its name, the
    code grant and the flow tester's callback among its redirect URIs."""
    return (
        client.client_name == DEMO_CLIENT_NAME
        and "authorization_code" in client.grant_types
        and flows.callback_url() in client.redirect_uris
    )


def demo_client_id(tenant: Tenant) -> str:
    """The demo client's id, or "": looked for only in the tenant `manage.py seed_demo` creates (DEMO_TENANT), by
    one Hydra list filtered by owner and exact name through the shared cache (forgotten on Truss's client
    writes). Any other tenant has no demo client to look for, and that list costs Hydra as much as its whole
    fleet is large (it filters every client's row), on every view of the overview without a shared cache."""
    if tenant.slug != DEMO_TENANT:
        return ""

    def load() -> tuple[str] | None:
        try:
            page = hydra.list_clients(owner=tenant.hydra_owner, client_name=DEMO_CLIENT_NAME, page_size=5)
        except hydra.HydraError:
            return None  # unavailable: no button, nothing cached
        return (next((c.client_id for c in page.items if is_demo_client(c)), ""),)

    found = caching.through_cache(caching.demo_client_key(tenant.pk), load, caching.DEMO_CLIENT_TTL)
    return found[0] if found else ""


def client_stats(tenant: Tenant, *, with_demo: bool = False) -> ClientStats | None:
    """How many clients the tenant has, per grant type, from its stored counts; a tenant never counted is
    counted from Hydra once (page by page) and stored. None while Hydra is unavailable for that first count (a
    card state). ``with_demo``: also look for the demo client (for operators who can start a flow)."""
    row = counts.read(tenant)
    if row is None:
        try:
            row = counts.first_count(tenant)
        except counts.Counting:
            return ClientStats(total=0, by_grant=[], counted_at=None, updated_at=None, counting=True)
        except hydra.HydraError:
            return None
    by_grant = sorted(
        ((str(g), int(n)) for g, n in (row.by_grant or {}).items()), key=lambda i: (-i[1], i[0])
    )
    return ClientStats(
        total=row.total,
        by_grant=by_grant,
        counted_at=row.reconciled_at,
        updated_at=row.updated_at,
        demo_client_id=demo_client_id(tenant) if with_demo else "",
    )


@dataclass(frozen=True)
class ScopeGrant:
    scope: str
    title: str  # the catalogue's title where the tenant describes the scope; "" for a standard or unknown one
    grants: int  # active consents (a person with a client) that include the scope


@dataclass(frozen=True)
class ScopeGrants:
    consents: int  # active consents: people per client, summed over the tenant's clients
    scopes: list[ScopeGrant]  # most granted first, at most MAX_SCOPES
    more: int  # scopes left out


MAX_SCOPES = 20


def scope_grants(tenant: Tenant) -> ScopeGrants:
    """Active consents per scope from the consent ledger's tenant counters (TenantScopeCount: the client counters
    summed, one row per scope, ``scope == ""`` the active consents), whatever the number of clients; titled from
    the tenant's catalogue."""
    rows = TenantScopeCount.objects.filter(tenant=tenant, people__gt=0).values_list("scope", "people")
    consents, scopes = 0, []
    for scope, n in rows:
        if scope == ledger.PEOPLE:
            consents = int(n)
        else:
            scopes.append((str(scope), int(n)))
    scopes.sort(key=lambda item: (-item[1], item[0]))
    entries = catalogue.for_tenant(tenant) if scopes else {}
    out = []
    for name, n in scopes[:MAX_SCOPES]:
        entry = entries.get(name)
        title = catalogue.text(entry.scope, "en")[0] if entry and entry.scope else ""
        out.append(ScopeGrant(scope=name, title=title, grants=n))
    return ScopeGrants(consents=consents, scopes=out, more=max(len(scopes) - MAX_SCOPES, 0))


def activity(tenant: Tenant, today: date | None = None) -> dict[str, Any]:
    """Sign-ins and consent decisions per day (UTC) over the last DAYS days, from the audit log's daily rollup
    (truss/audit/rollup.py: at most DAYS × actions × outcomes rows, whatever the traffic), classified as
    /metrics classifies them (``truss_bridge_steps``): sign-ins are login steps accepted or skipped, consents
    given are consent steps accepted or skipped, consents refused are consent steps denied; ``failed`` counts
    every step that failed (any kind), ``denied`` the login, device and logout steps denied."""
    today = today or timezone.now().astimezone(UTC).date()
    start = today - timedelta(days=DAYS - 1)
    series = {label: {start + timedelta(days=i): 0 for i in range(DAYS)} for label in SERIES_LABELS}
    failed = denied = 0
    for day, action, outcome, n in rollup.daily(tenant, start, prefix="bridge."):  # bridge_step picks
        step = metrics.bridge_step(action, outcome)
        if step is None:
            continue
        label = ACTIVITY_SERIES.get(step)
        if label is not None:
            if day in series[label]:
                series[label][day] += n
        elif step[1] == "failed":
            failed += n
        elif step[1] == "denied":
            denied += n
    days = [start + timedelta(days=i) for i in range(DAYS)]
    table = [{"day": d, "values": [series[label][d] for label in series]} for d in days]
    ticks = [{"x": 40 + i * 44, "day": d} for i, d in enumerate(days) if i % 2 == 0]
    peak = max([1] + [v for s in series.values() for v in s.values()])
    bars = []
    for i, d in enumerate(days):
        for j, label in enumerate(series):
            value = series[label][d]
            height = round(100 * value / peak)
            bars.append(
                {
                    "x": 40 + i * 44 + j * 12,
                    "y": 110 - height,
                    "h": height,
                    "value": value,
                    "label": label,
                    "kind": j,
                    "day": d,
                }
            )
    totals = {label: sum(s.values()) for label, s in series.items()}
    return {
        "days": days,
        "labels": list(series),
        "table": table,
        "bars": bars,
        "totals": totals,
        "failed": failed,
        "denied": denied,
        "ticks": ticks,
        "width": 40 + DAYS * 44,
    }


@dataclass(frozen=True)
class SigningKeyStatus:
    """One signing set on the dashboard: the key Hydra signs with, its age, and any staged rotation."""

    set_id: str
    purpose: str
    exists: bool
    kid: str
    alg: str
    created_at: datetime | None  # None: the key predates Truss (Hydra's JWK carries no date)
    rotation: Rotation | None
    next_step: str


def key_status() -> list[SigningKeyStatus] | None:
    """The ID-token and JWT access-token signing keys: signer, age (KeyRecord) and the open rotation's stage and
    next step; None while Hydra is unavailable (a card state). Keys are global in Hydra, not per tenant."""
    from oauth2_admin.keys import service as keys

    out = []
    try:
        for set_id, purpose in keys.SIGNING_SETS.items():
            view = keys.key_set(set_id)
            signer = view.signer
            rotation = keys.open_rotation(set_id)
            out.append(
                SigningKeyStatus(
                    set_id=set_id,
                    purpose=purpose,
                    exists=view.exists and signer is not None,
                    kid=signer.kid if signer else "",
                    alg=signer.alg if signer else "",
                    created_at=signer.created_at if signer else None,
                    rotation=rotation,
                    next_step=keys.next_step(rotation) if rotation else "",
                )
            )
    except hydra.HydraError:
        return None
    return out


@dataclass(frozen=True)
class AuditDelivery:
    """The audit outbox and each configured sink, as /metrics reads them (truss.audit.stream: one source)."""

    outbox: stream.OutboxState
    sinks: list[stream.SinkState]


def audit_delivery() -> AuditDelivery:
    return AuditDelivery(outbox=stream.outbox_state(), sinks=stream.status())


@dataclass(frozen=True)
class RecentEvent:
    event: AuditEvent
    label: str  # the action's label (truss/audit/actions.py)
    actor: names.Name
    target: names.Name


def recent_events(tenant: Tenant, n: int = 8) -> list[RecentEvent]:
    """The tenant's latest audit events, actors and targets named (one batched resolver for the card)."""
    events = list(AuditEvent.objects.filter(tenant=tenant).order_by("-id")[:n])
    targets = [e.target for e in events if e.target]
    found = names.resolve(tenant, actors=[e.actor for e in events], subjects=targets, clients=targets)
    return [
        RecentEvent(e, audit_actions.label(e.action), found.of(e.actor), found.of(e.target)) for e in events
    ]
