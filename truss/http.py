"""Request types for typed views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails

    from truss.models import ApiKey, Tenant


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails
    request_id: str


class AuthenticatedRequest(HtmxRequest):
    user: User


class TenantRequest(AuthenticatedRequest):
    tenant: Tenant
    role: str


class ApiKeyRequest(HtmxRequest):
    api_key: ApiKey
