"""`/api/hydra/scopes*` (operator session + CSRF; members change) and `/v1/oauth2/scopes*` (service_role key): the
tenant's own scopes in the catalogue. The standard OpenID Connect scopes are built in and not listed here.

One implementation: `build_router` writes every route out once and is called for each mount. A scope is named
by its name in the path (`/scopes/invoices:read`; a name with `/` works too). The schemas state what the service
checks, except that claims must name the tenant's claim templates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.security.base import AuthBase
from pydantic import AfterValidator, ConfigDict, StrictBool, StrictStr

from oauth2_admin.claims.api import NAME_PATTERN as CLAIM_NAME_PATTERN
from oauth2_admin.scopes import catalogue, service
from truss.apikit import (
    AUTH_ERRORS,
    answers,
    audited,
    error,
    json_response,
    member_session,
    service_key,
    session_auth,
    tenant_of,
)
from truss.audit import Action


def _not_standard(name: str) -> str:
    if name in catalogue.STANDARD:
        raise ValueError(f"{name!r} is a standard OpenID Connect scope: it is built in.")
    return name


ScopeName = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=service.MAX_NAME,
        pattern=service.NAME_PATTERN,
        json_schema_extra={"not": {"enum": sorted(catalogue.STANDARD)}},
        description='RFC 6749 §3.3: printable ASCII without spaces, " or \\; not a standard scope.',
    ),
    AfterValidator(_not_standard),
]
Title = Annotated[StrictStr, Field(max_length=service.MAX_TITLE, pattern=service.TEXT_PATTERN)]
Description = Annotated[StrictStr, Field(max_length=service.MAX_DESCRIPTION, pattern=service.TEXT_PATTERN)]
TitleDe = Annotated[StrictStr, Field(max_length=service.MAX_TITLE, pattern=service.OPTIONAL_TEXT_PATTERN)]
DescriptionDe = Annotated[
    StrictStr, Field(max_length=service.MAX_DESCRIPTION, pattern=service.OPTIONAL_TEXT_PATTERN)
]
ClaimName = Annotated[StrictStr, Field(pattern=CLAIM_NAME_PATTERN)]
Claims = Annotated[
    list[ClaimName],
    Field(
        max_length=service.MAX_CLAIMS,
        description="Names of the tenant's claim templates (ID token or access token) this scope releases.",
    ),
]


class ScopeOut(Schema):
    name: str
    title_en: str
    description_en: str
    title_de: str
    description_de: str
    claims: list[str]
    rememberable: bool
    created_at: datetime
    updated_at: datetime


class ScopeListOut(Schema):
    items: list[ScopeOut]


class ScopeCreateIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: ScopeName
    title_en: Title
    description_en: Description
    title_de: TitleDe = ""
    description_de: DescriptionDe = ""
    claims: Claims = Field(default_factory=list)
    rememberable: StrictBool = True


class ScopeUpdateIn(Schema):
    """PUT: the fields sent change, the others stay (null: unchanged); the name cannot change."""

    model_config = ConfigDict(extra="forbid")

    title_en: Title | None = None
    description_en: Description | None = None
    title_de: TitleDe | None = None
    description_de: DescriptionDe | None = None
    claims: Claims | None = None
    rememberable: StrictBool | None = None


def _answer(scope: Any, status: int = 200) -> HttpResponse:
    return json_response(service.as_json(scope), status=status)


def _not_found(request: HttpRequest) -> HttpResponse:
    return error(request, 404, "not_found", "No such scope in this tenant.")


_READ = AUTH_ERRORS


def build_router(*, read_auth: AuthBase, write_auth: AuthBase, op: str, tags: list[str]) -> Router:
    """The scope routes for one mount: `op` prefixes operation ids (`hydra_…`, `v1_…`)."""
    router = Router(tags=tags)

    @router.get(
        "/scopes",
        auth=read_auth,
        response=answers({200: ScopeListOut}, _READ),
        summary="List the tenant's own scopes",
        operation_id=f"{op}_list_scopes",
    )
    def list_scopes(request: HttpRequest) -> HttpResponse:
        items = [service.as_json(s) for s in service.list_for(tenant_of(request))]
        return json_response({"items": items})

    @router.post(
        "/scopes",
        auth=write_auth,
        response=answers({201: ScopeOut}, 400, AUTH_ERRORS, 409),
        summary="Add a scope to the tenant's catalogue",
        description="409: the tenant already has a scope of this name.",
        operation_id=f"{op}_create_scope",
    )
    @audited(Action.SCOPE_CREATE)
    def create_scope(request: HttpRequest, payload: ScopeCreateIn) -> HttpResponse:
        try:
            scope = service.create(request, tenant_of(request), payload.model_dump())
        except service.ScopeConflict as exc:
            return error(request, 409, "conflict", exc.message, fields=exc.fields)
        return _answer(scope, 201)

    @router.get(
        "/scopes/{path:name}",
        auth=read_auth,
        response=answers({200: ScopeOut}, _READ, 404),
        summary="Get one of the tenant's scopes",
        operation_id=f"{op}_get_scope",
    )
    def get_scope(request: HttpRequest, name: str) -> HttpResponse:
        try:
            return _answer(service.get_for(tenant_of(request), name))
        except service.ScopeNotFound:
            return _not_found(request)

    @router.put(
        "/scopes/{path:name}",
        auth=write_auth,
        response=answers({200: ScopeOut}, 400, AUTH_ERRORS, 404),
        summary="Change a scope: the given fields",
        operation_id=f"{op}_update_scope",
    )
    @audited(Action.SCOPE_UPDATE)
    def update_scope(request: HttpRequest, name: str, payload: ScopeUpdateIn) -> HttpResponse:
        try:
            scope = service.update(request, tenant_of(request), name, payload.model_dump(exclude_none=True))
        except service.ScopeNotFound:
            return _not_found(request)
        return _answer(scope)

    @router.delete(
        "/scopes/{path:name}",
        auth=write_auth,
        response=answers({204: None}, AUTH_ERRORS, 404),
        summary="Remove a scope from the tenant's catalogue",
        description="Clients that list it keep it; the hygiene report flags them.",
        operation_id=f"{op}_delete_scope",
    )
    @audited(Action.SCOPE_DELETE)
    def delete_scope(request: HttpRequest, name: str) -> HttpResponse:
        try:
            service.delete(request, tenant_of(request), name)
        except service.ScopeNotFound:
            return _not_found(request)
        return HttpResponse(status=204)

    return router


session_router = build_router(read_auth=session_auth, write_auth=member_session, op="hydra", tags=["scopes"])
key_router = build_router(read_auth=service_key, write_auth=service_key, op="v1", tags=["scopes (API key)"])
