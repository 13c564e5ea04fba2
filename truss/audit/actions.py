"""Every audit action, as a contract: one constant each, with the label people read (the audit log's filter and
rows use it). The values are what stored events hold: never change one, add a new action instead.

``audit.record`` refuses an action that is not here (an error in DEBUG and in tests, a logged error in
production, where the event is still written: an audit event is never lost). A new action is one line here and
its call site; tests/audit/test_actions.py checks that every call site names one of these.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import models

logger = logging.getLogger("truss.audit")


class Action(models.TextChoices):
    # Clients (oauth2_admin.clients, hygiene fixes and drift)
    CLIENT_CREATE = "oauth2.client.create", "Client created"
    CLIENT_UPDATE = "oauth2.client.update", "Client updated"
    CLIENT_PATCH = "oauth2.client.patch", "Client patched"
    CLIENT_TOKEN_CONFIG = "oauth2.client.token_config", "Client token lifespans changed"
    CLIENT_ROTATE_SECRET = "oauth2.client.rotate_secret", "Client secret rotated"
    CLIENT_DELETE = "oauth2.client.delete", "Client deleted"
    CLIENT_REVOKE_TOKENS = "oauth2.client.revoke_tokens", "Client's tokens revoked"
    CLIENT_DRIFT_DETECTED = "oauth2.client.drift_detected", "Client change outside Truss detected"
    CLIENT_DRIFT_ADOPT = "oauth2.client.drift_adopt", "Client change outside Truss adopted"
    HYGIENE_REFRESH = "hygiene.refresh", "Hygiene report refreshed"
    HYGIENE_THRESHOLDS_UPDATE = "hygiene.thresholds.update", "Hygiene thresholds changed"
    # Tokens
    TOKEN_REVOKE = "oauth2.token.revoke", "Token revoked"
    TOKENS_FLUSH = "oauth2.tokens.flush", "Expired tokens flushed"
    # Trusted jwt-bearer issuers
    TRUST_CREATE = "oauth2.trust.create", "Trusted issuer added"
    TRUST_DELETE = "oauth2.trust.delete", "Trusted issuer removed"
    TRUST_EXPIRE = "oauth2.trust.expire", "Trusted issuer expired"
    TRUST_ORPHAN_DELETE = "oauth2.trust.orphan.delete", "Hydra trust without a tenant removed"
    # Hydra's signing keys
    KEY_CREATE = "hydra.key.create", "Signing key created"
    KEY_DELETE = "hydra.key.delete", "Signing key deleted"
    KEY_ROTATION_START = "hydra.key.rotation.start", "Key rotation started"
    KEY_ROTATION_PROMOTE = "hydra.key.rotation.promote", "Key rotation: new key promoted"
    KEY_ROTATION_RETIRE = "hydra.key.rotation.retire", "Key rotation: old key retired"
    KEY_ROTATION_CANCEL = "hydra.key.rotation.cancel", "Key rotation cancelled"
    KEY_ROTATION_STEP = "hydra.key.rotation.step", "Key rotation: unknown step refused"
    # API keys, tenants, operators
    APIKEY_CREATE = "apikey.create", "API key created"
    APIKEY_REVOKE = "apikey.revoke", "API key revoked"
    TENANT_CREATE = "tenant.create", "Tenant created"
    TENANT_MEMBER_SET = "tenant.member.set", "Operator role set"
    # Consents and people (oauth2_admin.consents)
    CONSENT_REVOKE = "consent.revoke", "Consent revoked"
    CONSENT_REVOKE_ALL_START = "consent.client.revoke_all.start", "Revoke for everyone started"
    CONSENT_REVOKE_ALL = "consent.client.revoke_all", "Revoke for everyone finished"
    IDENTITY_SESSION_DISABLE = "identity.session.disable", "Sign-in session ended"
    LOGOUT_SUBJECT = "bridge.logout.subject", "Subject logged out (consents revoked)"
    # The bridge: end users' sign-in, consent and logout
    LOGIN_ACCEPT = "bridge.login.accept", "Login accepted (bridge)"
    LOGIN_REJECT = "bridge.login.reject", "Login rejected (bridge)"
    LOGIN_FORGET_REMEMBERED = (
        "bridge.login.forget_remembered",
        "Remembered login of another person ended (bridge)",
    )
    LOGIN_RESTART = "bridge.login.restart", "Expired login request restarted (bridge)"
    CONSENT_RESTART = "bridge.consent.restart", "Expired consent request restarted (bridge)"
    CONSENT_VIEW = "bridge.consent.view", "Consent screen shown (bridge)"
    CONSENT_ACCEPT = "bridge.consent.accept", "Consent accepted (bridge)"
    CONSENT_REJECT = "bridge.consent.reject", "Consent rejected (bridge)"
    CONSENT_SWITCH_ACCOUNT = (
        "bridge.consent.switch_account",
        "Account switched on the consent screen (bridge)",
    )
    DEVICE_ACCEPT = "bridge.device.accept", "Device code accepted (bridge)"
    LOGOUT_ACCEPT = "bridge.logout.accept", "Logout accepted (bridge)"
    LOGOUT_REJECT = "bridge.logout.reject", "Logout cancelled (bridge)"
    CLAIMS_UPDATE = "bridge.claims.update", "Token claims changed"
    BRIDGE_CHECK_RUN = "bridge.check.run", "Bridge check run"
    # The scope catalogue (oauth2_admin.scopes)
    SCOPE_CREATE = "oauth2.scope.create", "Scope added to the catalogue"
    SCOPE_UPDATE = "oauth2.scope.update", "Scope changed"
    SCOPE_DELETE = "oauth2.scope.delete", "Scope removed from the catalogue"
    # The audit log itself (retention)
    AUDIT_ARCHIVE = "audit.archive", "Older audit events archived and removed"
    # Developer tools
    DEVTOOLS_FLOW_RUN = "devtools.flow.run", "Test flow step (developer tools)"
    DEVTOOLS_FLOW_REVOKE = "devtools.flow.revoke", "Test flow's token revoked (developer tools)"


class ConsentDecision(models.TextChoices):
    """``after["decision"]`` of the bridge's consent events, which the consent ledger folds in."""

    ACCEPTED = "accepted", "Accepted on the consent screen"
    REMEMBERED = "remembered", "Skipped: Hydra remembered an earlier consent"
    SKIPPED = "skipped", "Skipped: the client has skip_consent"
    DENIED = "denied", "Refused on the consent screen"


KNOWN: frozenset[str] = frozenset(Action.values)
LABELS: dict[str, str] = {str(value): str(label) for value, label in Action.choices}


class UnknownAction(ValueError):
    """An audit action that is not in the registry (truss/audit/actions.py)."""


def label(action: str) -> str:
    """The action's label; an action stored before it was registered shows as itself."""
    return LABELS.get(action, action)


def check(action: str) -> None:
    """Refuse an action not in the registry: raise where someone can fix it (DEBUG, tests: AUDIT_STRICT_ACTIONS),
    log in production, where the caller still writes the event."""
    if action in KNOWN:
        return
    if getattr(settings, "AUDIT_STRICT_ACTIONS", settings.DEBUG):
        raise UnknownAction(f"audit action {action!r} is not in truss/audit/actions.py")
    logger.error(
        "audit action %r is not in the registry (truss/audit/actions.py); written all the same", action
    )
