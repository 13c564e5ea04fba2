"""Names people recognise for the raw identifiers the console shows: a Kratos identity as its email, a client
id as the client's name, an actor as the operator or "API key truss_sk_AbCd…".

One resolver per page, batched: the page collects every identifier it will show, then `resolve` makes at most
one Kratos list call (``ids=``) and one query per table, never one call per row. Clients are looked up by id,
only those on the page (at most MAX_CLIENTS), through the shared cache (``caching.client_name_key``, forgotten
when Truss writes the client): the tenant's fleet is never listed to name a page, so a page costs the same with
ten clients or a hundred thousand. Tenant isolation holds: a client is named only when it is the tenant's, and a person only when
they have a consent with one of the tenant's clients (Kratos identities are shared by every tenant); anything
else keeps its raw, shortened id.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import escape

from django.urls import reverse
from django.utils.safestring import mark_safe

from truss import caching
from truss.models import ApiKey, Tenant
from truss.ory import hydra, kratos

IDENTITY = "identity:"
USER = "user:"
APIKEY = "apikey:"
MAX_IDS = 250  # one Kratos page
MAX_CLIENTS = 50  # client ids one page names at most (a Hydra GET each, unless cached)
LOOKUPS_AT_ONCE = 8  # of those GETs in flight at the same time


@dataclass(frozen=True)
class Name:
    """A display name for ``raw``: a link when there is a page for it, the raw id in the tooltip."""

    raw: str
    label: str
    url: str = ""
    kind: str = ""

    def __html__(self) -> str:
        label, raw = escape(self.label), escape(self.raw)
        if self.url:
            return f'<a href="{escape(self.url)}" title="{raw}" data-id="{raw}">{label}</a>'
        return f'<span title="{raw}" data-id="{raw}">{label}</span>'

    def __str__(self) -> str:
        """Templates render ``str(value)``: the escaped link (every value escaped above)."""
        return mark_safe(self.__html__())  # noqa: S308 - built from escaped values only


def short(value: str) -> str:
    return value if len(value) <= 12 else value[:8] + "…"


@dataclass
class Names:
    """What `resolve` found; `of` answers for any identifier, resolved or not."""

    found: dict[str, Name]

    def of(self, raw: str) -> Name:
        return self.found.get(raw) or _fallback(raw)


def _fallback(raw: str) -> Name:
    kind, _, ident = raw.partition(":")
    if kind == "identity" and ident:
        return Name(raw, f"identity {short(ident)}", kind="identity")
    if kind == "user" and ident:
        return Name(raw, ident, kind="operator")
    if kind == "apikey" and ident:
        return Name(raw, f"API key {ident}…", kind="apikey")
    return Name(raw, raw)


def _subject(raw: str) -> str:
    return raw.removeprefix(IDENTITY)


def _identities(tenant: Tenant, raws: set[str], known: set[str]) -> dict[str, Name]:
    """``known``: subjects of ``raws`` the caller read from the tenant's ledger (visible without asking again)."""
    from oauth2_admin.consents.models import LedgerEntry

    subjects = {_subject(r) for r in raws} - known
    visible = known | set(
        LedgerEntry.objects.filter(tenant=tenant, subject__in=subjects).values_list("subject", flat=True)
        if subjects
        else ()
    )
    ids = sorted(visible)[:MAX_IDS]
    if not ids:
        return {}
    try:
        people = kratos.list_identities(ids=ids, page_size=len(ids)).items
    except (kratos.KratosError, hydra.HydraError):
        return {}
    emails = {p.id: str(p.traits.get("email") or "") for p in people}
    out = {}
    for raw in raws:
        email = emails.get(_subject(raw))
        if email:
            url = reverse("console:consents:person", args=[_subject(raw)])
            out[raw] = Name(raw, email, url, "identity")
    return out


def client_names(tenant: Tenant, client_ids: Iterable[str]) -> dict[str, str]:
    """The names of those of ``client_ids`` that are the tenant's clients (id -> name, the shortened id for a
    client without one); the others are left out. One Hydra GET per id not in the cache, at most MAX_CLIENTS
    ids (the first in sorted order), LOOKUPS_AT_ONCE at a time; no more once Hydra is found unavailable."""
    return client_lookup(tenant, sorted(set(client_ids)))[0]


