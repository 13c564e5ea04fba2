"""`POST /api/hydra/logout`: revoke a subject's consent for the tenant's clients (operator session)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import AuthorizationError

from oauth2_admin.consents import service
from truss.apikit import require_role, tenant_of
from truss.models import Role

router = Router(tags=["consents"])


class LogoutIn(Schema):
    subject: str = Field(..., min_length=1, max_length=200)
    # Ending Hydra's login sessions affects every tenant's clients: platform admins only.
    end_login_sessions: bool = False


class LogoutOut(Schema):
    subject: str
    revoked_clients: list[str]
    login_sessions_ended: bool


@router.post("/logout", response=LogoutOut, summary="RP-initiated logout: revoke a subject's consent")
def logout_subject(request: HttpRequest, payload: LogoutIn) -> Any:
    require_role(request, Role.MEMBER)
    if payload.end_login_sessions and not request.user.is_superuser:
        raise AuthorizationError(message="Ending login sessions affects every tenant: platform admins only.")
    return service.revoke_subject(
        request, tenant_of(request), payload.subject, end_login=payload.end_login_sessions
    )
