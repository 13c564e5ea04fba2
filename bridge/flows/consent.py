"""Consent: skip it when Hydra or the client allows, else the screen's data; the user's answer; "not you?".

Every consent action (view, skip, accept, reject, switch) is bound to the challenge's subject: only a browser
whose Kratos session belongs to that identity may see or answer it; anyone else is refused and the refusal is
audited as "denied" with whoever tried as the actor.

Hydra v2.3 answers a handled consent challenge as if it were new, and accepting it again returns a redirect
whose verifier Hydra then refuses. Once Hydra has used the verifier, the handled flow is listed among the
subject's consent sessions under the same ``login_challenge`` (the flow id): a replay is shown as "already
answered" and audited as a failure instead of a success. Asking Hydra costs a slow call, so the bridge marks
each flow it accepts (bridge.models.AnsweredConsent) and asks Hydra only about flows that carry a mark.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import HttpRequest

from bridge import i18n, scopes
from bridge.flows.common import (
    ACCESS_DENIED,
    FUTURE_TIMEOUT,
    Redirect,
    Stop,
    cookies,
    end_kratos_session,
    heals,
    in_background,
    prompt_values,
    record,
    remember_request_url,
    tenant_for_client,
)
from bridge.flows.device import is_device_request
from bridge.flows.login_pass import flow_key, has_login_pass, session_from_login_pass
from bridge.links import is_hydra_url, public_url
from bridge.models import mark_answered, was_answered
from oauth2_admin.scopes import catalogue
from truss import claims
from truss.audit import Action, ConsentDecision
from truss.models import AuditEvent, ClaimsConfig, Tenant
from truss.ory import hydra, kratos

log = logging.getLogger(__name__)


# The accept event's detail when Hydra or the client skipped the screen (after["decision"] says it as data).
_SKIPPED = {
    ConsentDecision.REMEMBERED: "skipped: remembered",
    ConsentDecision.SKIPPED: "skipped: client.skip_consent",
}


@dataclass(frozen=True)
class ConsentScreen:
    consent: hydra.OAuth2ConsentRequest
    tenant: Tenant | None
    identity: kratos.Identity
    catalogue: scopes.Catalogue  # the tenant's scopes, read once for the whole screen

    @property
    def device(self) -> bool:
        """Asked for by a device (RFC 8628): the screen tells the user to check the code on that device."""
        return is_device_request(self.consent.request_url)

    @property
    def scope_texts(self) -> list[scopes.ScopeText]:
        """The requested scopes' text in the active language."""
        return [scopes.describe(name, self.catalogue) for name in self.consent.requested_scope]

    @property
    def rememberable(self) -> bool:
        """Whether the screen may offer to remember the decision: no requested scope says "ask every time"."""
        return scopes.rememberable(self.consent.requested_scope, self.catalogue)


def token_claims(
    tenant: Tenant | None,
    subject: str,
    granted: list[str],
    identity: kratos.Identity | None = None,
    entries: scopes.Catalogue | None = None,
) -> claims.Claims:
    """The claims the ``granted`` scopes release for ``subject``, from its Kratos identity: the standard ones
    of each granted standard scope (OIDC Core §5.4), and the tenant's templates, less those a scope of its
    catalogue releases that was not granted. ``entries``: the tenant's catalogue when already read."""
    config = _claims_config(tenant)
    id_config = config.id_token_claims if config is not None else {}
    access_config = config.access_token_claims if config is not None else {}
    standard = any(catalogue.STANDARD_CLAIMS.get(name) for name in granted)
    if not (id_config or access_config or standard):
        return claims.Claims()
    if entries is None:
        entries = catalogue.for_tenant(tenant) if id_config or access_config else {}
    withheld = catalogue.withheld_claims(entries, granted)
    if identity is None or identity.id != subject:
        try:
            identity = kratos.get_identity(subject)
        except kratos.KratosNotFound:
            return claims.Claims()  # a subject that is not (or no longer) a Kratos identity
    return claims.build(identity, granted, id_config, access_config, withheld=withheld)


def _claims_config(tenant: Tenant | None) -> ClaimsConfig | None:
    """The tenant's claims configuration: read with the tenant itself (Tenant.cached), so no extra query."""
    if tenant is None:
        return None
    try:
        return tenant.claims_config
    except ClaimsConfig.DoesNotExist:
        return None


