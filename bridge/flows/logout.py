"""Logout: confirm (unless the client skips it), then end Hydra's and Kratos's sessions."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from bridge.flows.common import Redirect, Stop, end_kratos_session, record, tenant_for_client
from truss.audit import Action
from truss.models import AuditEvent, Tenant
from truss.ory import hydra


@dataclass(frozen=True)
class LogoutScreen:
    logout: hydra.OAuth2LogoutRequest
    tenant: Tenant | None


def logout(request: HttpRequest, challenge: str) -> Redirect | LogoutScreen:
    logout_request = hydra.get_logout_request(challenge)
    tenant = tenant_for_client(logout_request.client)
    if logout_request.client is not None and logout_request.client.skip_logout_consent:
        return _accept_logout(request, challenge, logout_request, tenant, detail="client.skip_logout_consent")
    return LogoutScreen(logout_request, tenant)


def decide_logout(request: HttpRequest, challenge: str, *, accept: bool) -> Redirect | Stop:
    logout_request = hydra.get_logout_request(challenge)
    tenant = tenant_for_client(logout_request.client)
    if accept:
        return _accept_logout(request, challenge, logout_request, tenant)
    try:
        hydra.reject_logout_request(challenge)
    except hydra.HydraError as exc:
        record(
            request,
            Action.LOGOUT_REJECT,
            tenant=tenant,
            client=logout_request.client,
            subject=logout_request.subject,
            outcome=AuditEvent.Outcome.FAILURE,
            detail=str(exc),
        )
        raise
    record(
        request,
        Action.LOGOUT_REJECT,
        tenant=tenant,
        client=logout_request.client,
        subject=logout_request.subject,
    )
    # Hydra answers 204 without a destination: the user stays signed in, on our page.
    return Stop("logout_cancelled", status=200, context={"tenant": tenant, "client": logout_request.client})


def _accept_logout(
    request: HttpRequest,
    challenge: str,
    logout_request: hydra.OAuth2LogoutRequest,
    tenant: Tenant | None,
    detail: str = "",
) -> Redirect:
    try:
        accepted = hydra.accept_logout_request(challenge)
    except hydra.HydraError as exc:
        record(
            request,
            Action.LOGOUT_ACCEPT,
            tenant=tenant,
            client=logout_request.client,
            subject=logout_request.subject,
            outcome=AuditEvent.Outcome.FAILURE,
            detail=str(exc),
        )
        raise
    destination = end_kratos_session(request, then=accepted.redirect_to)
    record(
        request,
        Action.LOGOUT_ACCEPT,
        tenant=tenant,
        client=logout_request.client,
        subject=logout_request.subject,
        detail=detail,
    )
    # The signed-out page Hydra sends the browser to last keeps the tenant's look.
    return Redirect(destination, brand=tenant.slug if tenant is not None else "")
