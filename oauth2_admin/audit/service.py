"""What the audit log page shows for each event: names for actors and targets, and a field-by-field diff.

Names are resolved per page, never per row: one database query for API keys, at most one Hydra call for the
tenant's clients (only when the page shows a target that may be a client) and the one batched resolver of
truss/names.py for people (the email of an identity with a consent in the tenant: one Kratos call). Without
Hydra, client targets of client actions are still linked, just without their names."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse

from truss import names
from truss.audit import actions
from truss.models import ApiKey, AuditEvent, Tenant

CLIENT_ACTION_PREFIX = "oauth2.client."
# Actions whose target is always a person (a Kratos identity id): named as a person or left as an id, never
# looked up in Hydra as a client (a GET each that can only answer "no such client").
PERSON_TARGET_ACTIONS = frozenset({actions.Action.CONSENT_REVOKE, actions.Action.LOGOUT_SUBJECT})


@dataclass(frozen=True)
class Ref:
    """An actor or target as people recognise it: a label, the raw id (title) and a link when there is a page."""

    label: str
    raw: str
    url: str = ""
    kind: str = ""


@dataclass(frozen=True)
class DiffRow:
    key: str
    change: str  # "added", "removed" or "changed"
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Outcome:
    """How the log shows an event's outcome: a word (the badge), a CSS class and a sentence that explains it."""

    label: str
    css: str
    explanation: str


# A failure's detail, as the code that records failures writes it: a form's errors (``* field``), the fields of
# an InputError (a dict, Python's repr or JSON), the API's "invalid request: [...]" refusals, the body parser's
# messages, or the text of a Hydra/Kratos error ("Hydra: unavailable (503): …").
_INPUT_DETAIL = re.compile(
    r"""^(\*\s|\{\s*['"]|invalid\s|the request (body|is invalid)|the json text\s|send the request body\s"""
    r"""|expected a json|this operation takes no request body|too many wrong)""",
    re.IGNORECASE | re.DOTALL,
)
_UPSTREAM_DETAIL = re.compile(
    r"^(Hydra|Kratos|Ory): (?P<summary>[a-z ]+?)(?: \((?P<status>\d{3})\))?(?::|$| –)"
)
# Statuses with which Hydra or Kratos turned the input itself down: nothing changed, the request was at fault.
_UPSTREAM_REFUSALS = frozenset({400, 404, 409, 410, 422})


def outcome_of(event: AuditEvent) -> Outcome:
    """The one reading of an event's outcome for display: a refusal of bad input (nothing changed, the request
    was at fault) apart from a real failure (Hydra or Kratos unavailable or in error, or an unexpected error).

    Events carry no marker of their own, so the kind is derived from the detail the recording code writes."""
    if event.outcome == AuditEvent.Outcome.SUCCESS:
        return Outcome("success", "success", "")
    if event.outcome == AuditEvent.Outcome.DENIED:
        return Outcome("denied", "denied", "Not allowed for this actor's role; nothing was changed.")
    detail = event.detail.strip()
    upstream = _UPSTREAM_DETAIL.match(detail)
    if upstream:
        service = upstream.group(1)
        status = int(upstream.group("status") or 0)
        if status in _UPSTREAM_REFUSALS:
            return Outcome("refused", "refused", f"{service} refused the input; nothing was changed.")
        return Outcome("failed", "failure", f"{service} failed ({upstream.group('summary')}).")
    if detail and _INPUT_DETAIL.match(detail):
        return Outcome("refused", "refused", "Invalid input: refused, nothing was changed.")
    return Outcome("failed", "failure", "The change failed.")


def shown_detail(detail: str) -> str:
    """The detail as text: a refused form's messages were stored as Django renders them for HTML (``'`` as
    ``&#x27;``); the page escapes what it shows, so entities are read back into characters first."""
    return html.unescape(detail)