def _load_with_session(
    request: HttpRequest, challenge: str, *, use_pass: bool = True
) -> tuple[hydra.OAuth2ConsentRequest, Tenant | None, Future[kratos.Session | None]]:
    """_load, with the browser's Kratos session: from the login hop's pass when this browser has one for this
    flow and subject, else asked of Kratos at the same time as Hydra (it does not depend on Hydra's answer)."""
    jar = cookies(request)
    passed = use_pass and has_login_pass(request)
    whoami = None if passed else in_background(lambda: kratos.whoami(jar))
    consent_request, tenant = _load(request, challenge)
    if whoami is None:
        flow = flow_key(consent_request.request_url, consent_request.login_session_id)
        session = session_from_login_pass(request, flow, consent_request.subject)
        if session is None:
            whoami = in_background(lambda: kratos.whoami(jar))
        else:
            whoami = Future()
            whoami.set_result(session)
    return consent_request, tenant, whoami


def _load(request: HttpRequest, challenge: str) -> tuple[hydra.OAuth2ConsentRequest, Tenant | None]:
    consent_request = hydra.get_consent_request(challenge)
    remember_request_url(challenge, consent_request.request_url)
    i18n.use(request, consent_request.oidc_context.ui_locales if consent_request.oidc_context else None)
    return consent_request, tenant_for_client(consent_request.client)


def _session_for_subject(
    request: HttpRequest,
    consent_request: hydra.OAuth2ConsentRequest,
    tenant: Tenant | None,
    action: str,
    whoami: Future[kratos.Session | None] | None = None,
) -> kratos.Session | Stop:
    """Only the person the challenge was issued to may see or answer it (``whoami``: the session, already asked)."""
    session = whoami.result(timeout=FUTURE_TIMEOUT) if whoami is not None else kratos.whoami(cookies(request))
    if session is not None and session.identity.id == consent_request.subject:
        return session
    record(
        request,
        action,
        tenant=tenant,
        client=consent_request.client,
        subject=session.identity.id if session is not None else None,
        outcome=AuditEvent.Outcome.DENIED,
        detail="the browser's Kratos session does not belong to the consent subject",
    )
    return Stop("wrong_user", status=403, context={"tenant": tenant})


def already_answered(consent_request: hydra.OAuth2ConsentRequest) -> bool:
    """Whether this consent flow was answered before: it carries the bridge's mark and Hydra completed it."""
    flow_id = consent_request.login_challenge
    return flow_id is not None and was_answered(flow_id) and _completed_at_hydra(consent_request)


def _completed_at_hydra(consent_request: hydra.OAuth2ConsentRequest) -> bool:
    """Whether Hydra has completed this consent flow (its verifier was used). A mark alone is not enough: the
    browser may never have followed the first answer's redirect, and then answering again is legitimate."""
    flow_id = consent_request.login_challenge
    if not flow_id or not consent_request.subject:
        return False
    sessions = hydra.list_consent_sessions(
        consent_request.subject, login_session_id=consent_request.login_session_id or None
    )
    return any(s.consent_request.login_challenge == flow_id for s in sessions)


def _replay_stop(
    request: HttpRequest,
    consent_request: hydra.OAuth2ConsentRequest,
    tenant: Tenant | None,
    action: str | None,
) -> Stop:
    if action is not None:
        record(
            request,
            action,
            tenant=tenant,
            client=consent_request.client,
            subject=consent_request.subject,
            outcome=AuditEvent.Outcome.FAILURE,
            detail="replay: Hydra already completed this consent request",
        )
    return Stop("already_answered", status=409, context={"tenant": tenant})


def _replayed(
    request: HttpRequest,
    consent_request: hydra.OAuth2ConsentRequest,
    tenant: Tenant | None,
    action: str | None,
) -> Stop | None:
    if not already_answered(consent_request):
        return None
    return _replay_stop(request, consent_request, tenant, action)


