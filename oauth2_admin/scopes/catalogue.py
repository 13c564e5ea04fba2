"""What a tenant's scopes mean: the built-in standard OIDC scopes plus the tenant's own (models.Scope).

The one place the bridge (consent screen text, claims released, remembering), the console (client form, ledger,
overview) and the hygiene linter read the catalogue from."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from truss.models import Tenant

from .models import Scope

# OIDC Core §5.4: the claims each standard scope releases (those Truss can fill from a Kratos identity).
STANDARD_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": (),
    "profile": ("name",),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
    "offline_access": (),
    "offline": (),
}
STANDARD = frozenset(STANDARD_CLAIMS)


@dataclass(frozen=True)
class Entry:
    name: str
    claims: tuple[str, ...]
    rememberable: bool
    standard: bool
    scope: Scope | None  # the tenant's row; None for a standard scope


def for_tenant(tenant: Tenant | None) -> dict[str, Entry]:
    """The tenant's whole catalogue by scope name: the standard scopes, then its own."""
    entries = {
        name: Entry(name=name, claims=claims, rememberable=True, standard=True, scope=None)
        for name, claims in STANDARD_CLAIMS.items()
    }
    if tenant is not None:
        for scope in Scope.objects.filter(tenant=tenant):
            entries[scope.name] = Entry(
                name=scope.name,
                claims=tuple(str(claim) for claim in scope.claims),
                rememberable=scope.rememberable,
                standard=False,
                scope=scope,
            )
    return entries


def text(scope: Scope, language: str) -> tuple[str, str]:
    """The scope's title and description in ``language`` ("de…" → German where given), else English."""
    if language.lower().startswith("de") and scope.title_de:
        return scope.title_de, scope.description_de or scope.description_en
    return scope.title_en, scope.description_en


def scoped_claims(entries: dict[str, Entry]) -> set[str]:
    """Custom claim names some tenant scope releases: these go out only when that scope is granted."""
    return {claim for entry in entries.values() if not entry.standard for claim in entry.claims}


def released_claims(entries: dict[str, Entry], granted: Collection[str]) -> set[str]:
    """Custom claim names the granted scopes release."""
    return {
        claim
        for name in granted
        if (entry := entries.get(name)) and not entry.standard
        for claim in entry.claims
    }


def withheld_claims(entries: dict[str, Entry], granted: Collection[str]) -> set[str]:
    """Custom claim names a tenant scope releases that were not granted: left out of the tokens."""
    return scoped_claims(entries) - released_claims(entries, granted)
