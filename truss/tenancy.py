"""Which tenant a console request acts for, and with which role.

Operators belong to tenants through `Membership`; platform admins (Django superusers) may act in every
tenant as admins and are the only ones allowed global operations (signing keys, token cleanup, …).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from truss import audit, authcache
from truss.audit import Action
from truss.http import TenantRequest
from truss.models import ApiKey, AuditEvent, Membership, Role, Tenant

SESSION_KEY = "truss_tenant"
# The operator's last tenant, remembered across sign-ins in this browser: "<user pk>:<slug>", signed.
LAST_TENANT_COOKIE = "truss_tenant"
_COOKIE_SALT = "truss.tenancy.last-tenant"
_COOKIE_AGE = 365 * 24 * 3600
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# What a refused console write is audited as: the action the same change has everywhere else (API, service).
# Every console view that writes with a role above viewer is listed (tests/audit/test_actions.py checks it);
# the developer tools' test-flow steps change nothing in Truss and share one action.
_FLOW_STEPS = (
    "flow_start",
    "front_channel_start",
    "client_credentials",
    "device_start",
    "run_poll",
    "run_exchange",
    "run_refresh",
    "run_forget",
)
DENIED_ACTIONS: dict[str, str] = {
    "console:bridge_check": Action.BRIDGE_CHECK_RUN,
    "console:clients:create": Action.CLIENT_CREATE,
    "console:clients:edit": Action.CLIENT_UPDATE,
    "console:clients:token_config": Action.CLIENT_TOKEN_CONFIG,
    "console:clients:rotate_secret": Action.CLIENT_ROTATE_SECRET,
    "console:clients:revoke_tokens": Action.CLIENT_REVOKE_TOKENS,
    "console:clients:delete": Action.CLIENT_DELETE,
    "console:hygiene:refresh": Action.HYGIENE_REFRESH,
    "console:hygiene:thresholds": Action.HYGIENE_THRESHOLDS_UPDATE,
    "console:hygiene:fix": Action.CLIENT_UPDATE,
    "console:hygiene:restore": Action.CLIENT_UPDATE,
    "console:hygiene:drift_adopt": Action.CLIENT_DRIFT_ADOPT,
    "console:hygiene:drift_restore": Action.CLIENT_UPDATE,
    "console:trust:create": Action.TRUST_CREATE,
    "console:trust:delete": Action.TRUST_DELETE,
    "console:apikeys:list": Action.APIKEY_CREATE,
    "console:apikeys:revoke": Action.APIKEY_REVOKE,
    "console:claims:config": Action.CLAIMS_UPDATE,
    "console:scopes:create": Action.SCOPE_CREATE,
    "console:scopes:edit": Action.SCOPE_UPDATE,
    "console:scopes:delete": Action.SCOPE_DELETE,
    "console:consents:revoke": Action.CONSENT_REVOKE,
    "console:consents:end_session": Action.IDENTITY_SESSION_DISABLE,
    "console:consents:bulk_revoke": Action.CONSENT_REVOKE_ALL_START,
    "console:consents:job_step": Action.CONSENT_REVOKE_ALL,
    "console:devtools:add_redirect": Action.CLIENT_UPDATE,
    "console:devtools:doctor_fix": Action.CLIENT_UPDATE,
    "console:devtools:run_revoke": Action.DEVTOOLS_FLOW_REVOKE,
    "console:devtools:jwt_bearer_start": Action.TRUST_CREATE,
    "console:devtools:jwt_bearer_exchange": Action.DEVTOOLS_FLOW_RUN,
    **{f"console:devtools:{step}": Action.DEVTOOLS_FLOW_RUN for step in _FLOW_STEPS},
}
_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2}

V = TypeVar("V", bound=Callable[..., HttpResponse])


def role_at_least(role: str, minimum: str) -> bool:
    return _RANK[Role(role)] >= _RANK[Role(minimum)]


def tenants_for(user: Any) -> list[tuple[Tenant, str]]:
    """(tenant, role) pairs the user may act in; from the shared cache when there is one (truss/authcache.py)."""
    if not user.is_authenticated:
        return []
    return authcache.cached_tenants(user.pk, lambda: _tenants_from_db(user))


def _tenants_from_db(user: Any) -> list[tuple[Tenant, str]]:
    if user.is_superuser:
        return [(t, Role.ADMIN.value) for t in Tenant.objects.order_by("name")]
    memberships = Membership.objects.filter(user=user).select_related("tenant").order_by("tenant__name")
    return [(m.tenant, m.role) for m in memberships]


def resolve(request: HttpRequest) -> tuple[Tenant, str] | None:
    """The session's chosen tenant if the user still has access to it, else their first one.

    Memoised on the request: the view decorator and the context processors all ask."""
    if not hasattr(request, "_truss_resolved"):
        request._truss_resolved = _resolve(request)  # type: ignore[attr-defined]
    resolved: tuple[Tenant, str] | None = request._truss_resolved  # type: ignore[attr-defined]
    return resolved


def _options(request: HttpRequest) -> list[tuple[Tenant, str]]:
    """tenants_for(request.user), once per request (resolve and the switcher both need it)."""
    if not hasattr(request, "_truss_options"):
        request._truss_options = tenants_for(request.user)  # type: ignore[attr-defined]
    options: list[tuple[Tenant, str]] = request._truss_options  # type: ignore[attr-defined]
    return options


def _resolve(request: HttpRequest) -> tuple[Tenant, str] | None:
    options = _options(request)
    if not options:
        return None
    chosen = request.session.get(SESSION_KEY) or _remembered(request)
    for tenant, role in options:
        if tenant.slug == chosen:
            if request.session.get(SESSION_KEY) != tenant.slug:  # an unchanged session is not written back
                request.session[SESSION_KEY] = tenant.slug
            return tenant, role
    return options[0]


def _remembered(request: HttpRequest) -> str | None:
    """The tenant this user last worked in, from the signed cookie (a fresh sign-in has an empty session)."""
    try:
        value = request.get_signed_cookie(LAST_TENANT_COOKIE, salt=_COOKIE_SALT, max_age=_COOKIE_AGE)
    except (KeyError, signing.BadSignature):
        return None
    user_pk, _, slug = str(value).partition(":")
    return slug if slug and user_pk == str(request.user.pk) else None


def remember(request: HttpRequest, response: HttpResponse, tenant: Tenant) -> None:
    """Set the last-tenant cookie when the tenant in use is not the remembered one."""
    if _remembered(request) == tenant.slug:
        return
    response.set_signed_cookie(
        LAST_TENANT_COOKIE,
        f"{request.user.pk}:{tenant.slug}",
        salt=_COOKIE_SALT,
        max_age=_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def denied_action(request: HttpRequest) -> str:
    """The refused write's action; a view missing from DENIED_ACTIONS gives its URL name, which audit.record
    refuses as an unknown action (an error in tests, logged in production)."""
    match = request.resolver_match
    name = match.view_name if match else ""
    return DENIED_ACTIONS.get(name) or name.removeprefix("console:").replace(":", ".") or request.path[:100]


def _denied_target(request: HttpRequest, tenant: Tenant) -> str:
    kwargs = request.resolver_match.kwargs if request.resolver_match else {}
    if "key_id" in kwargs:  # API keys are named by prefix everywhere in the audit log
        prefix = ApiKey.objects.filter(pk=kwargs["key_id"], tenant=tenant).values_list("prefix", flat=True)
        return prefix.first() or ""
    return str(kwargs.get("client_id", ""))


def refuse(request: HttpRequest, tenant: Tenant, role: str, needed: str) -> NoReturn:
    """403 for a role below `needed`; a refused write (not a read) is audited as one "denied" event."""
    if request.method not in _SAFE_METHODS:
        audit.record(
            request,
            denied_action(request),
            tenant=tenant,
            target=_denied_target(request, tenant),
            outcome=AuditEvent.Outcome.DENIED,
            detail=f"role {role}; needs {needed}",
        )
    raise PermissionDenied(f"In {tenant.name} your role is {role}; this needs the {needed} role.")


def switch(request: HttpRequest, slug: str) -> bool:
    if any(t.slug == slug for t, _ in _options(request)):
        request.session[SESSION_KEY] = slug
        request.__dict__.pop("_truss_resolved", None)
        return True
    return False


def tenant_view(min_role: str = Role.VIEWER) -> Callable[[V], V]:
    """Login required; sets `request.tenant` and `request.role`; 403 below `min_role`."""

    def decorator(view: V) -> V:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            resolved = resolve(request)
            if resolved is None:
                return TemplateResponse(request, "truss/no_tenant.html", status=403)
            tenant, role = resolved
            if not role_at_least(role, min_role):
                refuse(request, tenant, role, min_role)
            tenant_request = cast(TenantRequest, request)
            tenant_request.tenant, tenant_request.role = tenant, role
            response = view(tenant_request, *args, **kwargs)
            remember(request, response, tenant)
            return response

        wrapper.min_role = min_role  # type: ignore[attr-defined]  # read by the tests of DENIED_ACTIONS
        return cast(V, login_required(wrapper))

    return decorator


def platform_admin_required(view: V) -> V:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_superuser:
            raise PermissionDenied("This is a platform-admin action: it affects every tenant.")
        return view(request, *args, **kwargs)

    return cast(V, login_required(wrapper))


def context_processor(request: HttpRequest) -> dict[str, Any]:
    """The tenant switcher's data, for every console page."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    options = _options(request)
    current = resolve(request)
    return {
        "tenant_options": [t for t, _ in options],
        "current_tenant": current[0] if current else None,
        "current_role": current[1] if current else None,
    }
