"""The client security linter: RFC 9700 (OAuth 2.0 Security BCP, January 2025) and OpenID guidance, rule by rule.

Each rule has an id, a severity and a one-line reason citing its source; where a change is safe, a fix expressed
as a change for the client service (`update_for` changes or `set_token_config` payload), so applying it is the
normal audited merge update. What the linter needs besides the client (when Truss set its secret, when a user
last consented to it, the tenant's thresholds) is loaded once per tenant (`facts_for`): a report over a
thousand clients costs one paged Hydra listing and two audit queries, never a call per client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from oauth2_admin.clients import service as clients
from oauth2_admin.hygiene.models import Thresholds
from oauth2_admin.scopes import catalogue
from truss import durations
from truss.audit import Action
from truss.models import AuditEvent, Tenant
from truss.ory import hydra
from truss.urls_check import fetch_problem, is_loopback_host

Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")
SEVERITY_WEIGHT: dict[str, int] = {"high": 30, "medium": 12, "low": 4}

# Hydra's built-in token lifetimes (ttl.access_token 1h, ttl.refresh_token 720h); ory/hydra.yml sets no ttl.*,
# so a client without its own lifespan gets these.
HYDRA_DEFAULT_ACCESS_SECONDS = 3600
HYDRA_DEFAULT_REFRESH_SECONDS = 720 * 3600

SECRET_ACTIONS = (Action.CLIENT_CREATE, Action.CLIENT_ROTATE_SECRET)
CONSENT_ACTION = Action.CONSENT_ACCEPT

_ACCESS_LIFESPAN_BY_GRANT = {
    "authorization_code": "authorization_code_grant_access_token_lifespan",
    "client_credentials": "client_credentials_grant_access_token_lifespan",
    "implicit": "implicit_grant_access_token_lifespan",
    clients.JWT_BEARER_GRANT: "jwt_bearer_grant_access_token_lifespan",
    "refresh_token": "refresh_token_grant_access_token_lifespan",
}
_REFRESH_LIFESPANS = (
    "authorization_code_grant_refresh_token_lifespan",
    "refresh_token_grant_refresh_token_lifespan",
)


@dataclass(frozen=True)
class Fix:
    """A safe change: `changes` for clients.update_for, or `token_config` for clients.set_token_config."""

    summary: str
    changes: dict[str, Any] = field(default_factory=dict)
    token_config: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"summary": self.summary}
        if self.changes:
            out["changes"] = self.changes
        if self.token_config:
            out["token_config"] = self.token_config
        return out


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    title: str
    reason: str  # one line, citing the RFC section
    detail: str  # what about this client triggered it
    fix: Fix | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "title": self.title,
            "reason": self.reason,
            "detail": self.detail,
            "fix": self.fix.as_dict() if self.fix else None,
        }


@dataclass
class Facts:
    """What the rules need besides the client, loaded once per tenant."""

    thresholds: Thresholds
    now: datetime
    secret_set_at: dict[str, datetime] = field(default_factory=dict)
    last_consent_at: dict[str, datetime] = field(default_factory=dict)
    pkce_enforced: str = "off"
    seconds: dict[str, dict[str, int | None]] = field(default_factory=dict)  # lifespans per client, memoised
    catalogues: dict[str, frozenset[str]] = field(default_factory=dict)  # scope names per owner, memoised


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    title: str
    reason: str
    check: Callable[[hydra.OAuth2Client, Facts], tuple[str, Fix | None] | None]


def facts_for(
    tenant: Tenant, client_ids: Iterable[str] | None = None, *, now: datetime | None = None
) -> Facts:
    """Thresholds plus, per client, when Truss last set its secret and when a user last consented: two grouped
    audit queries for the whole tenant (or just `client_ids`)."""
    events = AuditEvent.objects.filter(tenant=tenant, outcome=AuditEvent.Outcome.SUCCESS)
    if client_ids is not None:
        events = events.filter(target__in=list(client_ids))
    latest = (
        events.filter(action__in=(*SECRET_ACTIONS, CONSENT_ACTION))
        .values_list("target", "action")
        .annotate(at=Max("created_at"))
        .order_by()
    )
    facts = Facts(
        thresholds=Thresholds.for_tenant(tenant),
        now=now or timezone.now(),
        pkce_enforced=str(getattr(settings, "HYDRA_PKCE_ENFORCED", "off")).lower(),
    )
    for target, action, at in latest:
        bucket = facts.last_consent_at if action == CONSENT_ACTION else facts.secret_set_at
        if target not in bucket or at > bucket[target]:
            bucket[target] = at
    return facts


# --- rules -----------------------------------------------------------------------------------------------------


def _implicit(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    hybrid = [r for r in client.response_types if set(r.split()) & {"token", "id_token"}]
    if "implicit" not in client.grant_types and not hybrid:
        return None
    what = ", ".join(
        ["grant implicit"] * ("implicit" in client.grant_types) + [f"response type {r!r}" for r in hybrid]
    )
    grants = [g for g in client.grant_types if g != "implicit"]
    if "authorization_code" not in grants:
        grants.insert(0, "authorization_code")
    fix = Fix(
        "use authorization code instead: drop the implicit grant and token/id_token response types",
        changes={"grant_types": grants, "response_types": ["code"]},
    )
    return what, (fix if client.redirect_uris else None)


def _pkce(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    if not (client.is_public and "authorization_code" in client.grant_types):
        return None
    if facts.pkce_enforced in ("public", "all"):
        return None
    return (
        "public client with authorization code; Hydra does not enforce PKCE "
        "(HYDRA_PKCE_ENFORCED=off): set oauth2.pkce.enforced_for_public_clients in Hydra",
        None,
    )


def _redirect_http(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    bad = [
        u
        for u in client.redirect_uris + client.post_logout_redirect_uris
        if urlsplit(u).scheme == "http" and not is_loopback_host(urlsplit(u).hostname or "")
    ]
    return (", ".join(bad), None) if bad else None


def _redirect_scheme(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    bad = [
        u
        for u in client.redirect_uris + client.post_logout_redirect_uris
        if clients.redirect_scheme_problem(u) is not None
    ]
    return (", ".join(bad), None) if bad else None


def _fetch_internal(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    bad = [
        f"{name} {uri} {problem}"
        for name, uri in clients.fetched_uris(client)
        if (problem := fetch_problem(uri))
    ]
    return ("; ".join(bad), None) if bad else None


def _redirect_pattern(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    bad = [u for u in client.redirect_uris + client.post_logout_redirect_uris if "*" in u or "#" in u]
    return (", ".join(bad), None) if bad else None


def _secret_post(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    if client.token_endpoint_auth_method != "client_secret_post":
        return None
    fix = Fix(
        "authenticate with HTTP Basic (client_secret_basic)",
        changes={"token_endpoint_auth_method": "client_secret_basic"},
    )
    return "token_endpoint_auth_method is client_secret_post", fix


def _secret_age(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    if client.token_endpoint_auth_method not in ("client_secret_basic", "client_secret_post"):
        return None
    limit = facts.thresholds.secret_max_age_days
    set_at = facts.secret_set_at.get(client.client_id)
    if set_at is None:
        return (
            f"secret set before Truss (age unknown); rotate it to start the clock (limit {limit} days)",
            None,
        )
    age = facts.now - set_at
    if age <= timedelta(days=limit):
        return None
    return f"secret set {age.days} days ago (limit {limit} days); rotate it", None


def _effective(client: hydra.OAuth2Client, facts: Facts, names: Iterable[str], default: int) -> int:
    seconds = facts.seconds.get(client.client_id)
    if seconds is None:  # once per client: three rules read them, and a report lints thousands
        seconds = facts.seconds[client.client_id] = clients.lifespans_in_seconds(client)
    return max((seconds.get(name) or default for name in names), default=0)


def _access_names(client: hydra.OAuth2Client) -> list[str]:
    return [name for grant, name in _ACCESS_LIFESPAN_BY_GRANT.items() if grant in client.grant_types]


def _too_long(what: str, ttl: str, longest: int, limit: int) -> tuple[str, Fix | None] | None:
    """The lifespan rules' finding: `what` (tokens) live `longest` seconds, over `limit`; the fix sets the TTL."""
    if longest <= limit:
        return None
    fix = Fix(f"shorten {what} to {durations.human(limit)}", token_config={ttl: limit})
    return f"{what} live {durations.human(longest)} (limit {durations.human(limit)})", fix


