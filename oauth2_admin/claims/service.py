"""The tenant's custom-claims templates: read, save (audited) and preview for one identity.

The templating itself (validation and rendering) is truss.claims, shared with the bridge that renders the
claims at consent time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from oauth2_admin.scopes import catalogue
from truss import audit, claims
from truss.audit import Action
from truss.models import ClaimsConfig, Tenant
from truss.ory import hydra, kratos


def config_for(tenant: Tenant) -> ClaimsConfig:
    return ClaimsConfig.objects.filter(tenant=tenant).first() or ClaimsConfig(tenant=tenant)


def save(
    request: HttpRequest,
    tenant: Tenant,
    *,
    id_token_claims: dict[str, Any],
    access_token_claims: dict[str, Any],
) -> ClaimsConfig:
    """Store already validated templates (truss.claims.validate) and audit the change."""
    config = config_for(tenant)
    before = {"id_token_claims": config.id_token_claims, "access_token_claims": config.access_token_claims}
    config.id_token_claims = id_token_claims
    config.access_token_claims = access_token_claims
    user = getattr(request, "user", None)
    config.updated_by = user if user is not None and user.is_authenticated else None
    config.save()
    audit.record(
        request,
        Action.CLAIMS_UPDATE,
        tenant=tenant,
        target="claims-config",
        before=before,
        after={"id_token_claims": id_token_claims, "access_token_claims": access_token_claims},
    )
    return config


class PreviewRefused(Exception):
    """The identity is unknown, or not one this tenant may look at."""


def find_identity(value: str) -> kratos.Identity | None:
    value = value.strip()
    if "@" in value:
        page = kratos.list_identities(credentials_identifier=value, page_size=1)
        return page.items[0] if page.items else None
    try:
        return kratos.get_identity(value)
    except (kratos.KratosNotFound, kratos.KratosBadRequest):
        return None


def preview(
    request: HttpRequest,
    tenant: Tenant,
    identity_ref: str,
    scopes: list[str],
    id_token_claims: dict[str, Any],
    access_token_claims: dict[str, Any],
) -> tuple[kratos.Identity, claims.Claims]:
    """What the tenant's templates give for one identity. Identities are shared by every tenant, so a tenant
    may only preview people who have consented to one of its clients (platform admins: anyone). Templates a
    scope of the tenant's catalogue releases appear only when that scope is among ``scopes``, as at consent."""
    identity = find_identity(identity_ref)
    if identity is None:
        raise PreviewRefused
    user = getattr(request, "user", None)
    if not (user is not None and user.is_superuser):
        owner = tenant.hydra_owner
        if not any(s.consent_request.client.owner == owner for s in hydra.list_consent_sessions(identity.id)):
            raise PreviewRefused
    withheld = catalogue.withheld_claims(catalogue.for_tenant(tenant), scopes)
    return identity, claims.build(identity, scopes, id_token_claims, access_token_claims, withheld=withheld)


@dataclass(frozen=True)
class LeftOut:
    """A claim the preview leaves out because some of its variables do not resolve for the identity."""

    token: str  # "ID token" or "Access token"
    claim: str
    variables: tuple[str, ...]


def left_out(
    identity: kratos.Identity, id_token_claims: Mapping[str, Any], access_token_claims: Mapping[str, Any]
) -> list[LeftOut]:
    """Every templated claim that renders to nothing for this identity, with the variables that did not resolve
    (truss.claims leaves such a claim out of the token, as it does at consent time)."""
    context = claims.identity_context(identity)
    found: list[LeftOut] = []
    for token, config in (("ID token", id_token_claims), ("Access token", access_token_claims)):
        for name, template in config.items():
            if isinstance(template, str):
                variables = claims.unresolved(template, context)
                if variables:
                    found.append(LeftOut(token, str(name), tuple(variables)))
    return found