@dataclass
class Row:
    event: AuditEvent
    action: str  # the action's label (truss/audit/actions.py)
    actor: Ref
    target: Ref | None
    outcome: Outcome = field(default_factory=lambda: Outcome("", "", ""))
    diff: list[DiffRow] = field(default_factory=list)
    detail: str = ""
    before_json: str = ""
    after_json: str = ""


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def diff(before: Any, after: Any) -> list[DiffRow]:
    """Top-level keys that differ between two JSON objects (nested values compared whole)."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    rows = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            rows.append(DiffRow(key, "added", after=pretty(after[key])))
        elif key not in after:
            rows.append(DiffRow(key, "removed", before=pretty(before[key])))
        elif before[key] != after[key]:
            rows.append(DiffRow(key, "changed", pretty(before[key]), pretty(after[key])))
    return rows


def short(value: str, keep: int = 8) -> str:
    return value if len(value) <= keep + 1 else f"{value[:keep]}…"


def rows_for(events: list[AuditEvent], tenant: Tenant, *, can_see_keys: bool) -> list[Row]:
    prefixes = {e.actor.removeprefix("apikey:") for e in events if e.actor.startswith("apikey:")}
    prefixes |= {e.target for e in events if e.action.startswith("apikey.") and e.target}
    keys = (
        dict(ApiKey.objects.filter(tenant=tenant, prefix__in=prefixes).values_list("prefix", "name"))
        if prefixes
        else {}
    )
    # Any target but an API key's may be a client (a client action's, a bridge step's, a bulk revocation's) or
    # a person (a consent's subject, an identity:… target).
    others = {e.target for e in events if e.target and not e.action.startswith("apikey.")}
    people = names.resolve(
        tenant, actors=[e.actor for e in events if e.actor.startswith(names.IDENTITY)], subjects=others
    )
    # Clients by id, only those on the page: a client action's target first, then what may be a client (not a
    # person found, nor the target of a person's action).
    client_targets = {e.target for e in events if e.target and e.action.startswith(CLIENT_ACTION_PREFIX)}
    maybe = {e.target for e in events if e.target in others and e.action not in PERSON_TARGET_ACTIONS}
    clients, gone = names.client_lookup(
        tenant, [*sorted(client_targets), *sorted(maybe - client_targets - set(people.found))]
    )
    keys_url = reverse("console:apikeys:list") if can_see_keys else ""

    def person_ref(value: str) -> Ref | None:
        name = people.found.get(value)
        return Ref(name.label, value, name.url, "identity") if name else None

    def key_ref(prefix: str, raw: str) -> Ref:
        name = keys.get(prefix)
        label = f"API key “{name}”" if name else f"API key {prefix}…"
        return Ref(label, raw, keys_url, "apikey")

    def actor(value: str) -> Ref:
        kind, _, ident = value.partition(":")
        if kind == "user" and ident:
            return Ref(ident, value, kind="user")
        if kind == "apikey" and ident:
            return key_ref(ident, value)
        if kind == "identity" and ident:
            return person_ref(value) or Ref(f"identity {short(ident)}", value, kind="identity")
        return Ref(value, value)

    def target(event: AuditEvent) -> Ref | None:
        value = event.target
        if not value:
            return None
        if event.action.startswith(CLIENT_ACTION_PREFIX):
            url = reverse("console:clients:detail", args=[value])
            if value in clients:
                return Ref(clients[value], value, url, "client")
            if value in gone:  # Hydra has no such client of the tenant any more: deleted
                return Ref(f"client {short(value)} (deleted)", value, kind="client")
            return Ref(f"client {short(value)}", value, url, "client")
        if event.action.startswith("apikey."):
            return key_ref(value, value)
        if value in clients:
            return Ref(clients[value], value, reverse("console:clients:detail", args=[value]), "client")
        if named := person_ref(value):
            return named
        if value.startswith("identity:"):
            return Ref(f"identity {short(value.removeprefix('identity:'))}", value, kind="identity")
        return Ref(value, value)

    return [
        Row(
            event=e,
            action=actions.label(e.action),
            actor=actor(e.actor),
            target=target(e),
            outcome=outcome_of(e),
            detail=shown_detail(e.detail),
            diff=diff(e.before, e.after),
            before_json=pretty(e.before) if e.before is not None else "",
            after_json=pretty(e.after) if e.after is not None else "",
        )
        for e in events
    ]
