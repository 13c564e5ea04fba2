"""The tenant's scope catalogue: create, change and delete its own scopes (audited, validated here once for the
console and the API), the clients that use a scope, and grants per scope from the consent ledger.

Reading the catalogue (standard scopes included) is catalogue.py's job; this module writes it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation

from oauth2_admin.scopes import catalogue
from oauth2_admin.scopes.models import Scope
from truss import audit, names
from truss.audit import Action
from truss.errors import InputError
from truss.models import AuditEvent, ClaimsConfig, Tenant

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), printable ASCII without space, `"` and `\`.
NAME_PATTERN = r"^[\x21\x23-\x5B\x5D-\x7E]{1,100}$"
MAX_NAME = 100
MAX_TITLE = 100
MAX_DESCRIPTION = 300
MAX_CLAIMS = 50
TEXT_FIELDS = {
    "title_en": MAX_TITLE,
    "description_en": MAX_DESCRIPTION,
    "title_de": MAX_TITLE,
    "description_de": MAX_DESCRIPTION,
}
REQUIRED = ("title_en", "description_en")
# Text shown on the consent screen: no control characters (C0, DEL, C1) and no bidirectional overrides or
# isolates (they could make the text read differently from what it is); the English text has at least one
# character that is not a space. Stated once here, as patterns the API's schema carries too.
_BAD = r"\x00-\x1F\x7F-\x9F\u202A-\u202E\u2066-\u2069"
TEXT_PATTERN = rf"^[^{_BAD}]*[^ {_BAD}][^{_BAD}]*$"
OPTIONAL_TEXT_PATTERN = rf"^(?:[^{_BAD}]*[^ {_BAD}][^{_BAD}]*)?$"
FIELDS = ("name", *TEXT_FIELDS, "claims", "rememberable")
CLIENTS_CHECKED = 500  # one Hydra page: the clients a delete confirmation looks through


class ScopeInputError(InputError):
    default_message = "The scope is invalid."


class ScopeNotFound(Exception):
    """No scope of this name in the tenant's catalogue (another tenant's is just as unknown)."""


class ScopeConflict(InputError):
    """The tenant already has a scope of this name (a concurrent create included)."""

    default_message = "The tenant already has a scope of this name."


# --- reading ---------------------------------------------------------------------------------------------------


def as_json(scope: Scope) -> dict[str, Any]:
    return {
        "name": scope.name,
        "title_en": scope.title_en,
        "description_en": scope.description_en,
        "title_de": scope.title_de,
        "description_de": scope.description_de,
        "claims": [str(claim) for claim in scope.claims],
        "rememberable": scope.rememberable,
        "created_at": scope.created_at,
        "updated_at": scope.updated_at,
    }


def _state(scope: Scope) -> dict[str, Any]:
    """What the audit log keeps of a scope: its fields, no timestamps."""
    return {name: value for name, value in as_json(scope).items() if name in FIELDS}


def list_for(tenant: Tenant) -> list[Scope]:
    return list(Scope.objects.filter(tenant=tenant).order_by("name"))


def get_for(tenant: Tenant, name: str) -> Scope:
    scope = Scope.objects.filter(tenant=tenant, name=name).first()
    if scope is None:
        raise ScopeNotFound(name)
    return scope


def get_by_id(tenant: Tenant, scope_id: int) -> Scope:
    scope = Scope.objects.filter(tenant=tenant, pk=scope_id).first()
    if scope is None:
        raise ScopeNotFound(str(scope_id))
    return scope


def version(scope: Scope) -> str:
    """What a confirmation page saw: changes with every save."""
    return f"{scope.pk}-{scope.updated_at.timestamp():.6f}"


@dataclass(frozen=True)
class Standard:
    """A built-in OpenID Connect scope as the console shows it (read-only): the consent screen's English text."""

    name: str
    title: str
    description: str
    claims: tuple[str, ...]


def standard_scopes() -> list[Standard]:
    from bridge import scopes as screen

    out = []
    with translation.override("en"):
        for name, claims in catalogue.STANDARD_CLAIMS.items():
            text = screen.describe(name)
            out.append(Standard(name, str(text.title), str(text.description), claims))
    return out


def claim_templates(tenant: Tenant) -> list[str]:
    """The names of the tenant's claim templates (ID token and access token), sorted."""
    config = ClaimsConfig.objects.filter(tenant=tenant).first()
    if config is None:
        return []
    return sorted({str(n) for n in config.id_token_claims} | {str(n) for n in config.access_token_claims})


