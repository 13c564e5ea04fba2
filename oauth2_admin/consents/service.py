"""A person's consent with the tenant's clients, seen from the operator's side.

Hydra lists every consent of a subject, whoever owns the client: everything here filters by the tenant's
``owner`` first, so one tenant never sees or revokes another's.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from truss import audit
from truss.models import Tenant
from truss.ory import hydra


@dataclass(frozen=True)
class RevokeResult:
    subject: str
    revoked_clients: list[str]
    login_sessions_ended: bool


def revoke_subject(request: HttpRequest, tenant: Tenant, subject: str, *, end_login: bool) -> RevokeResult:
    """Revoke the subject's consents for the tenant's clients (and their tokens); optionally, for platform
    admins only (checked by the caller), end Hydra's login sessions for the subject, which affects every tenant.
    """
    owner = tenant.hydra_owner
    sessions = hydra.list_consent_sessions(subject)
    clients = sorted(
        {s.consent_request.client.client_id for s in sessions if s.consent_request.client.owner == owner}
    )
    for client_id in clients:
        hydra.revoke_consent_sessions(subject, client_id=client_id)
    if end_login:
        hydra.revoke_login_sessions(subject=subject)
    audit.record(
        request,
        "bridge.logout.subject",
        tenant=tenant,
        target=subject,
        after={"revoked_clients": clients, "login_sessions_ended": end_login},
    )
    return RevokeResult(subject=subject, revoked_clients=clients, login_sessions_ended=end_login)