@heals(Action.CONSENT_RESTART)
def consent(request: HttpRequest, challenge: str) -> Redirect | ConsentScreen | Stop:
    """Skip (accept at once) when Hydra or the client allows it; otherwise what the consent screen needs."""
    consent_request, tenant, whoami = _load_with_session(request, challenge)
    entries = catalogue.for_tenant(tenant)
    forced = "consent" in prompt_values(consent_request.request_url)
    # A device flow is never skipped, not even for a trusted client (RFC 8628 §5.4, remote phishing): whoever
    # holds a user code can send its link to a signed-in victim, and this screen is their only chance to notice
    # that no device of theirs asked. (Hydra itself never sets ``skip`` for device flows.) A consent Hydra
    # remembered is asked again when one of its scopes has since become "ask every time".
    device = is_device_request(consent_request.request_url)
    remembered = consent_request.skip and scopes.rememberable(consent_request.requested_scope, entries)
    skip = not device and (remembered or (bool(consent_request.client.skip_consent) and not forced))
    action = Action.CONSENT_ACCEPT if skip else Action.CONSENT_VIEW
    checked = _session_for_subject(request, consent_request, tenant, action, whoami)
    if isinstance(checked, Stop):
        return checked
    if skip:
        # Hydra keeps no claims from the earlier consent: they are supplied again on every accept.
        return _accept_consent(
            request,
            challenge,
            consent_request,
            tenant,
            grant=consent_request.requested_scope,
            remember=False,
            identity=checked.identity,
            decision=ConsentDecision.REMEMBERED if remembered else ConsentDecision.SKIPPED,
            entries=entries,
        )
    replay = _replayed(request, consent_request, tenant, None)
    if replay is not None:
        return replay
    return ConsentScreen(consent_request, tenant, checked.identity, entries)


def consent_details(request: HttpRequest, challenge: str) -> ConsentScreen | Stop:
    """The consent request for a custom UI (read-only: no skip handling), for its subject only."""
    consent_request = hydra.get_consent_request(challenge)
    tenant = tenant_for_client(consent_request.client)
    checked = _session_for_subject(request, consent_request, tenant, Action.CONSENT_VIEW)
    if isinstance(checked, Stop):
        return checked
    return _replayed(request, consent_request, tenant, None) or ConsentScreen(
        consent_request, tenant, checked.identity, catalogue.for_tenant(tenant)
    )


def refuse_without_csrf(request: HttpRequest, challenge: str, action: str) -> None:
    """A consent answer sent without its CSRF token: audited as denied when Hydra knows the challenge (someone
    tried to answer a real consent request from outside its page). A challenge Hydra does not know, or cannot
    be asked about now, names nothing real: nothing is written, the caller counts the refusal."""
    try:
        consent_request = hydra.get_consent_request(challenge)
    except hydra.HydraError:
        return
    tenant = tenant_for_client(consent_request.client)
    record(
        request,
        action,
        tenant=tenant,
        client=consent_request.client,
        subject=None,
        outcome=AuditEvent.Outcome.DENIED,
        detail="no valid CSRF token",
    )


@heals(Action.CONSENT_RESTART)
def decide_consent(
    request: HttpRequest,
    challenge: str,
    *,
    accept: bool,
    scopes: list[str],
    remember: bool,
    error: str = "access_denied",
    error_description: str = ACCESS_DENIED,
) -> Redirect | Stop:
    """The user's answer. The request is fetched again: nothing posted is trusted beyond the choice itself, and
    Kratos is asked again (never the login hop's pass: the user may have signed out since the screen showed)."""
    consent_request, tenant, whoami = _load_with_session(request, challenge, use_pass=False)
    action = Action.CONSENT_ACCEPT if accept else Action.CONSENT_REJECT
    checked = _session_for_subject(request, consent_request, tenant, action, whoami)
    if isinstance(checked, Stop):
        return checked
    if not accept:
        replay = _replayed(request, consent_request, tenant, action)
        if replay is not None:
            return replay
        try:
            rejected = hydra.reject_consent_request(
                challenge, error=error, error_description=error_description
            )
        except hydra.HydraError as exc:
            record(
                request,
                action,
                tenant=tenant,
                client=consent_request.client,
                subject=consent_request.subject,
                outcome=AuditEvent.Outcome.FAILURE,
                detail=str(exc),
            )
            raise
        record(
            request,
            action,
            tenant=tenant,
            client=consent_request.client,
            subject=consent_request.subject,
            after={"decision": ConsentDecision.DENIED, "requested_scope": consent_request.requested_scope},
        )
        return Redirect(rejected.redirect_to)
    requested = consent_request.requested_scope
    # Only requested scopes can be granted; openid cannot be unticked when it was asked for.
    grant = [s for s in requested if s in scopes or s == "openid"]
    return _accept_consent(
        request, challenge, consent_request, tenant, grant=grant, remember=remember, identity=checked.identity
    )


