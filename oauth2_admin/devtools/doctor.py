"""Flow doctor: why did an authorization request fail? An operator pastes what the application received (its
callback with `error`/`error_description`/`error_hint`, or Hydra's error page URL) and/or the authorization URL it
sent; the doctor finds the tenant's client, checks the request against the client's configuration and reads
Hydra's error in plain words. Reading is not a mutation: nothing is audited here. A finding that a client change
fixes carries a hygiene `Fix`; the console applies it through the hygiene confirmation (diff, ETag, audited)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.db.models import Q

from oauth2_admin.clients import service as clients
from oauth2_admin.hygiene.service import Fix
from truss.models import AuditEvent, Tenant
from truss.ory import hydra

MAX_URL = 8192
# What the doctor can read (the API's schema states the same): no control characters, and a parameter to read —
# an "=" after the first "?" or "#", or a bare query string (no "?", "#" or "/").
_TEXT = r"[^\x00-\x1f\x7f]"
_BARE = r"[^\x00-\x1f\x7f?#/]"
URL_PATTERN = rf"^{_TEXT}*[?#]{_TEXT}*={_TEXT}*$|^{_BARE}*={_BARE}*$"
_URL = re.compile(URL_PATTERN)
EVENTS = 20
NOT_FOUND = (
    "No client with this id exists in this tenant. Check the client_id the application sends (a typo, a client "
    "of another environment or tenant, or one that was deleted)."
)


@dataclass(frozen=True)
class Finding:
    code: str
    message: str  # plain words: what is wrong and what to do
    fix: Fix | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "fix": self.fix.as_dict() if self.fix else None}


@dataclass
class Diagnosis:
    kind: str  # "authorization_request", "error_callback", "callback", "unknown"
    client_id: str = ""
    client_found: bool = False
    error: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        if all(f.code != finding.code for f in self.findings):
            self.findings.append(finding)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "client_id": self.client_id,
            "client_found": self.client_found,
            "error": self.error,
            "findings": [f.as_dict() for f in self.findings],
            "events": self.events,
        }


class BadInput(ValueError):
    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in fields.items()))
        self.fields = fields


def parse_url(value: str, name: str) -> dict[str, str]:
    """The query and fragment parameters of a pasted URL (a bare query string works too)."""
    text = value.strip()
    if len(text) > MAX_URL:
        raise BadInput({name: [f"At most {MAX_URL} characters."]})
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise BadInput({name: ["Control characters are not allowed."]})
    if not _URL.match(text):
        raise BadInput({name: ["This URL has no parameters to read: paste the whole URL, with its ?query."]})
    head, _, fragment = text.partition("#")
    query = head.partition("?")[2] if "?" in head or "#" in text else head
    params: dict[str, str] = {}
    for chunk in (query, fragment):
        if "=" not in chunk:
            continue
        for key, val in parse_qsl(chunk, keep_blank_values=True):
            params.setdefault(key, val)
    if not params:
        raise BadInput({name: ["This URL has no parameters to read: paste the whole URL, with its ?query."]})
    return params


# --- Hydra's error, read ------------------------------------------------------------------------------------

# (finding code, pattern on error_hint/error_description, plain words). First match wins.
_HINTS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "auth_method_mismatch",
        re.compile(r"client authentication method .*but method .*was requested", re.I | re.S),
        "The application authenticates at the token endpoint with another method than the client's "
        "token_endpoint_auth_method (client_secret_basic is the Authorization header, client_secret_post the "
        "form body). Make the application use the client's method, or change the method.",
    ),
    (
        "redirect_uri_mismatch",
        re.compile(
            r"redirect_uri.*(does not match|not.*pre-registered)|pre-registered redirect", re.I | re.S
        ),
        "The redirect_uri in the request is not one of the client's registered redirect URIs; Hydra compares "
        "them exactly (scheme, host, port, path, trailing slash and query).",
    ),
    (
        "pkce_plain",
        re.compile(r"code_challenge_method=S256|plain is not allowed", re.I),
        "The request used code_challenge_method=plain; Hydra accepts only S256. Send the SHA-256 challenge.",
    ),
    (
        "pkce_missing",
        re.compile(r"code_challenge.*missing|enforces PKCE", re.I | re.S),
        "The request has no code_challenge, and Hydra requires PKCE for this client. Send code_challenge "
        "and code_challenge_method=S256 (and code_verifier at the token endpoint).",
    ),
    (
        "scope_not_allowed",
        re.compile(r"not allowed to request scope", re.I),
        "The request asks for a scope the client may not request. Request only the client's scopes, or add it.",
    ),
    (
        "response_type_not_enabled",
        re.compile(r"not allowed to request response_type|response_type", re.I),
        "The client may not use the response_type of this request. Use one of its response types, or enable it.",
    ),
    (
        "grant_not_enabled",
        re.compile(r"not allowed to use (the )?authorization grant", re.I),
        "The client may not use the grant this request needs. Enable the grant type on the client.",
    ),
    (
        "audience_not_allowed",
        re.compile(r"audience", re.I),
        "The request asks for an audience the client may not request. Add it to the client's audience.",
    ),
    (
        "state_too_short",
        re.compile(r"'state' must be at least", re.I),
        "The state parameter is shorter than 8 characters; Hydra requires at least 8 for enough entropy. "
        "Send a random state of 16 characters or more.",
    ),
    (
        "max_age_invalid",
        re.compile(r"max_age", re.I),
        "max_age must be a whole number of seconds (0 or more).",
    ),
)

# Error codes with no more specific hint.
_ERRORS = {
    "login_required": (
        "login_required",
        "The request had prompt=none, but the user has no sign-in session at Hydra, so Hydra could not answer "
        "without showing a login page. Send the user through a normal request (without prompt=none) first.",
    ),
    "consent_required": (
        "consent_required",
        "The request had prompt=none, but the user has not consented to this client and scope yet.",
    ),
    "interaction_required": (
        "interaction_required",
        "The request had prompt=none, but Hydra needs the user to act (sign in or consent).",
    ),
    "access_denied": (
        "access_denied",
        "The user (or the bridge, for a policy reason) refused the request: the application got no access.",
    ),
    "invalid_client": ("unknown_client", NOT_FOUND),
    "unsupported_response_type": (
        "response_type_not_enabled",
        "The client may not use the response_type of this request.",
    ),
    "invalid_scope": ("scope_not_allowed", "The request asks for a scope the client may not request."),
    "request_forbidden": ("request_forbidden", "Hydra refused the request (request_forbidden)."),
    "server_error": ("server_error", "Hydra failed while answering; look at Hydra's logs at that time."),
}


def read_error(params: Mapping[str, str]) -> Finding | None:
    """The finding Hydra's error parameters point at (None without `error`)."""
    code = params.get("error")
    if not code:
        return None
    text = " ".join(params.get(k, "") for k in ("error_hint", "error_description"))
    for finding_code, pattern, words in _HINTS:
        if pattern.search(text):
            return Finding(finding_code, words)
    if code in _ERRORS:
        return Finding(*_ERRORS[code])
    hint = params.get("error_hint") or params.get("error_description") or ""
    return Finding("other_error", f"Hydra answered {code}{': ' + hint if hint else ''}.")