def client_lookup(tenant: Tenant, client_ids: Iterable[str]) -> tuple[dict[str, str], set[str]]:
    """``client_names``, and the ids Hydra answered for that are not the tenant's clients (deleted, or never
    its own). The first MAX_CLIENTS ids in the order given are looked up; an id not looked up (past those, or
    Hydra unavailable) is in neither."""
    ids = list(dict.fromkeys(c for c in client_ids if c and len(c) <= 255))[:MAX_CLIENTS]
    found = caching.through_cache_many(
        {i: caching.client_name_key(i) for i in ids}, _load_clients, caching.CLIENT_NAME_TTL
    )
    mine = {i: name for i, (owner, name) in found.items() if owner and owner == tenant.hydra_owner}
    return mine, set(found) - set(mine)


# The page's client GETs overlap (a page costs about its slowest GET, not their sum). HTTP only: nothing on these
# threads touches the database. Each pool thread has its own pooled session (truss.ory.http).
_pool = ThreadPoolExecutor(max_workers=LOOKUPS_AT_ONCE, thread_name_prefix="truss-names")


def _load_client(client_id: str, unavailable: threading.Event) -> tuple[str, str] | None:
    """(owner, name) of one client, ("", "") when Hydra does not have it; None once Hydra is unavailable."""
    if unavailable.is_set():
        return None
    try:
        client = hydra.get_client(client_id)
    except hydra.HydraNotFound:
        return ("", "")
    except hydra.HydraError:
        unavailable.set()  # the GETs not sent yet are not sent
        return None
    return (client.owner or "", client.client_name or short(client.client_id))


def _load_clients(ids: list[str]) -> dict[str, tuple[str, str]]:
    """(owner, name) of each client, ("", "") for one Hydra does not have, LOOKUPS_AT_ONCE GETs at a time (with
    this request's context: Server-Timing counts them); ids not answered because Hydra was found unavailable
    are left out (they keep their raw ids, nothing is cached for them)."""
    unavailable = threading.Event()
    if len(ids) <= 1:
        found = [_load_client(i, unavailable) for i in ids]
    else:
        futures = [_pool.submit(contextvars.copy_context().run, _load_client, i, unavailable) for i in ids]
        found = [f.result() for f in futures]
    return {i: value for i, value in zip(ids, found, strict=True) if value is not None}


def _clients(tenant: Tenant, raws: set[str]) -> dict[str, Name]:
    names = client_names(tenant, raws)
    return {
        raw: Name(raw, names[raw], reverse("console:clients:detail", args=[raw]), "client")
        for raw in raws
        if raw in names
    }


def _keys(tenant: Tenant, raws: set[str]) -> dict[str, Name]:
    prefixes = {r.removeprefix(APIKEY) for r in raws}
    keys = {k.prefix: k.name for k in ApiKey.objects.filter(tenant=tenant, prefix__in=prefixes)}
    url = reverse("console:apikeys:list")
    out = {}
    for raw in raws:
        prefix = raw.removeprefix(APIKEY)
        if prefix in keys:
            named = f" ({keys[prefix]})" if keys[prefix] else ""
            out[raw] = Name(raw, f"API key {prefix}…{named}", url, "apikey")
    return out


def resolve(
    tenant: Tenant,
    *,
    actors: Iterable[str] = (),
    subjects: Iterable[str] = (),
    clients: Iterable[str] = (),
    ledger_subjects: Iterable[str] = (),
) -> Names:
    """Every identifier of a page in one go. ``actors`` are audit actors (``user:…``, ``apikey:…``,
    ``identity:…``, ``system``), ``subjects`` Kratos identity ids (bare or ``identity:``), ``clients`` client
    ids. ``ledger_subjects``: subjects the page read from the tenant's consent ledger rows, so they have a
    consent with one of its clients already (not looked up in the ledger again: a person has a row per client)."""
    actor_set = set(actors)
    known = set(ledger_subjects)
    identity_raws = {a for a in actor_set if a.startswith(IDENTITY)} | set(subjects) | known
    found: dict[str, Name] = {}
    if identity_raws:
        found.update(_identities(tenant, identity_raws, known))
    client_raws = set(clients)
    if client_raws:
        found.update(_clients(tenant, client_raws))
    key_raws = {a for a in actor_set if a.startswith(APIKEY)}
    if key_raws:
        found.update(_keys(tenant, key_raws))
    return Names(found)