def _accept_consent(
    request: HttpRequest,
    challenge: str,
    consent_request: hydra.OAuth2ConsentRequest,
    tenant: Tenant | None,
    *,
    grant: list[str],
    remember: bool,
    identity: kratos.Identity | None = None,
    decision: ConsentDecision = ConsentDecision.ACCEPTED,
    entries: scopes.Catalogue | None = None,
) -> Redirect | Stop:
    """Accept with the claims; then mark the flow answered and queue the accept's event in one transaction (one
    commit on the hop's critical path). A flow marked before is a replay if Hydra has completed it (Hydra v2.3
    answers it with a fresh redirect whose verifier it then refuses): the redirect is never shown, the replay is
    answered and audited as one. Of two concurrent answers of one flow only one gets the mark; the other asks
    Hydra. A grant including a scope the tenant marks "ask every time" is never remembered."""
    if entries is None:
        entries = catalogue.for_tenant(tenant)
    remember = remember and scopes.rememberable(grant, entries)
    remember_for = int(settings.BRIDGE_REMEMBER_CONSENT_FOR) if remember else 0
    token = token_claims(tenant, consent_request.subject, grant, identity, entries)
    try:
        accepted = hydra.accept_consent_request(
            challenge,
            grant_scope=grant,
            grant_access_token_audience=consent_request.requested_access_token_audience,
            remember=remember,
            remember_for=remember_for,
            id_token_claims=token.id_token,
            access_token_claims=token.access_token,
        )
    except hydra.HydraError as exc:
        record(
            request,
            Action.CONSENT_ACCEPT,
            tenant=tenant,
            client=consent_request.client,
            subject=consent_request.subject,
            outcome=AuditEvent.Outcome.FAILURE,
            detail=str(exc),
        )
        raise

    def accepted_event(soon: bool = True) -> None:
        record(
            request,
            Action.CONSENT_ACCEPT,
            tenant=tenant,
            client=consent_request.client,
            subject=consent_request.subject,
            after={
                "decision": decision,  # what the consent ledger folds in
                "grant_scope": grant,
                "audience": consent_request.requested_access_token_audience,
                "remember_for": remember_for if remember else None,
                # Names only: claim values are personal data and belong in the token, not the audit log.
                "claims": sorted(token.id_token) + sorted(f"at:{name}" for name in token.access_token),
            },
            detail=_SKIPPED.get(decision, ""),
            soon=soon,
        )

    flow_id = consent_request.login_challenge
    try:
        with transaction.atomic():
            first = mark_answered(flow_id) if flow_id else True
            if first:
                accepted_event()
    except DatabaseError:
        # The event must not be lost with the mark: written the slow way (audit retries), the flow unmarked.
        log.warning("consent mark and event not written together; writing the event alone", exc_info=True)
        accepted_event(soon=False)
        return Redirect(accepted.redirect_to)
    if not first:
        if _completed_at_hydra(consent_request):
            return _replay_stop(request, consent_request, tenant, Action.CONSENT_ACCEPT)
        accepted_event()
    return Redirect(accepted.redirect_to)


@heals(Action.CONSENT_RESTART)
def switch_account(request: HttpRequest, challenge: str) -> Redirect | Stop:
    """ "Not you?": end this browser's Hydra login session and its Kratos session, then restart the same
    authorization request at Hydra, which now asks for a login again. Only the challenge's subject may."""
    consent_request, tenant = _load(request, challenge)
    action = "bridge.consent.switch_account"
    checked = _session_for_subject(request, consent_request, tenant, action)
    if isinstance(checked, Stop):
        return checked
    if consent_request.login_session_id:
        try:
            hydra.revoke_login_sessions(sid=consent_request.login_session_id)
        except hydra.HydraError as exc:
            record(
                request,
                action,
                tenant=tenant,
                client=consent_request.client,
                subject=checked.identity.id,
                outcome=AuditEvent.Outcome.FAILURE,
                detail=str(exc),
            )
            raise
    record(request, action, tenant=tenant, client=consent_request.client, subject=checked.identity.id)
    restart = consent_request.request_url
    if not is_hydra_url(restart):
        return Redirect(public_url("bridge:logged_out"))  # not a Hydra URL: never send the browser there
    return Redirect(end_kratos_session(request, then=restart))