# --- the request, checked against the client -------------------------------------------------------------


def scope_allowed(requested: str, allowed: list[str]) -> bool:
    """Hydra's wildcard scope strategy: exact, or `a.*` matching `a.b` segment by segment."""
    if requested in allowed:
        return True
    needle = requested.split(".")
    for matcher in allowed:
        parts = matcher.split(".")
        if "*" not in parts or len(parts) > len(needle):
            continue
        if all(p == "*" or p == needle[i] for i, p in enumerate(parts)):
            return True
    return False


def _host(netloc: str) -> str:
    """The host as written (urlsplit's hostname is lowercased), without user info or port."""
    host = netloc.rpartition("@")[2]
    return host.partition("]")[0] + "]" if host.startswith("[") else host.split(":")[0]


def redirect_difference(sent: str, registered: list[str]) -> str:
    """Why `sent` matches none of `registered`, against the closest one, in plain words."""
    if not registered:
        return "The client has no redirect URIs registered."
    a = urlsplit(sent)

    def closeness(uri: str) -> int:
        b = urlsplit(uri)
        return sum(
            (
                a.scheme == b.scheme,
                (a.hostname or "") == (b.hostname or ""),
                a.port == b.port,
                a.path.rstrip("/") == b.path.rstrip("/"),
                a.query == b.query,
            )
        )

    best = max(registered, key=closeness)
    b = urlsplit(best)
    reasons = []
    if a.scheme != b.scheme:
        reasons.append(f"the scheme is {a.scheme or '(none)'}, registered is {b.scheme}")
    host_a, host_b = _host(a.netloc), _host(b.netloc)
    if host_a != host_b:
        same = host_a.lower() == host_b.lower()
        reasons.append("the host differs in letter case" if same else f"the host is {host_a}, not {host_b}")
    if a.port != b.port:
        reasons.append(f"the port is {a.port or 'the default'}, registered is {b.port or 'the default'}")
    if a.path != b.path:
        if a.path.rstrip("/") == b.path.rstrip("/"):
            reasons.append("only the trailing slash differs")
        else:
            reasons.append(f"the path is {a.path or '/'}, registered is {b.path or '/'}")
    if a.query != b.query:
        reasons.append("the query string differs")
    if a.fragment:
        reasons.append("it has a #fragment, which a redirect URI may not have")
    because = "; ".join(reasons) or "they differ in encoding"
    return f"Closest registered URI: {best} ({because})."