def releasing_scopes(tenant: Tenant) -> dict[str, list[str]]:
    """Claim template name -> the tenant's scopes that release it (none: it goes out on every sign-in)."""
    out: dict[str, list[str]] = {}
    for scope in list_for(tenant):
        for claim in scope.claims:
            out.setdefault(str(claim), []).append(scope.name)
    return out


# --- validation ------------------------------------------------------------------------------------------------


def name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not name:
        return "A scope needs a name."
    if len(name) > MAX_NAME:
        return f"At most {MAX_NAME} characters."
    if not re.fullmatch(NAME_PATTERN, name):
        return 'A scope name is printable ASCII without spaces, " or \\ (RFC 6749 §3.3).'
    if name in catalogue.STANDARD:
        return f"{name!r} is a standard OpenID Connect scope: it is built in."
    return None


def _text_problem(field: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return "Must be text."
    if field in REQUIRED and not value.strip(" "):
        return "Required."
    if len(value) > TEXT_FIELDS[field]:
        return f"At most {TEXT_FIELDS[field]} characters."
    if not re.fullmatch(TEXT_PATTERN if field in REQUIRED else OPTIONAL_TEXT_PATTERN, value):
        return "Only spaces, or control characters (line breaks, tabs, NUL, direction overrides, …)."
    return None


def _claims_problem(tenant: Tenant, value: Any, kept: frozenset[str] = frozenset()) -> str | None:
    """`kept`: claims the scope already lists, left alone even when their template is gone since."""
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        return "A list of claim template names."
    if len(value) > MAX_CLAIMS:
        return f"At most {MAX_CLAIMS} claims."
    unknown = sorted(set(value) - set(claim_templates(tenant)) - kept)
    if unknown:
        shown = ", ".join(repr(c[:64]) for c in unknown[:5])
        return f"Not one of the tenant's claim templates: {shown}. Add it on the claims page first."
    return None


def validate(tenant: Tenant, data: Mapping[str, Any], *, current: Scope | None = None) -> dict[str, Any]:
    """The scope's fields after `data` is applied to `current` (None: a new scope); ScopeInputError with a
    message per field otherwise. The name cannot change."""
    fields: dict[str, list[str]] = {}
    unknown = sorted(set(data) - set(FIELDS))
    for name in unknown:
        fields[str(name)[:100]] = ["unknown field"]
    merged: dict[str, Any] = (
        _state(current)
        if current is not None
        else {"name": "", **dict.fromkeys(TEXT_FIELDS, ""), "claims": [], "rememberable": True}
    )
    merged.update({k: v for k, v in data.items() if k in FIELDS})
    if current is not None:
        if merged["name"] != current.name:
            fields["name"] = ["A scope's name cannot change: create a new scope and delete this one."]
    elif problem := name_problem(merged["name"]):
        fields["name"] = [problem]
    for field in TEXT_FIELDS:
        if problem := _text_problem(field, merged[field]):
            fields[field] = [problem]
    kept = frozenset(str(c) for c in current.claims) if current is not None else frozenset()
    if problem := _claims_problem(tenant, merged["claims"], kept):
        fields["claims"] = [problem]
    if not isinstance(merged["rememberable"], bool):
        fields["rememberable"] = ["true or false."]
    if fields:
        raise ScopeInputError(fields)
    merged["claims"] = sorted(set(merged["claims"]))
    return merged


# --- writing ---------------------------------------------------------------------------------------------------


def _refused(
    request: HttpRequest | None,
    action: str,
    tenant: Tenant,
    target: str,
    exc: InputError,
    *,
    actor: str | None = None,
) -> None:
    detail = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in sorted(exc.fields.items()))
    audit.record(
        request,
        action,
        tenant=tenant,
        target=target[:200],
        outcome=AuditEvent.Outcome.FAILURE,
        detail=detail or exc.message,
        actor=actor,
    )


def _missing(request: HttpRequest | None, action: str, tenant: Tenant, name: str) -> NoReturn:
    """Refused: no such scope in the tenant (another tenant's is the same refusal)."""
    audit.record(
        request,
        action,
        tenant=tenant,
        target=name[:200],
        outcome=AuditEvent.Outcome.FAILURE,
        detail="no such scope in this tenant",
    )
    raise ScopeNotFound(name)


def _changed(tenant: Tenant) -> None:
    """The hygiene linter's stored findings name client scopes missing from the catalogue: re-lint them."""
    from oauth2_admin.hygiene import snapshot

    transaction.on_commit(lambda: snapshot.rescore(tenant), robust=True)


