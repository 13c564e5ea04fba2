"""Which tenant a console request acts for, and with which role.

Operators belong to tenants through `Membership`; platform admins (Django superusers) may act in every
tenant as admins and are the only ones allowed global operations (signing keys, token cleanup, …).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from truss.http import TenantRequest
from truss.models import Membership, Role, Tenant

SESSION_KEY = "truss_tenant"
_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.ADMIN: 2}

V = TypeVar("V", bound=Callable[..., HttpResponse])


def role_at_least(role: str, minimum: str) -> bool:
    return _RANK[Role(role)] >= _RANK[Role(minimum)]


def tenants_for(user: Any) -> list[tuple[Tenant, str]]:
    """(tenant, role) pairs the user may act in."""
    if not user.is_authenticated:
        return []
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
    chosen = request.session.get(SESSION_KEY)
    for tenant, role in options:
        if tenant.slug == chosen:
            return tenant, role
    return options[0]


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
                raise PermissionDenied(f"This needs the {min_role} role in {tenant.name}.")
            tenant_request = cast(TenantRequest, request)
            tenant_request.tenant, tenant_request.role = tenant, role
            return view(tenant_request, *args, **kwargs)

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