def check_request(client: hydra.OAuth2Client, p: Mapping[str, str]) -> list[Finding]:
    """Every way the authorization request `p` disagrees with the client's configuration."""
    out: list[Finding] = []
    redirects = list(client.redirect_uris or [])
    sent = p.get("redirect_uri")
    if sent is not None and sent not in redirects:
        fix = Fix(f"register {sent} as a redirect URI", changes={"redirect_uris": [*redirects, sent]})
        out.append(
            Finding(
                "redirect_uri_mismatch",
                "The redirect_uri is not registered for this client; Hydra compares exactly. "
                + redirect_difference(sent, redirects),
                fix if not clients.redirect_scheme_problem(sent) and "#" not in sent else None,
            )
        )
    elif sent is None and len(redirects) != 1:
        out.append(
            Finding(
                "redirect_uri_missing",
                "The request has no redirect_uri and the client has "
                f"{len(redirects)} registered: Hydra needs it to know where to answer.",
            )
        )
    allowed = (client.scope or "").split()
    denied = [s for s in (p.get("scope") or "").split() if not scope_allowed(s, allowed)]
    if denied:
        fix = Fix(f"allow scope {' '.join(denied)}", changes={"scope": " ".join([*allowed, *denied])})
        out.append(
            Finding(
                "scope_not_allowed",
                f"The client may not request {' '.join(denied)}; it may request: {' '.join(allowed) or '(none)'}.",
                fix,
            )
        )
    rtype = p.get("response_type", "")
    words = set(rtype.split())
    types = list(client.response_types or [])
    grants = list(client.grant_types or [])
    if rtype and not any(set(t.split()) == words for t in types):
        safe = "token" not in words
        out.append(
            Finding(
                "response_type_not_enabled",
                f"response_type={rtype} is not enabled for this client; it has: {', '.join(types) or '(none)'}.",
                Fix(f"enable response type {rtype}", changes={"response_types": [*types, rtype]})
                if safe
                else None,
            )
        )
    needed = (
        "authorization_code" if "code" in words else ("implicit" if words & {"token", "id_token"} else "")
    )
    if needed and needed not in grants:
        safe = needed == "authorization_code"
        out.append(
            Finding(
                "grant_not_enabled",
                f"response_type={rtype} needs the {needed} grant, which this client does not have "
                f"(grants: {', '.join(grants) or '(none)'}).",
                Fix(f"enable the {needed} grant", changes={"grant_types": [*grants, needed]})
                if safe
                else None,
            )
        )
    public = client.token_endpoint_auth_method == "none"
    if "code" in words:
        method = p.get("code_challenge_method", "")
        if method == "plain":
            out.append(
                Finding(
                    "pkce_plain",
                    "code_challenge_method=plain: Hydra accepts only S256 (the SHA-256 of the verifier).",
                )
            )
        elif not p.get("code_challenge") and public:
            out.append(
                Finding(
                    "pkce_missing",
                    "This is a public client (token_endpoint_auth_method none) and the request has no "
                    "code_challenge: Hydra requires PKCE for public clients. Send code_challenge with "
                    "code_challenge_method=S256.",
                )
            )
    wanted = (p.get("audience") or "").split()
    audience = list(client.audience or [])
    extra = [a for a in wanted if a not in audience]
    if extra:
        out.append(
            Finding(
                "audience_not_allowed",
                f"The client may not request audience {' '.join(extra)}; allowed: {' '.join(audience) or '(none)'}.",
                Fix(f"allow audience {' '.join(extra)}", changes={"audience": [*audience, *extra]}),
            )
        )
    max_age = p.get("max_age")
    if max_age is not None and not re.fullmatch(r"[0-9]{1,10}", max_age):
        out.append(
            Finding("max_age_invalid", f"max_age={max_age!r} is not a whole number of seconds (0 or more).")
        )
    prompt = set((p.get("prompt") or "").split())
    if "none" in prompt and len(prompt) > 1:
        out.append(Finding("prompt_invalid", "prompt=none cannot be combined with other prompt values."))
    elif "none" in prompt:
        out.append(
            Finding(
                "prompt_none",
                "prompt=none: Hydra answers login_required (or consent_required) unless the user already has a "
                "sign-in session and consent; this is expected on a first visit.",
            )
        )
    return out