def create(
    request: HttpRequest | None, tenant: Tenant, data: Mapping[str, Any], *, actor: str | None = None
) -> Scope:
    """Add a scope to the tenant's catalogue: ScopeInputError (400) or ScopeConflict (409), audited either way
    (`actor`: who, where there is no request, e.g. a management command)."""
    target = str(data.get("name", ""))
    try:
        values = validate(tenant, data)
        with transaction.atomic():
            scope = Scope.objects.create(tenant=tenant, **values)
            after = _state(scope)
            audit.record(
                request, Action.SCOPE_CREATE, tenant=tenant, target=scope.name, after=after, actor=actor
            )
    except IntegrityError as exc:  # the unique (tenant, name) constraint: a concurrent create won
        conflict = ScopeConflict({"name": ["The tenant already has a scope of this name."]})
        _refused(request, Action.SCOPE_CREATE, tenant, target, conflict, actor=actor)
        raise conflict from exc
    except InputError as exc:
        _refused(request, Action.SCOPE_CREATE, tenant, target, exc, actor=actor)
        raise
    _changed(tenant)
    return scope


def update(request: HttpRequest | None, tenant: Tenant, name: str, data: Mapping[str, Any]) -> Scope:
    """Change the given fields of one of the tenant's scopes (ScopeNotFound for another tenant's)."""
    try:
        with transaction.atomic():
            scope = Scope.objects.select_for_update().filter(tenant=tenant, name=name).first()
            if scope is None:
                raise ScopeNotFound(name)
            before = _state(scope)
            for field, value in validate(tenant, data, current=scope).items():
                setattr(scope, field, value)
            scope.save()
            after = _state(scope)
            audit.record(request, Action.SCOPE_UPDATE, tenant=tenant, target=name, before=before, after=after)
    except ScopeNotFound:
        _missing(request, Action.SCOPE_UPDATE, tenant, name)
    except ScopeInputError as exc:
        _refused(request, Action.SCOPE_UPDATE, tenant, name, exc)
        raise
    return scope


def delete(request: HttpRequest | None, tenant: Tenant, name: str) -> Scope:
    try:
        with transaction.atomic():
            scope = Scope.objects.select_for_update().filter(tenant=tenant, name=name).first()
            if scope is None:
                raise ScopeNotFound(name)
            before = _state(scope)
            scope.delete()
            audit.record(request, Action.SCOPE_DELETE, tenant=tenant, target=name, before=before)
    except ScopeNotFound:
        _missing(request, Action.SCOPE_DELETE, tenant, name)
    _changed(tenant)
    return scope


# --- who uses a scope ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Users:
    clients: list[names.Name]
    checked: int  # how many of the tenant's clients were looked at
    complete: bool  # False: the tenant has more clients than were checked


def clients_using(tenant: Tenant, name: str) -> Users:
    """The tenant's clients whose scope lists `name`, from one Hydra page of at most CLIENTS_CHECKED clients."""
    from oauth2_admin.clients import service as clients

    page = clients.list_for(tenant, page_size=CLIENTS_CHECKED)
    found = [
        names.Name(
            c.client_id,
            c.client_name or names.short(c.client_id),
            reverse("console:clients:detail", args=[c.client_id]),
            "client",
        )
        for c in page.items
        if name in (c.scope or "").split()
    ]
    return Users(found, len(page.items), not page.next_page_token)


def titles(tenant: Tenant) -> dict[str, str]:
    """Scope name -> its English title in the tenant's catalogue (standard scopes included)."""
    out = {s.name: s.title for s in standard_scopes()}
    out.update(Scope.objects.filter(tenant=tenant).values_list("name", "title_en"))
    return out


# --- grants per scope ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeGrants:
    name: str
    title: str  # the catalogue's English title; "" for a scope not in the catalogue
    grants: int  # active consents (one per person and client) that include the scope
    standard: bool


def grants_per_scope(tenant: Tenant) -> list[ScopeGrants]:
    """Active consents per granted scope over the tenant's clients (the consent ledger's per-tenant counters),
    most granted first."""
    from oauth2_admin.consents.models import TenantScopeCount

    rows = (
        TenantScopeCount.objects.filter(tenant=tenant, people__gt=0)
        .exclude(scope="")
        .order_by("-people", "scope")
        .values_list("scope", "people")
    )
    known = titles(tenant)
    return [
        ScopeGrants(scope, known.get(scope, ""), people, scope in catalogue.STANDARD)
        for scope, people in rows
    ]
