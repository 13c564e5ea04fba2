"""Client versions, read from the audit log: every successful `oauth2.client.*` change of a client is a version.

Version 1 is the create's `after` (or, for a client Truss did not create, the `before` of the first change Truss
saw, authored "outside Truss"); each later version is the change's `after`. A secret rotation stores no client
(its `after` holds only a redacted secret), so its version is the previous one with the new `updated_at` and the
change "client_secret: rotated". One request that writes twice (a restore: the merge update, then the lifespans)
is one version. Secrets are never in a version: the audit log keeps the client's public view only, with every
secret-named member (metadata's `webhook_secret`, `api_token`, …) replaced by "[redacted]"; comparisons redact
the other side the same way.

Restore applies a version through the client service (`update_for`, then `set_token_config` for the lifespans),
so it is an ordinary audited change and becomes the newest version. A redacted member takes the current client's
value; one the current client lacks refuses the restore (the placeholder is never written).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.http import HttpRequest

from oauth2_admin.clients import service as clients
from truss.audit import Action
from truss.models import AuditEvent, Tenant
from truss.ory import hydra
from truss.redaction import REDACTED, redact

ROTATE = Action.CLIENT_ROTATE_SECRET
ADOPT = Action.CLIENT_DRIFT_ADOPT
VERSION_ACTIONS = (
    Action.CLIENT_CREATE,
    Action.CLIENT_UPDATE,
    Action.CLIENT_PATCH,
    Action.CLIENT_TOKEN_CONFIG,
    ROTATE,
    ADOPT,
)
# Set by Hydra, not by whoever changes the client: never part of a comparison.
SERVER_FIELDS = frozenset(
    {
        "updated_at",
        "created_at",
        "registration_access_token",
        "registration_client_uri",
        "client_secret_expires_at",
    }
)
SECRET_ROTATED = "rotated"


@dataclass
class Version:
    number: int
    action: str
    actor: str
    at: datetime
    state: dict[str, Any]
    changes: list[Change] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)

    @property
    def source(self) -> str:
        return self.action.rsplit(".", 1)[-1]  # the last word of a client action: "update"


@dataclass(frozen=True)
class Change:
    field: str
    kind: str  # "added", "removed", "changed" or "rotated"
    before: Any = None
    after: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "change": self.kind, "before": self.before, "after": self.after}


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """The fields a person changes, redacted as the audit log keeps them (so a version and Hydra's client compare
    like with like): server-managed ones and empty values dropped (Hydra answers [] and {} for unset lists and
    maps, `jwks: {}` included, and a missing field means the same)."""
    empty: tuple[Any, ...] = (None, "", [], {}, {"keys": []})
    return {k: v for k, v in redact(state).items() if k not in SERVER_FIELDS and v not in empty}


def diff(before: dict[str, Any], after: dict[str, Any], *, rotated: bool = False) -> list[Change]:
    a, b = comparable(before), comparable(after)
    out = []
    for key in sorted(set(a) | set(b)):
        if key not in a:
            out.append(Change(key, "added", after=b[key]))
        elif key not in b:
            out.append(Change(key, "removed", before=a[key]))
        elif a[key] != b[key] and REDACTED not in (a[key], b[key]):
            out.append(Change(key, "changed", a[key], b[key]))
    if rotated:
        out.append(Change("client_secret", "rotated", before=SECRET_ROTATED, after=SECRET_ROTATED))
    return out


def _events(tenant: Tenant, client_ids: Iterable[str] | None) -> list[AuditEvent]:
    events = AuditEvent.objects.filter(
        tenant=tenant, outcome=AuditEvent.Outcome.SUCCESS, action__in=VERSION_ACTIONS
    ).only("id", "action", "actor", "target", "created_at", "before", "after", "request_id")
    if client_ids is not None:
        events = events.filter(target__in=list(client_ids))
    return list(events.order_by("id"))


def _build(events: list[AuditEvent]) -> list[Version]:
    versions: list[Version] = []
    previous_request = ""
    for event in events:
        state: dict[str, Any] | None
        if event.action == ROTATE:
            base = versions[-1].state if versions else (event.before or {})
            state = {**base, **({"updated_at": event.after.get("updated_at")} if event.after else {})}
        else:
            state = event.after if isinstance(event.after, dict) else None
        if state is None:
            continue
        if not versions and event.action != Action.CLIENT_CREATE and isinstance(event.before, dict):
            versions.append(Version(1, "outside", "outside Truss", event.created_at, event.before, []))
        same_request = (
            versions
            and event.request_id
            and event.request_id == previous_request
            and versions[-1].actor == event.actor
            and event.action == Action.CLIENT_TOKEN_CONFIG
        )
        previous_request = event.request_id
        rotated = event.action == ROTATE
        if same_request:  # the second write of one request (restore: update, then lifespans)
            current = versions[-1]
            start = versions[-2].state if len(versions) > 1 else {}
            current.state, current.at = state, event.created_at
            current.changes = diff(start, state, rotated=any(c.kind == "rotated" for c in current.changes))
            current.event_ids.append(event.id)
            continue
        before = versions[-1].state if versions else {}
        changes = diff(before, state, rotated=rotated) if versions else []
        versions.append(
            Version(
                len(versions) + 1, event.action, event.actor, event.created_at, state, changes, [event.id]
            )
        )
    return versions


def versions_for(tenant: Tenant, client_id: str) -> list[Version]:
    """The client's versions, oldest first (numbers start at 1)."""
    return _build(_events(tenant, [client_id]))