def _refresh_lifespan(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    if "refresh_token" not in client.grant_types:
        return None
    longest = _effective(client, facts, _REFRESH_LIFESPANS, HYDRA_DEFAULT_REFRESH_SECONDS)
    return _too_long(
        "refresh tokens", "refresh_token_ttl", longest, facts.thresholds.max_refresh_token_seconds
    )


def _access_lifespan(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    longest = _effective(client, facts, _access_names(client), HYDRA_DEFAULT_ACCESS_SECONDS)
    return _too_long("access tokens", "access_token_ttl", longest, facts.thresholds.max_access_token_seconds)


def _jwt_lifespan(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    if client.access_token_strategy != "jwt":
        return None
    longest = _effective(client, facts, _access_names(client), HYDRA_DEFAULT_ACCESS_SECONDS)
    limit = facts.thresholds.max_jwt_access_token_seconds
    return _too_long("JWT access tokens", "access_token_ttl", longest, limit)


def _skip_consent(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    if not client.skip_consent:
        return None
    own = {h.lower() for h in facts.thresholds.own_hosts}
    hosts = sorted({(urlsplit(u).hostname or urlsplit(u).scheme).lower() for u in client.redirect_uris})
    foreign = [h for h in hosts if h not in own and not is_loopback_host(h)]
    if not foreign:
        return None
    fix = Fix("ask users for consent again (skip_consent off)", changes={"skip_consent": False})
    return f"consent is skipped for redirects to {', '.join(foreign)}, not among the tenant's own hosts", fix


def _idle(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    if not {"authorization_code", "implicit"} & set(client.grant_types):
        return None  # client_credentials issuance is invisible to Truss; only consents are seen
    limit = timedelta(days=facts.thresholds.idle_days)
    last = facts.last_consent_at.get(client.client_id)
    since = last or client.created_at
    if since is None or facts.now - since <= limit:
        return None
    when = f"last consent {(facts.now - last).days} days ago" if last else "no consent since it was created"
    return f"no consent in {facts.thresholds.idle_days} days ({when}); delete it if unused", None


def _logout_redirect(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    uses = [n for n in ("frontchannel_logout_uri", "backchannel_logout_uri") if getattr(client, n)]
    if not uses or client.post_logout_redirect_uris:
        return None
    return f"{' and '.join(uses)} set, but no post_logout_redirect_uris", None


def _catalogue(client: hydra.OAuth2Client, facts: Facts) -> frozenset[str]:
    """The scope names of the client's tenant's catalogue (standard ones included): one query per tenant."""
    owner = client.owner or ""
    known = facts.catalogues.get(owner)
    if known is None:
        known = facts.catalogues[owner] = frozenset(catalogue.for_tenant(Tenant.for_owner(owner)))
    return known


def _unknown_scope(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    scopes = (client.scope or "").split()
    known = _catalogue(client, facts)
    unknown = [s for s in scopes if s not in known]
    if not unknown:
        return None
    kept = " ".join(s for s in scopes if s in known)
    fix = Fix(f"remove {', '.join(unknown)} from the client's scope", changes={"scope": kept})
    return f"{', '.join(unknown)} not in the scope catalogue: add it there or remove it from the client", fix


def _metadata_http(client: hydra.OAuth2Client, facts: Facts) -> tuple[str, Fix | None] | None:
    names = ("logo_uri", "policy_uri", "tos_uri", "client_uri")
    bad = [
        f"{n} {getattr(client, n)}" for n in names if (getattr(client, n) or "").lower().startswith("http://")
    ]
    return ("; ".join(bad), None) if bad else None


RULES: tuple[Rule, ...] = (
    Rule(
        "implicit-grant",
        "high",
        "Implicit or hybrid flow",
        "Tokens in the front channel leak and cannot be sender-constrained; use code + PKCE (RFC 9700 §2.1.2).",
        _implicit,
    ),
    Rule(
        "public-client-pkce",
        "high",
        "Public client without enforced PKCE",
        "Authorization code without PKCE allows code injection; public clients MUST use it (RFC 9700 §2.1.1).",
        _pkce,
    ),
    Rule(
        "redirect-http",
        "high",
        "Plain http redirect URI",
        "Redirects over http outside loopback expose codes and tokens (RFC 9700 §2.6; RFC 8252 §7.3).",
        _redirect_http,
    ),
    Rule(
        "redirect-scheme",
        "high",
        "Redirect URI with an unsafe scheme",
        "Redirects go to https, loopback http or a native app's reverse-domain private-use scheme; ftp, file, "
        "javascript or data are never a client (RFC 9700 §2.1; RFC 8252 §7.1).",
        _redirect_scheme,
    ),
    Rule(
        "fetch-internal-host",
        "high",
        "Hydra fetches a URI on an internal host",
        "Hydra requests jwks_uri, sector_identifier_uri, request_uris and backchannel_logout_uri itself: an "
        "internal host lets a tenant reach the deployment's own network (SSRF; RFC 9101 §10.4.1).",
        _fetch_internal,
    ),
    Rule(
        "redirect-pattern",
        "medium",
        "Wildcard or fragment in a redirect URI",
        "Redirect URIs must match exactly, without patterns or fragments (RFC 9700 §2.1, §4.1; RFC 6749 §3.1.2).",
        _redirect_pattern,
    ),
    Rule(
        "client-secret-post",
        "low",
        "Secret sent in the request body",
        "client_secret_basic or private_key_jwt keep the secret out of bodies and logs (RFC 9700 §2.5; RFC 6749 §2.3.1).",
        _secret_post,
    ),
    Rule(
        "secret-age",
        "medium",
        "Old client secret",
        "Long-lived shared secrets widen the window of a leak; rotate or move to private_key_jwt (RFC 9700 §2.5).",
        _secret_age,
    ),
    Rule(
        "refresh-token-lifespan",
        "medium",
        "Long-lived refresh tokens",
        "Hydra rotates refresh tokens on use, but a long lifespan extends what a stolen one is worth (RFC 9700 §4.14.2).",
        _refresh_lifespan,
    ),
    Rule(
        "access-token-lifespan",
        "medium",
        "Long-lived access tokens",
        "A stolen access token works until it expires; keep lifetimes short (RFC 9700 §4.10).",
        _access_lifespan,
    ),
    Rule(
        "jwt-access-token-lifespan",
        "medium",
        "Long-lived JWT access tokens",
        "JWT access tokens are self-contained and cannot be revoked before they expire (RFC 9700 §4.10; RFC 9068).",
        _jwt_lifespan,
    ),
    Rule(
        "skip-consent-foreign",
        "high",
        "Consent skipped for a third-party host",
        "Only first-party clients may skip consent; otherwise the server acts as an open redirector (RFC 9700 §4.11.2).",
        _skip_consent,
    ),
    Rule(
        "idle-client",
        "low",
        "Client not used recently",
        "Unused clients are unmonitored credentials; least privilege says remove them (RFC 9700 §2.3).",
        _idle,
    ),
    Rule(
        "logout-no-post-redirect",
        "low",
        "Logout URIs without a post-logout redirect",
        "RP-initiated logout needs a registered post_logout_redirect_uri (OpenID RP-Initiated Logout 1.0 §3).",
        _logout_redirect,
    ),
    Rule(
        "metadata-http",
        "low",
        "Client metadata URIs over http",
        "Logo, policy and terms shown on the consent screen must not be loaded over http (RFC 9700 §2.6).",
        _metadata_http,
    ),
    Rule(
        "scope-not-in-catalogue",
        "low",
        "Scope not in the catalogue",
        "People consent to what the consent screen describes; a scope the catalogue does not define is shown by "
        "name only, and a client should request no more than it needs (RFC 6749 §3.3; RFC 9700 §2.3).",
        _unknown_scope,
    ),
)
RULES_BY_ID = {rule.id: rule for rule in RULES}


def lint(client: hydra.OAuth2Client, facts: Facts) -> list[Finding]:
    """Every finding for one client, most severe first."""
    found = []
    for rule in RULES:
        hit = rule.check(client, facts)
        if hit is not None:
            detail, fix = hit
            found.append(Finding(rule.id, rule.severity, rule.title, rule.reason, detail, fix))
    return sorted(found, key=lambda f: SEVERITIES.index(f.severity))


def score(findings: Iterable[Finding]) -> int:
    """100 for a clean client, minus a weight per finding's severity, never below 0."""
    return max(0, 100 - sum(SEVERITY_WEIGHT[f.severity] for f in findings))


def findings_for(tenant: Tenant, client: hydra.OAuth2Client, *, now: datetime | None = None) -> list[Finding]:
    return lint(client, facts_for(tenant, [client.client_id], now=now))


# Rules whose concern the client service's own notes already state (clients.warnings_for): an answer carries
# each concern once.
_NOTED_BY_CLIENTS = frozenset({"implicit-grant", "public-client-pkce", "redirect-http", "redirect-pattern"})


def answer_warnings(client: hydra.OAuth2Client) -> list[str]:
    """The linter's say on a client the API just wrote, for the answer's `warnings` (registered with the client
    service by HygieneConfig.ready: clients never imports hygiene)."""
    tenant = Tenant.for_owner(client.owner)
    if tenant is None:
        return []
    found = findings_for(tenant, client)
    return [f"{f.title}: {f.detail}. {f.reason}" for f in found if f.rule not in _NOTED_BY_CLIENTS]


def findings_as_warnings(client: hydra.OAuth2Client) -> list[str]:
    """The linter's findings as sentences for the create/update answers' `warnings`."""
    tenant = Tenant.for_owner(client.owner)
    if tenant is None:
        return []
    return [
        f"{f.title} ({f.rule}, {f.severity}): {f.detail}. {f.reason}" for f in findings_for(tenant, client)
    ]


# --- fixes -------------------------------------------------------------------------------------------------------


class NoFix(Exception):
    """The rule does not fire on this client (any more), or has no safe fix."""


def fix_for(tenant: Tenant, client: hydra.OAuth2Client, rule_id: str) -> Finding:
    """The finding of `rule_id` on this client, with its fix; NoFix if there is none."""
    if rule_id not in RULES_BY_ID:
        raise NoFix(f"There is no rule {rule_id!r}.")
    finding = next((f for f in findings_for(tenant, client) if f.rule == rule_id), None)
    if finding is None:
        raise NoFix("This rule does not flag the client (any more).")
    if finding.fix is None:
        raise NoFix("This finding has no automatic fix; change the client by hand.")
    return finding


def preview(client: hydra.OAuth2Client, fix: Fix) -> dict[str, Any]:
    """The client as it would be after the fix (public_view shape), for the confirmation's diff."""
    after = clients.public_view(client)
    after.update(fix.changes)
    config = fix.token_config
    seconds = clients.lifespans_in_seconds(client)
    for ttl, names in clients.TTL_FIELDS.items():
        if ttl in config:
            seconds.update(dict.fromkeys(names, config[ttl]))
    if config:
        for name, value in seconds.items():
            if value:
                after[name] = durations.to_go(value)
            else:
                after.pop(name, None)
    return after


def apply_fix(
    request: HttpRequest | None, tenant: Tenant, client_id: str, rule_id: str, *, if_match: str | None
) -> hydra.OAuth2Client:
    """Apply one rule's fix through the client service (one audited update or token_config event)."""
    client = clients.get_for(tenant, client_id)
    fix = fix_for(tenant, client, rule_id).fix
    assert fix is not None
    if fix.token_config:
        return clients.set_token_config(request, tenant, client_id, fix.token_config, if_match=if_match)
    updated, _ = clients.update_for(request, tenant, client_id, fix.changes, if_match=if_match)
    return updated
