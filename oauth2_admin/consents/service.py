"""A person's consent with the tenant's clients, seen from the operator's side.

Hydra lists every consent of a subject, whoever owns the client: everything here filters by the tenant's
``owner`` first, so one tenant never sees or revokes another's. Kratos identities are shared by all tenants: an
operator sees a person only when that person has a consent with one of the tenant's clients (platform admins
see everyone); otherwise the answer is the same as for someone who does not exist.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field

from django.http import HttpRequest

from oauth2_admin.clients import service as clients
from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import LedgerEntry
from truss import audit
from truss.audit import Action
from truss.models import Tenant
from truss.ory import hydra, kratos

MAX_SUBJECT = 255
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class PersonInputError(ValueError):
    """The search text is neither an email address nor an identity id."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.fields = {field: [message]}
        self.message = message


class NotVisible(LookupError):
    """No such person, consent or session for this tenant: the same answer whether it exists elsewhere or not."""


@dataclass(frozen=True)
class ConsentRow:
    client_id: str
    client_name: str
    scopes: list[str]
    audience: list[str]
    remembered: bool
    granted_at: dt.datetime | None
    until: dt.datetime | None  # end of the remember window; None: forever (remembered) or not remembered
    remember_for: int
    login_session_id: str | None

    @property
    def remembered_forever(self) -> bool:
        return self.remembered and self.remember_for == 0


@dataclass(frozen=True)
class Person:
    subject: str
    identity: kratos.Identity | None
    consents: list[ConsentRow] = field(default_factory=list)


# --- finding people ------------------------------------------------------------------------------------------


def parse_query(text: str) -> tuple[str, str]:
    """("email", address) or ("id", uuid); PersonInputError otherwise."""
    value = _search_text(text)
    if not value:
        raise PersonInputError("q", "Enter an email address or an identity id.")
    if "@" in value:
        if not _EMAIL.match(value):
            raise PersonInputError("q", "This is not an email address (name@example.com).")
        return "email", value.lower()
    try:
        return "id", str(uuid.UUID(value))
    except ValueError as exc:
        raise PersonInputError(
            "q", "Enter an email address, or an identity id like 3fa85f64-5717-4562-b3fc-2c963f66afa6."
        ) from exc


def _search_text(text: str) -> str:
    value = text.strip()
    if len(value) > MAX_SUBJECT:
        raise PersonInputError("q", f"At most {MAX_SUBJECT} characters.")
    if "\x00" in value:
        raise PersonInputError("q", "The search text contains a NUL character, which no email or id has.")
    return value


def _nobody() -> str:
    """A subject no one has (a fresh random UUID): looked up when an email has no identity, so that the answer
    costs the same calls and queries as for a person with nothing of this tenant's."""
    return str(uuid.uuid4())


def ledger_subject(text: str) -> str:
    """What a client's ledger search looks for: an identity id (or its prefix) as typed, or the identity id of
    an exact email address. An email without an identity gives ``_nobody()``: the same query runs and finds
    nothing, as it does for someone who has no consent with this client."""
    value = _search_text(text)
    if "@" not in value:
        return value
    found = kratos.list_identities(credentials_identifier=value.lower(), page_size=2).items
    return found[0].id if found else _nobody()


def check_subject(subject: str) -> str:
    if not subject or len(subject) > MAX_SUBJECT:
        raise PersonInputError("subject", f"A subject has 1 to {MAX_SUBJECT} characters.")
    return subject


def tenant_sessions(tenant: Tenant, subject: str) -> list[hydra.ConsentSession]:
    """The subject's consent sessions with this tenant's clients only."""
    owner = tenant.hydra_owner
    return [s for s in hydra.list_consent_sessions(subject) if s.consent_request.client.owner == owner]


def _row(session: hydra.ConsentSession) -> ConsentRow:
    client = session.consent_request.client
    until = None
    if session.remember and session.remember_for > 0 and session.handled_at is not None:
        until = session.handled_at + dt.timedelta(seconds=session.remember_for)
    return ConsentRow(
        client_id=client.client_id,
        client_name=client.client_name or client.client_id,
        scopes=list(session.grant_scope),
        audience=list(session.grant_access_token_audience),
        remembered=session.remember,
        granted_at=session.handled_at,
        until=until,
        remember_for=session.remember_for,
        login_session_id=session.consent_request.login_session_id,
    )


def consents(tenant: Tenant, subject: str) -> list[ConsentRow]:
    rows = [_row(s) for s in tenant_sessions(tenant, subject)]
    return sorted(rows, key=lambda r: r.granted_at or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True)


def _identity(subject: str) -> kratos.Identity | None:
    try:
        uuid.UUID(subject)
    except ValueError:
        return None  # Kratos ids are UUIDs; a Hydra subject may be anything
    try:
        return kratos.get_identity(subject)
    except kratos.KratosNotFound:
        return None


def person(tenant: Tenant, subject: str, *, platform_admin: bool) -> Person:
    """The person as this operator may see them, or NotVisible."""
    check_subject(subject)
    rows = consents(tenant, subject)
    identity = _identity(subject) if rows or platform_admin else None
    if not rows and not (platform_admin and identity is not None):
        raise NotVisible("No such person.")
    return Person(subject=subject, identity=identity, consents=rows)