def latest_by_client(tenant: Tenant, client_ids: Iterable[str] | None = None) -> dict[str, Version]:
    """The newest version of each client: one audit query for the whole tenant (the drift sweep)."""
    grouped: dict[str, list[AuditEvent]] = {}
    for event in _events(tenant, client_ids):
        grouped.setdefault(event.target, []).append(event)
    out = {}
    for target, events in grouped.items():
        built = _build(events)
        if built:
            out[target] = built[-1]
    return out


class NoSuchVersion(Exception):
    pass


def version(versions: list[Version], number: int) -> Version:
    if not 1 <= number <= len(versions):
        raise NoSuchVersion(f"Version {number} does not exist; this client has {len(versions)}.")
    return versions[number - 1]


def diff_between(versions: list[Version], a: int, b: int) -> list[Change]:
    """What changed from version a to version b (either order); a rotation in between shows as "rotated"."""
    first, second = version(versions, a), version(versions, b)
    low, high = sorted((a, b))
    rotated = any(v.action == ROTATE for v in versions[low:high])
    return diff(first.state, second.state, rotated=rotated)


def _writable(state: dict[str, Any]) -> dict[str, Any]:
    """A version as ClientIn-shaped changes: every writable field, cleared where the version did not have it."""
    target = clients.editable(hydra.OAuth2Client.model_validate({"client_id": "x", **state}))
    out = {}
    for name, info in clients.ClientIn.model_fields.items():
        out[name] = target[name] if name in target else info.get_default(call_default_factory=True)
    if "response_types" not in target:
        out["response_types"] = None
    return out


def lifespans_of(state: dict[str, Any]) -> dict[str, int | None]:
    """Every lifespan the running Hydra has, as the version had it: one the version lacks (e.g. a device
    lifespan set after it, on Hydra >= v25.4) is cleared by a restore, not left behind."""
    client = hydra.OAuth2Client.model_validate({"client_id": "x", **state})
    seconds = clients.lifespans_in_seconds(client)
    return {name: seconds.get(name) for name in clients.lifespan_fields()}


class SecretNotKept(clients.ClientInputError):
    """A version's redacted secret has no current value to keep: restoring it would write the placeholder."""

    default_message = "This version cannot be restored: a secret it held was never stored."


def _secret_named(key: str) -> bool:
    return bool(redact({key: "x"})[key] == REDACTED)


def _keep_secrets(wanted: Any, current: Any, path: str, missing: list[str]) -> Any:
    """`wanted` with each redacted secret-named member replaced by the current value at the same path; paths
    with no current value are added to `missing`."""
    if isinstance(wanted, dict):
        now = current if isinstance(current, dict) else {}
        out = {}
        for key, value in wanted.items():
            where = f"{path}.{key}" if path else str(key)
            if value == REDACTED and _secret_named(str(key)):
                if now.get(key) in (None, "", REDACTED):
                    missing.append(where)
                out[key] = now.get(key)
            else:
                out[key] = _keep_secrets(value, now.get(key), where, missing)
        return out
    if isinstance(wanted, list):
        now_list = current if isinstance(current, list) else []
        return [
            _keep_secrets(item, now_list[i] if i < len(now_list) else None, f"{path}.{i}", missing)
            for i, item in enumerate(wanted)
        ]
    return wanted


def with_current_secrets(
    changes: dict[str, Any], current: hydra.OAuth2Client, *, label: str
) -> dict[str, Any]:
    """A version's writable fields with the current client's secrets where the audit log kept "[redacted]";
    SecretNotKept (field messages) if the current client has no value for one of them."""
    missing: list[str] = []
    kept = _keep_secrets(changes, clients.editable(current), "", missing)
    if missing:
        raise SecretNotKept(
            {
                where: [
                    f"{label} holds this secret only as {REDACTED} (secrets never enter the audit log) and the "
                    "client has no current value to keep; set it on the client first, then restore"
                ]
                for where in missing
            }
        )
    return dict(kept)


def restore(
    request: HttpRequest | None,
    tenant: Tenant,
    client_id: str,
    state: dict[str, Any],
    *,
    if_match: str | None,
    label: str = "This version",
) -> hydra.OAuth2Client:
    """Make Hydra's client equal to `state` (a version), lifespans included: a merge update of every writable
    field, then the lifespans if they differ. Redacted secrets keep the current client's values (never the
    placeholder). If-Match is required (PreconditionRequired): a restore overwrites every field. It guards the
    first write; the second follows it."""
    writable = _writable(state)
    client, _ = clients.update_for(
        request,
        tenant,
        client_id,
        lambda current: with_current_secrets(writable, current, label=label),
        if_match=if_match,
        version_required="Restoring a version",
    )
    wanted = lifespans_of(state)
    if clients.lifespans_in_seconds(client) != wanted:
        client = clients.set_token_config(
            request, tenant, client_id, {"lifespans": wanted}, if_match=clients.etag(client)
        )
    return client


def preview_restore(current: hydra.OAuth2Client, state: dict[str, Any]) -> list[Change]:
    """What restoring `state` would change on the current client (the confirmation's diff)."""
    return diff(clients.public_view(current), state)
