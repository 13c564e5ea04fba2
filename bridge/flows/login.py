"""Login: accept Hydra's login from the browser's Kratos session, or send the browser to Kratos's login.

Hydra's ``skip`` (a remembered login) is only taken when the browser's Kratos session still exists and belongs
to the remembered subject: signing out of Kratos, or an admin revoking the session, ends single sign-on too.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from bridge import i18n
from bridge.flows.common import (
    FUTURE_TIMEOUT,
    Redirect,
    Stop,
    cookies,
    heals,
    in_background,
    max_age,
    prompt_values,
    query_value,
    read_sent_marker,
    record,
    remember_request_url,
    sent_marker,
    tenant_for_client,
)
from bridge.flows.login_pass import flow_key, login_pass
from bridge.links import InvalidChallenge, clean_challenge, is_hydra_url, is_kratos_url, public_url
from truss.audit import Action
from truss.models import Tenant
from truss.ory import hydra, kratos


def _remember_for(session: kratos.Session) -> int:
    """Hydra's remembered login must not outlive the Kratos session it stands for."""
    seconds = int(settings.BRIDGE_REMEMBER_LOGIN_FOR)
    if session.expires_at is not None:
        seconds = min(seconds, int((session.expires_at - timezone.now()).total_seconds()))
    return max(seconds, 0)


@heals(Action.LOGIN_RESTART)
def login(request: HttpRequest, challenge: str, sent: str | None = None) -> Redirect | Stop:
    """Accept Hydra's login from the browser's Kratos session, or send the browser to Kratos's login; a challenge
    that expired meanwhile (a long visit to Kratos) restarts its authorization request once."""
    jar = cookies(request)
    whoami = in_background(lambda: kratos.whoami(jar))  # independent of Hydra's answer: at the same time
    login_request = hydra.get_login_request(challenge)
    remember_request_url(challenge, login_request.request_url)
    # A remembered login is accepted while Kratos is still being asked: the answer (its redirect) reaches the
    # browser only if Kratos confirms the subject, and is thrown away unseen otherwise, which Hydra's
    # challenges allow (they can be answered again). Only when there is a Kratos cookie to confirm it at all.
    # Started before anything else here: the locale and the tenant are not needed for it.
    early = (
        in_background(lambda: hydra.accept_login_request(challenge, subject=login_request.subject))
        if login_request.skip and jar
        else None
    )
    i18n.use(request, login_request.oidc_context.ui_locales if login_request.oidc_context else None)
    tenant = tenant_for_client(login_request.client)
    try:
        session = whoami.result(timeout=FUTURE_TIMEOUT)
    except kratos.KratosForbidden as exc:
        # session_aal2_required: Kratos names the step-up URL.
        if is_kratos_url(exc.redirect_to):
            return Redirect(str(exc.redirect_to))
        raise
    if login_request.skip:
        if session is not None and session.identity.id == login_request.subject:
            # Hydra remembers this subject and Kratos confirms it: accept with exactly it, no UI. The consent
            # hop's pass is stored while Hydra is still accepting (unused, it expires; it is bound to this flow).
            passed = _pass(login_request, session)
            accepted = (
                early.result(timeout=FUTURE_TIMEOUT)
                if early is not None
                else hydra.accept_login_request(challenge, subject=login_request.subject)
            )
            record(
                request,
                Action.LOGIN_ACCEPT,
                tenant=tenant,
                client=login_request.client,
                subject=login_request.subject,
                detail="remembered by Hydra, Kratos session confirmed",
                soon=True,
            )
            return Redirect(accepted.redirect_to, login_pass=passed)
        if session is not None:
            return _forget_remembered_login(request, login_request, tenant, session)
        # The Kratos session behind Hydra's remembered login has ended: treat it as no login at all.

    prompt = prompt_values(login_request.request_url)
    marker = read_sent_marker(sent, challenge)
    if session is not None:
        fresh = marker is not None and marker.is_fresh(session)
        limit = max_age(login_request.request_url)
        too_old = (
            limit is not None
            and session.authenticated_at is not None
            and (timezone.now() - session.authenticated_at).total_seconds() > limit
        )
        if fresh or not ("login" in prompt or too_old):
            return _accept_login(request, challenge, login_request, tenant, session)
    if "none" in prompt:
        # prompt=none forbids any UI: tell the client instead (OIDC Core §3.1.2.6).
        rejected = hydra.reject_login_request(
            challenge, error="login_required", error_description="The user is not signed in."
        )
        why = "Kratos session ended" if login_request.skip else "no Kratos session"
        record(
            request,
            Action.LOGIN_REJECT,
            tenant=tenant,
            client=login_request.client,
            subject=None,
            detail=f"login_required (prompt=none; {why})",
        )
        return Redirect(rejected.redirect_to)
    if marker is not None:
        # Kratos already had its turn for this challenge and the browser came back without a (fresh)
        # session: cookies blocked, or re-authentication skipped. Explain instead of looping.
        return Stop("login_not_completed", status=400)
    return_to = public_url("bridge:login", login_challenge=challenge, sent=sent_marker(challenge, session))
    return Redirect(kratos.browser_flow_url("login", return_to=return_to, refresh=session is not None))