def check_client(client: hydra.OAuth2Client, params: Mapping[str, str]) -> list[Finding]:
    """What the pasted parameters give away besides the request itself."""
    out: list[Finding] = []
    if "client_secret" in params:
        out.append(
            Finding(
                "secret_in_url",
                "The URL contains client_secret: a secret never belongs in a front-channel URL. Rotate it.",
            )
        )
    return out


# --- the whole diagnosis -----------------------------------------------------------------------------------


def find_client(tenant: Tenant, client_id: str) -> hydra.OAuth2Client | None:
    """The tenant's client, or None, the same for an unknown id and another tenant's client."""
    try:
        return clients.get_for(tenant, client_id)
    except hydra.HydraNotFound:
        return None


def recent_events(tenant: Tenant, client_id: str, limit: int = EVENTS) -> list[dict[str, Any]]:
    """The tenant's latest audit events about this client, newest first (bridge decisions, refusals, changes)."""
    rows = AuditEvent.objects.filter(tenant=tenant).filter(
        Q(target=client_id) | Q(detail__contains=client_id)
    )
    return [
        {
            "at": e.created_at.isoformat(),
            "action": e.action,
            "outcome": e.outcome,
            "actor": e.actor,
            "detail": e.detail[:300],
        }
        for e in rows.order_by("-id")[:limit]
    ]


def diagnose(tenant: Tenant, url: str, *, client_id: str = "", request_url: str = "") -> Diagnosis:
    """Read `url` (the answer the application got, or its authorization URL) and optionally `request_url` (the
    authorization URL it sent) for `tenant`. BadInput for unreadable input; HydraError when Hydra is down."""
    if len(client_id) > 255:
        raise BadInput({"client_id": ["At most 255 characters."]})
    params = parse_url(url, "url")
    sent = parse_url(request_url, "request_url") if request_url.strip() else {}
    if not sent and "response_type" in params:
        sent = params
    kind = (
        "error_callback"
        if "error" in params
        else "authorization_request"
        if params is sent
        else ("callback" if "code" in params or "access_token" in params else "unknown")
    )
    found = Diagnosis(
        kind=kind, client_id=client_id.strip() or sent.get("client_id", "") or params.get("client_id", "")
    )
    if "error" in params:
        found.error = {k: params[k] for k in ("error", "error_description", "error_hint") if k in params}
    client = find_client(tenant, found.client_id) if found.client_id else None
    if found.client_id and client is None:
        found.add(Finding("unknown_client", NOT_FOUND))
    if client is not None:
        found.client_found = True
        for finding in check_request(client, sent) if sent else []:
            found.add(finding)
        for finding in check_client(client, {**sent, **params}):
            found.add(finding)
        found.events = recent_events(tenant, client.client_id or "")
    hydra_said = read_error(params)
    if hydra_said is not None:
        found.add(hydra_said)
    if not found.findings and kind == "callback":
        found.add(Finding("no_error", "The application got an answer without an error: the request worked."))
    if not found.client_id:
        found.add(
            Finding(
                "no_client_id",
                "No client_id in what was pasted: give the client id to check the request against its settings.",
            )
        )
    return found