def find(tenant: Tenant, text: str, *, platform_admin: bool) -> Person:
    """Look up by exact email (Kratos credentials_identifier) or identity id; NotVisible if not allowed."""
    kind, value = parse_query(text)
    if kind == "email":
        found = kratos.list_identities(credentials_identifier=value, page_size=2).items
        # Nobody has this address: Hydra is still asked (about nobody), as it is for a person whom only other
        # tenants know, so neither the answer nor its time tells the two apart.
        subject = found[0].id if found else _nobody()
    else:
        subject = value
    return person(tenant, subject, platform_admin=platform_admin)


# --- a client's ledger -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerClient:
    client_id: str
    name: str
    in_hydra: bool


def ledger_client(tenant: Tenant, client_id: str) -> LedgerClient:
    """The tenant's client whose ledger is asked for; one deleted from Hydra still has its ledger. Another
    tenant's, or one nobody has: NotVisible."""
    try:
        client = clients.get_for(tenant, client_id)
    except hydra.HydraNotFound as exc:
        if not LedgerEntry.objects.filter(tenant=tenant, client_id=client_id).exists():
            raise NotVisible("No such client in this tenant.") from exc
        return LedgerClient(client_id, client_id, in_hydra=False)
    return LedgerClient(client_id, client.client_name or client_id, in_hydra=True)


# --- revoking -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevokeResult:
    subject: str
    revoked_clients: list[str]
    login_sessions_ended: bool


def revoke(
    request: HttpRequest,
    tenant: Tenant,
    subject: str,
    *,
    client_id: str | None = None,
    end_login: bool = False,
) -> RevokeResult:
    """Revoke the subject's consent with one of the tenant's clients, or with all of them. Hydra also revokes
    the access and refresh tokens issued under each consent. ``end_login`` (platform admins only, checked by
    the caller) also ends Hydra's login sessions for the subject, which affects every tenant.

    NotVisible when there is nothing of this tenant's to revoke (another tenant's client included)."""
    with audit.mutation(request, Action.CONSENT_REVOKE, tenant, subject) as event:
        check_subject(subject)
        mine = {s.consent_request.client.client_id: s for s in tenant_sessions(tenant, subject)}
        targets = sorted(mine) if client_id is None else [client_id] if client_id in mine else []
        event.before = {
            "consents": [{"client_id": c, "grant_scope": list(mine[c].grant_scope)} for c in targets],
            "client": client_id,
        }
        if not targets:
            raise NotVisible(
                "No consent of this person with that client." if client_id else "No such person."
            )
        for target in targets:
            hydra.revoke_consent_sessions(subject, client_id=target)
        if end_login:
            hydra.revoke_login_sessions(subject=subject)
        ledger.mark_revoked(tenant, subject, targets)
        event.success(after={"revoked_clients": targets, "login_sessions_ended": end_login})
    return RevokeResult(subject=subject, revoked_clients=targets, login_sessions_ended=end_login)


def revoke_subject(request: HttpRequest, tenant: Tenant, subject: str, *, end_login: bool) -> RevokeResult:
    """`POST /api/hydra/logout`: revoke the subject's consents for the tenant's clients (and their tokens);
    optionally, for platform admins only (checked by the caller), end Hydra's login sessions for the subject.
    Unlike ``revoke`` it answers with an empty list when there was nothing to revoke."""
    with audit.mutation(request, Action.LOGOUT_SUBJECT, tenant, subject) as event:
        sessions = tenant_sessions(tenant, subject)
        clients = sorted({s.consent_request.client.client_id for s in sessions})
        event.before = {"clients": clients}
        for client_id in clients:
            hydra.revoke_consent_sessions(subject, client_id=client_id)
        if end_login:
            hydra.revoke_login_sessions(subject=subject)
        ledger.mark_revoked(tenant, subject, clients)
        event.success(after={"revoked_clients": clients, "login_sessions_ended": end_login})
    return RevokeResult(subject=subject, revoked_clients=clients, login_sessions_ended=end_login)


# --- Kratos sessions --------------------------------------------------------------------------------------------


def sessions(subject: str) -> list[kratos.IdentitySession]:
    """The person's Kratos sessions (none when the subject is not a Kratos identity)."""
    try:
        uuid.UUID(subject)
    except ValueError:
        return []
    try:
        return kratos.list_identity_sessions(subject)
    except kratos.KratosNotFound:
        return []


def end_session(
    request: HttpRequest, tenant: Tenant, subject: str, session_id: str
) -> kratos.IdentitySession:
    """Disable one of the person's Kratos sessions (platform admins only, checked by the caller)."""
    with audit.mutation(
        request, Action.IDENTITY_SESSION_DISABLE, tenant, f"{subject}/{session_id}"[:300]
    ) as event:
        found = next((s for s in sessions(subject) if s.id == session_id), None)
        if found is None:
            raise NotVisible("No such session.")
        event.before = {
            "session": found.id,
            "active": found.active,
            "authenticated_at": found.authenticated_at,
            "aal": found.authenticator_assurance_level,
        }
        kratos.disable_session(session_id)
        event.success(after={"session": found.id, "active": False})
    return found