def _pass(login_request: hydra.OAuth2LoginRequest, session: kratos.Session) -> str:
    return login_pass(flow_key(login_request.request_url, login_request.session_id), session)


def _forget_remembered_login(
    request: HttpRequest,
    login_request: hydra.OAuth2LoginRequest,
    tenant: Tenant | None,
    session: kratos.Session,
) -> Redirect | Stop:
    """Hydra remembers someone else than the browser's Kratos session: end Hydra's remembered login and start
    the same authorization request again, which Hydra then hands to the bridge without ``skip``."""
    restart = login_request.request_url
    if login_request.session_id:
        hydra.revoke_login_sessions(sid=login_request.session_id)
    record(
        request,
        "bridge.login.forget_remembered",
        tenant=tenant,
        client=login_request.client,
        subject=session.identity.id,
        detail="Hydra's remembered login belongs to another identity",
    )
    if not is_hydra_url(restart):
        return Stop("login_not_completed", status=400)  # never send the browser anywhere but Hydra
    return Redirect(restart)


def _accept_login(
    request: HttpRequest,
    challenge: str,
    login_request: hydra.OAuth2LoginRequest,
    tenant: Tenant | None,
    session: kratos.Session,
) -> Redirect:
    remember_for = _remember_for(session)
    accepted = hydra.accept_login_request(
        challenge,
        subject=session.identity.id,
        remember=remember_for > 0,
        remember_for=remember_for,
        acr=session.authenticator_assurance_level or "0",
        amr=session.amr,
        identity_provider_session_id=session.id,
    )
    record(
        request,
        Action.LOGIN_ACCEPT,
        tenant=tenant,
        client=login_request.client,
        subject=session.identity.id,
        after={
            "amr": session.amr,
            "acr": session.authenticator_assurance_level,
            "remember_for": remember_for,
        },
        soon=True,
    )
    return Redirect(accepted.redirect_to, login_pass=_pass(login_request, session))


def login_request_for_flow(flow: kratos.SelfServiceFlow) -> hydra.OAuth2LoginRequest | None:
    """The Hydra login request a Kratos login flow serves (its return_to is our bridge URL), if any.

    Gives the Kratos login page the client's name, the tenant's branding, ``ui_locales`` and ``login_hint``.
    """
    return_to = flow.return_to or ""
    if not return_to.startswith(public_url("bridge:login") + "?"):
        return None
    try:
        challenge = clean_challenge(query_value(return_to, "login_challenge"))
        return hydra.get_login_request(challenge)
    except (InvalidChallenge, hydra.HydraError):
        return None  # branding is a nicety: the login form works without it
