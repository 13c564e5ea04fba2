"""The flow tester's runs: real OAuth 2.0 flows through Hydra and the bridge, kept in the operator's session.

A run is a dict in ``request.session`` (server-side, JSON), keyed by its OAuth ``state``: the PKCE verifier,
nonce and the tokens it obtained, plus a timeline of every HTTP exchange with secrets masked. Client secrets are
typed by the operator for one request and never enter a run, a log line or the audit log. Runs expire after
``RUN_TTL`` seconds and at most ``MAX_RUNS`` are kept per session.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import shlex
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode

import jwt
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.urls import reverse

from truss.ory import hydra

SESSION_KEY = "truss_devtools_runs"
RUN_TTL = 30 * 60
MAX_RUNS = 8

# Members whose values are secrets: masked in timelines, shell variables in curl.
SECRET_MEMBERS = {
    "client_secret": "CLIENT_SECRET",
    "code": "CODE",
    "code_verifier": "CODE_VERIFIER",
    "refresh_token": "REFRESH_TOKEN",
    "access_token": "ACCESS_TOKEN",
    "id_token": "ID_TOKEN",
    "token": "TOKEN",
    "device_code": "DEVICE_CODE",
    "assertion": "ASSERTION",
}
# Asymmetric algorithms a Hydra-issued token may use; HS*/none are never accepted from a JWKS.
ASYMMETRIC_ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]

# OAuth errors returned to the callback (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6): what happened, what to change.
ERROR_HELP: dict[str, tuple[str, str]] = {
    "access_denied": (
        "The user (or the sign-in service) refused: the application got no access.",
        "Run it again and choose Allow on the consent screen, or check the bridge's consent rules for this client.",
    ),
    "login_required": (
        "The flow asked for no screen (prompt=none), but nobody is signed in.",
        "Leave Prompt empty (or choose login) so Hydra may show the sign-in screen.",
    ),
    "consent_required": (
        "The flow asked for no screen (prompt=none), but the user has not agreed to this client yet.",
        "Leave Prompt empty so the consent screen can be shown once, then prompt=none works.",
    ),
    "interaction_required": (
        "The sign-in needs the user to do something, but the flow asked for no screen.",
        "Leave Prompt empty.",
    ),
    "invalid_request": (
        "Hydra refused the request as malformed (a parameter missing, repeated or not allowed).",
        "Read the description below; a redirect URI not registered for the client ends here too.",
    ),
    "invalid_scope": (
        "The flow asked for a scope this client may not ask for.",
        "Ask only for scopes in the client's scope list, or add the scope to the client.",
    ),
    "unauthorized_client": (
        "This client may not use the authorization-code grant.",
        "Add authorization_code to the client's grant types (and code to its response types).",
    ),
    "unsupported_response_type": (
        "The client may not use this response type.",
        "Add the response type to the client, or use response_type=code.",
    ),
    "request_forbidden": ("This authorization request was already used.", "Start a new run."),
    "server_error": ("The sign-in service failed.", "Try again; if it persists, read Hydra's log."),
    "temporarily_unavailable": ("The sign-in service is busy or down.", "Try again shortly."),
    "login_timeout": ("The sign-in took too long.", "Start a new run and sign in within the login timeout."),
}
UNKNOWN_ERROR = ("The sign-in did not complete.", "Read the description below and Hydra's log.")

ERROR_RE = re.compile(r"^[a-z0-9_]{1,64}$")
CODE_RE = re.compile(r"^[A-Za-z0-9_\-.~]{1,2000}$")

T = TypeVar("T")


# --- helpers ---------------------------------------------------------------------------------------------


def callback_url() -> str:
    """The flow tester's redirect URI: Truss's callback page (also the demo client's, `manage.py seed_demo`)."""
    return str(settings.TRUSS_PUBLIC_URL).rstrip("/") + reverse("console:devtools:callback")


def mask(value: str) -> str:
    """A secret shown as its first characters and length (enough to tell two apart, useless to replay)."""
    return f"{value[:6]}… ({len(value)} characters)" if len(value) > 10 else "…"


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636 §4.1–4.2."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _masked(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "client_secret":
            out[key] = "•••••• (typed for this run, not stored)"
        elif key in SECRET_MEMBERS and isinstance(value, str):
            out[key] = mask(value)
        else:
            out[key] = value
    return out


def curl_for(
    method: str,
    url: str,
    *,
    form: Mapping[str, str] | None = None,
    basic_user: str | None = None,
    bearer: bool = False,
    apikey: bool = False,
) -> str:
    """The exchange as a curl command; secret values become shell variables ("$CLIENT_SECRET")."""
    parts = ["curl", "-sS"]
    if method != "GET" or form:
        parts += ["-X", method]
    parts.append(shlex.quote(url))
    if basic_user is not None:
        parts += ["-u", f'"$(printf %s {shlex.quote(basic_user)} | jq -sRr @uri):$CLIENT_SECRET"']
    if bearer:
        parts += ["-H", '"Authorization: Bearer $ACCESS_TOKEN"']
    if apikey:
        parts += ["-H", '"apikey: $TRUSS_API_KEY"']
    for key, value in (form or {}).items():
        if key in SECRET_MEMBERS:
            parts += ["--data-urlencode", f'"{key}=${SECRET_MEMBERS[key]}"']
        else:
            parts += ["--data-urlencode", shlex.quote(f"{key}={value}")]
    return " ".join(parts)


def _hydra_public(path: str) -> str:
    return str(settings.HYDRA_PUBLIC_URL).rstrip("/") + path


def record(
    run: dict[str, Any],
    title: str,
    method: str,
    url: str,
    call: Callable[[], T],
    *,
    form: Mapping[str, str] | None = None,
    auth_method: str | None = None,
    client_id: str = "",
    bearer: bool = False,
) -> T | None:
    """Run one Hydra call and append it to the run's timeline (request and response, secrets masked).

    Returns the call's result, or None when Hydra refused (the timeline entry says why). Hydra being
    unreachable is recorded too, then re-raised: the page shows the unavailable state."""
    basic = auth_method not in ("none", "client_secret_post") and bool(client_id) and form is not None
    sent = dict(form or {})
    if form is not None and client_id and not basic:
        sent["client_id"] = client_id
    headers = {}
    if basic:
        headers["Authorization"] = "Basic •••••• (client id and the secret typed for this run)"
    if bearer:
        headers["Authorization"] = "Bearer ••••••"
    entry: dict[str, Any] = {
        "title": title,
        "method": method,
        "url": url,
        "headers": headers,
        "form": _masked(sent),
        "curl": curl_for(
            method, url, form=sent or None, basic_user=client_id if basic else None, bearer=bearer
        ),
        "at": time.time(),
    }
    run.setdefault("timeline", []).append(entry)
    started = time.monotonic()
    try:
        result = call()
    except hydra.HydraUnavailable:
        entry.update(status=None, ok=False, response={"error": "Hydra is unavailable"})
        raise
    except hydra.HydraError as exc:
        body = {"error": exc.error or "error", "error_description": exc.description or str(exc)}
        entry.update(status=exc.status, ok=False, response=body)
        return None
    finally:
        entry["ms"] = round((time.monotonic() - started) * 1000)
    shown = result if isinstance(result, dict) else {"result": "no content"}
    entry.update(status=200, ok=True, response=_masked(shown))
    return result


# --- session storage -------------------------------------------------------------------------------------


def _all(session: SessionBase) -> dict[str, dict[str, Any]]:
    runs: dict[str, dict[str, Any]] = session.get(SESSION_KEY, {})
    now = time.time()
    return {k: v for k, v in runs.items() if now - float(v.get("created", 0)) < RUN_TTL}


def save(session: SessionBase, run: dict[str, Any]) -> None:
    runs = _all(session)
    runs[run["id"]] = run
    newest = sorted(runs.values(), key=lambda r: float(r["created"]), reverse=True)[:MAX_RUNS]
    session[SESSION_KEY] = {r["id"]: r for r in newest}


def get(session: SessionBase, run_id: str, tenant_slug: str) -> dict[str, Any] | None:
    """This session's unexpired run for the tenant, or None."""
    run = _all(session).get(run_id)
    return run if run is not None and run.get("tenant") == tenant_slug else None


def forget(session: SessionBase, run_id: str) -> None:
    runs = _all(session)
    runs.pop(run_id, None)
    session[SESSION_KEY] = runs


def recent(session: SessionBase, tenant_slug: str) -> list[dict[str, Any]]:
    runs = [r for r in _all(session).values() if r.get("tenant") == tenant_slug]
    return sorted(runs, key=lambda r: float(r["created"]), reverse=True)


# --- runs ------------------------------------------------------------------------------------------------


def _new_run(kind: str, tenant_slug: str, client: hydra.OAuth2Client) -> dict[str, Any]:
    return {
        "id": secrets.token_urlsafe(24),
        "kind": kind,
        "tenant": tenant_slug,
        "created": time.time(),
        "client_id": client.client_id,
        "client_name": client.client_name or client.client_id,
        "auth_method": client.token_endpoint_auth_method or "client_secret_basic",
        "timeline": [],
    }


def start_authorization(
    tenant_slug: str, client: hydra.OAuth2Client, options: Mapping[str, Any]
) -> dict[str, Any]:
    """A new auth-code + PKCE run: its authorization URL, parameter by parameter."""
    run = _new_run("authorization_code", tenant_slug, client)
    verifier, challenge = pkce_pair()
    run.update(verifier=verifier, nonce=secrets.token_urlsafe(16), redirect_uri=callback_url())
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": run["redirect_uri"],
        "scope": options.get("scope") or client.scope or "openid",
        "state": run["id"],
        "nonce": run["nonce"],
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    for name in ("prompt", "max_age", "ui_locales", "acr_values"):
        if options.get(name) not in (None, ""):
            params[name] = str(options[name])
    endpoint = hydra.discovery().authorization_endpoint
    run.update(params=params, authorization_url=f"{endpoint}?{urlencode(params)}")
    run["timeline"].append(
        {
            "title": "Authorization request (the browser is sent here)",
            "method": "GET",
            "url": run["authorization_url"],
            "headers": {},
            "form": {},
            "status": 303,
            "ok": True,
            "response": {
                "note": "Hydra sends the browser through Truss's login and consent bridge, then back to the callback."
            },
            "curl": "# A browser step: open the URL above; curl cannot sign in.",
            "at": time.time(),
            "ms": 0,
        }
    )
    return run


def receive_callback(run: dict[str, Any], query: Mapping[str, str]) -> None:
    """What came back to the callback for this run (state already matched): a code or an OAuth error."""
    if run.get("callback"):
        return  # a reload of the callback page: the first arrival counts
    code = query.get("code", "")
    error = query.get("error", "")
    if code and CODE_RE.match(code):
        run["code"] = code
        run["callback"] = {"ok": True, "code": mask(code), "scope": query.get("scope", "")[:500]}
    else:
        name = error if ERROR_RE.match(error) else "unknown_error"
        what, fix = ERROR_HELP.get(name, UNKNOWN_ERROR)
        run["callback"] = {
            "ok": False,
            "error": name,
            "what": what,
            "fix": fix,
            "error_description": query.get("error_description", "")[:500],
            "error_hint": query.get("error_hint", "")[:500],
        }
    run["timeline"].append(
        {
            "title": "Callback (Hydra redirected the browser back to Truss)",
            "method": "GET",
            "url": run["redirect_uri"],
            "headers": {},
            "form": _masked({k: v[:500] for k, v in query.items()}),
            "status": None,
            "ok": bool(code),
            "response": {"state": "matches this run"},
            "curl": "# A browser step.",
            "at": time.time(),
            "ms": 0,
        }
    )


def _secret_for(run: dict[str, Any], secret: str) -> str | None:
    return None if run["auth_method"] == "none" else (secret or None)


def exchange_code(run: dict[str, Any], secret: str) -> None:
    """Redeem the run's code (once), then verify the tokens, call userinfo and introspect the access token."""
    code = run.pop("code", None)
    if not code:
        return
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": run["redirect_uri"],
        "code_verifier": run["verifier"],
    }
    tokens = record(
        run,
        "Token request (authorization_code + PKCE verifier)",
        "POST",
        _hydra_public("/oauth2/token"),
        lambda: hydra.authorization_code_token(
            run["client_id"],
            code,
            redirect_uri=run["redirect_uri"],
            code_verifier=run["verifier"],
            client_secret=_secret_for(run, secret),
            auth_method=run["auth_method"],
        ),
        form=form,
        auth_method=run["auth_method"],
        client_id=run["client_id"],
    )
    if tokens is not None:
        _use_tokens(run, tokens, nonce=run.get("nonce"))


def refresh(run: dict[str, Any], secret: str) -> None:
    current = run.get("tokens") or {}
    refresh_token = current.get("refresh_token")
    if not refresh_token:
        return
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    tokens = record(
        run,
        "Refresh (refresh_token grant)",
        "POST",
        _hydra_public("/oauth2/token"),
        lambda: hydra.refresh_token_grant(
            run["client_id"],
            refresh_token,
            client_secret=_secret_for(run, secret),
            auth_method=run["auth_method"],
        ),
        form=form,
        auth_method=run["auth_method"],
        client_id=run["client_id"],
    )
    if tokens is not None:
        run["refreshed"] = int(run.get("refreshed", 0)) + 1
        _use_tokens(run, tokens, nonce=None)  # a refreshed ID token carries no new nonce requirement


def revoke(run: dict[str, Any], secret: str) -> bool:
    """Revoke the refresh token (Hydra then revokes the whole grant) or else the access token."""
    current = run.get("tokens") or {}
    token = current.get("refresh_token") or current.get("access_token")
    if not token:
        return False

    def call() -> dict[str, Any]:
        hydra.revoke_as_client(token, run["client_id"], _secret_for(run, secret), run["auth_method"])
        return {}

    done = record(
        run,
        "Revocation (RFC 7009)",
        "POST",
        _hydra_public("/oauth2/revoke"),
        call,
        form={"token": token},
        auth_method=run["auth_method"],
        client_id=run["client_id"],
    )
    if done is None:
        return False
    run["revoked"] = True
    access = current.get("access_token")
    if access:
        run["introspection"] = _introspect(run, access, "Introspection after revocation (admin API)")
    return True


def client_credentials(
    tenant_slug: str, client: hydra.OAuth2Client, secret: str, scope: str, audience: list[str]
) -> dict[str, Any]:
    run = _new_run("client_credentials", tenant_slug, client)
    form: dict[str, str] = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    if audience:
        form["audience"] = " ".join(audience)
    tokens = record(
        run,
        "Token request (client_credentials)",
        "POST",
        _hydra_public("/oauth2/token"),
        lambda: hydra.token_grant(
            form,
            client_id=client.client_id,
            client_secret=_secret_for(run, secret),
            auth_method=run["auth_method"],
        ),
        form=form,
        auth_method=run["auth_method"],
        client_id=client.client_id,
    )
    if tokens is not None:
        _use_tokens(run, tokens, nonce=None, userinfo=False)
    return run


# --- device authorization (RFC 8628; Hydra >= v25.4) ------------------------------------------------------

DEVICE_SINCE = "25.4.0"
SLOW_DOWN_STEP = 5  # RFC 8628 §3.5: on slow_down, poll 5 seconds less often from then on
DEFAULT_INTERVAL = 5  # RFC 8628 §3.2: when the server names no interval
# Token-endpoint answers while polling (RFC 8628 §3.5): the run's state afterwards and what it means.
DEVICE_ANSWERS: dict[str, tuple[str, str]] = {
    "authorization_pending": ("pending", "The user has not finished yet: keep polling."),
    "slow_down": ("pending", "Hydra asks to poll less often: the interval grows by 5 seconds."),
    "expired_token": ("expired", "The device code expired before the user finished. Start a new run."),
    "access_denied": ("denied", "The user refused on the consent screen: the device gets no tokens."),
    "invalid_grant": ("failed", "Hydra does not know this device code (already redeemed?). Start a new run."),
    "invalid_client": (
        "pending",
        "Hydra refused the client's credentials: check the secret; polling goes on.",
    ),
}


def device_supported() -> bool:
    """Whether the running Hydra has the device authorization grant. Raises HydraUnavailable."""
    return hydra.version_at_least(DEVICE_SINCE)


def start_device(tenant_slug: str, client: hydra.OAuth2Client, secret: str, scope: str) -> dict[str, Any]:
    """A new device run: Truss plays the device, asks Hydra for a device and a user code, then polls.

    The device code stays in the session (like a PKCE verifier) until the tokens arrive; the secret does not."""
    run = _new_run("device_code", tenant_slug, client)
    form = {"scope": scope} if scope else {}
    started = record(
        run,
        "Device authorization request (RFC 8628 §3.1)",
        "POST",
        _hydra_public("/oauth2/device/auth"),
        lambda: hydra.device_authorization(
            client.client_id,
            scope=scope or None,
            client_secret=_secret_for(run, secret),
            auth_method=run["auth_method"],
        ).model_dump(mode="json", exclude_none=True),
        form=form,
        auth_method=run["auth_method"],
        client_id=client.client_id,
    )
    if started is None:
        run["device"] = {"state": "failed", "polls": 0, "note": "Hydra refused to start the device flow."}
        return run
    now = time.time()
    run["device_code"] = started["device_code"]
    run["device"] = {
        "state": "pending",
        "polls": 0,
        "user_code": started["user_code"],
        "verification_uri": started["verification_uri"],
        "verification_uri_complete": started.get("verification_uri_complete") or "",
        "interval": int(started.get("interval") or DEFAULT_INTERVAL),
        "expires_at": now + int(started["expires_in"]),
        "note": DEVICE_ANSWERS["authorization_pending"][1],
    }
    return run


def poll_device(run: dict[str, Any], secret: str) -> None:
    """One poll of the token endpoint (one timeline entry), unless the run is over or its code expired."""
    device = run.get("device") or {}
    code = run.get("device_code")
    if device.get("state") != "pending" or not code:
        return
    if time.time() >= float(device["expires_at"]):
        run.pop("device_code", None)
        device.update(state="expired", note=DEVICE_ANSWERS["expired_token"][1])
        return
    device["polls"] = int(device["polls"]) + 1
    form = {"grant_type": hydra.DEVICE_GRANT, "device_code": code}
    tokens = record(
        run,
        f"Poll {device['polls']} (device_code grant)",
        "POST",
        _hydra_public("/oauth2/token"),
        lambda: hydra.device_token(
            run["client_id"], code, client_secret=_secret_for(run, secret), auth_method=run["auth_method"]
        ).model_dump(mode="json", exclude_none=True),
        form=form,
        auth_method=run["auth_method"],
        client_id=run["client_id"],
    )
    if tokens is not None:
        run.pop("device_code", None)
        device.update(state="done", note="The user finished: Hydra issued the tokens.")
        _use_tokens(run, tokens, nonce=None)
        return
    response = run["timeline"][-1].get("response") or {}
    error = str(response.get("error") or "")
    state, note = DEVICE_ANSWERS.get(
        error, ("failed", f"Hydra refused the poll: {error or 'unknown error'}.")
    )
    if error == "slow_down":
        device["interval"] = int(device["interval"]) + SLOW_DOWN_STEP
    if state != "pending":
        run.pop("device_code", None)
    device.update(state=state, note=note, last_error=error)


def _introspect(run: dict[str, Any], token: str, title: str) -> dict[str, Any] | None:
    url = str(settings.HYDRA_ADMIN_URL).rstrip("/") + "/admin/oauth2/introspect"
    found = record(
        run,
        title,
        "POST",
        url,
        lambda: hydra.introspect(token).model_dump(mode="json", exclude_none=True),
        form={"token": token},
    )
    return found


def _use_tokens(
    run: dict[str, Any], tokens: dict[str, Any], *, nonce: str | None, userinfo: bool = True
) -> None:
    run["tokens"] = tokens
    run["revoked"] = False
    jwks = hydra.public_jwks()
    issuer = hydra.discovery().issuer
    if tokens.get("id_token"):
        run["id_token"] = inspect_jwt(
            str(tokens["id_token"]), jwks=jwks, issuer=issuer, audience=run["client_id"], nonce=nonce
        )
    else:
        run.pop("id_token", None)
    access = str(tokens.get("access_token", ""))
    if access.count(".") == 2:
        run["access_token"] = inspect_jwt(access, jwks=jwks, issuer=issuer, audience=None, nonce=None)
    else:
        run["access_token"] = {"opaque": True}
    run["introspection"] = _introspect(run, access, "Introspection of the access token (admin API)")
    if userinfo and "openid" in str(tokens.get("scope", "")).split():
        info = record(
            run, "UserInfo", "GET", _hydra_public("/userinfo"), lambda: hydra.userinfo(access), bearer=True
        )
        run["userinfo"] = info


# --- JWT inspection --------------------------------------------------------------------------------------


def inspect_jwt(
    token: str,
    *,
    jwks: hydra.JsonWebKeySet,
    issuer: str,
    audience: str | None,
    nonce: str | None,
) -> dict[str, Any]:
    """Header, claims and every check of a Hydra-issued JWT: signature against the published JWKS (by kid),
    issuer, audience, expiry and nonce. Problems are listed in words; ``verified`` only if there are none."""
    out: dict[str, Any] = {"problems": []}
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        return {"problems": [f"not a readable JWT: {exc}"], "verified": False}
    out.update(header=header, claims=claims)
    alg = str(header.get("alg", ""))
    key = next((k for k in jwks.keys if k.kid == header.get("kid")), None)
    if alg not in ASYMMETRIC_ALGS:
        out["problems"].append(f"alg {alg!r} is not an asymmetric algorithm Hydra signs with")
    elif key is None:
        out["problems"].append(f"no key with kid {header.get('kid')!r} in Hydra's published JWKS")
    else:
        try:
            public = jwt.PyJWK(key.model_dump(mode="json", exclude_none=True, by_alias=True), algorithm=alg)
            jwt.decode(
                token,
                public.key,
                algorithms=[alg],
                issuer=issuer,
                audience=audience,
                leeway=5,
                options={"verify_aud": audience is not None},
            )
            out["signature"] = f"valid ({alg}, key {key.kid})"
        except jwt.InvalidSignatureError:
            out["problems"].append("the signature does not match the published key")
        except jwt.PyJWTError as exc:
            out["signature"] = f"valid ({alg}, key {key.kid})"
            out["problems"].append(str(exc))
    if nonce is not None and claims.get("nonce") != nonce:
        out["problems"].append("nonce does not match the one this run sent")
    elif nonce is not None:
        out["nonce"] = "matches the one this run sent"
    out["verified"] = not out["problems"]
    return out


# --- implicit and hybrid runs (discouraged: RFC 9700 §2.1.2) ----------------------------------------------

# Response types that answer in the URL fragment: (run kind, whether an access token travels in the URL).
FRONT_CHANNEL: dict[str, tuple[str, bool]] = {
    "id_token token": ("implicit", True),
    "id_token": ("implicit", False),
    "code id_token": ("hybrid", False),
    "code token": ("hybrid", True),
    "code id_token token": ("hybrid", True),
}
FRONT_KINDS = ("implicit", "hybrid")
# What a fragment may carry (OAuth 2.0 Multiple Response Types §5, RFC 6749 §4.2.2, RFC 9207); the rest is dropped.
FRAGMENT_MEMBERS = (
    "state",
    "code",
    "access_token",
    "token_type",
    "expires_in",
    "scope",
    "id_token",
    "iss",
    "error",
    "error_description",
    "error_hint",
)
FRAGMENT_MAX = 8000
ID_TOKEN_REFUSED = (
    "The ID token in the answer failed a check (signature, issuer, audience, nonce or a hash): Truss refused the "
    "answer and kept none of its tokens.",
    "Start a new run. If it persists, the answer was not made for this run: another run's or someone else's "
    "tokens were injected (the nonce check exists to catch exactly this).",
)
MISSING_MEMBER = (
    "The answer lacks something this response type promises (a code, an access token or an ID token).",
    "Check the client's response types in Hydra, then start a new run.",
)
# JWS algorithm → the hash at_hash/c_hash use (OIDC Core §3.3.2.11; EdDSA: Ed25519 uses SHA-512).
_HASHES = {"256": hashlib.sha256, "384": hashlib.sha384, "512": hashlib.sha512}


def front_channel_types(client: hydra.OAuth2Client) -> list[str]:
    """The implicit/hybrid response types this client may use: registered for it, with the grants they need
    (implicit for token/id_token, plus authorization_code for a code)."""
    grants = set(client.grant_types)
    allowed = []
    for rtype in FRONT_CHANNEL:
        if rtype not in client.response_types or "implicit" not in grants:
            continue
        if "code" in rtype.split() and "authorization_code" not in grants:
            continue
        allowed.append(rtype)
    return allowed


def token_hash(value: str, alg: str) -> str:
    """at_hash / c_hash: base64url of the left half of the hash of the ASCII value (OIDC Core §3.3.2.11)."""
    digest = _HASHES.get("512" if alg == "EdDSA" else alg[-3:], hashlib.sha256)(
        value.encode("ascii")
    ).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def start_front_channel(
    tenant_slug: str, client: hydra.OAuth2Client, response_type: str, options: Mapping[str, Any]
) -> dict[str, Any]:
    """A new implicit or hybrid run: like an auth-code run, but Hydra answers in the URL fragment. A hybrid
    run's code is still bound to a PKCE verifier; an implicit run has no code and so no PKCE."""
    kind, _ = FRONT_CHANNEL[response_type]
    run = start_authorization(tenant_slug, client, options)
    run["kind"] = kind
    params = dict(run["params"], response_type=response_type)
    if kind == "implicit":
        run.pop("verifier", None)
        params.pop("code_challenge", None)
        params.pop("code_challenge_method", None)
    run.update(
        params=params, authorization_url=f"{hydra.discovery().authorization_endpoint}?{urlencode(params)}"
    )
    run["timeline"][0]["url"] = run["authorization_url"]
    run["timeline"][0]["response"] = {
        "note": "Hydra sends the browser through Truss's login and consent bridge, then back to the callback "
        "with the answer in the URL fragment (#…), which only the browser sees."
    }
    return run


def receive_fragment(run: dict[str, Any], fragment: Mapping[str, str]) -> None:
    """What the callback page's script read from the URL fragment (state already matched): an OAuth error, or
    tokens and/or a code. The ID token is verified (nonce, at_hash, c_hash included) before anything is kept."""
    if run.get("callback"):
        return  # a reload: the first arrival counts
    got = {k: str(fragment[k])[:FRAGMENT_MAX] for k in FRAGMENT_MEMBERS if fragment.get(k)}
    rtype = set(str(run["params"]["response_type"]).split())
    entry: dict[str, Any] = {
        "title": "Callback fragment (read by the browser, posted to Truss)",
        "method": "GET",
        "url": run["redirect_uri"] + "#…",
        "headers": {},
        "form": _masked(got),
        "status": None,
        "ok": False,
        "response": {"state": "matches this run"},
        "curl": "# A browser step: the fragment never reaches a server.",
        "at": time.time(),
        "ms": 0,
    }
    run["timeline"].append(entry)
    error = got.get("error", "")
    code = got.get("code", "")
    missing = ("code" in rtype and not CODE_RE.match(code)) or any(
        not got.get(member)
        for part, member in (("token", "access_token"), ("id_token", "id_token"))
        if part in rtype
    )
    if error or missing:
        name = (error if ERROR_RE.match(error) else "unknown_error") if error else "incomplete_answer"
        what, fix = ERROR_HELP.get(name, UNKNOWN_ERROR) if error else MISSING_MEMBER
        run["callback"] = {
            "ok": False,
            "error": name,
            "what": what,
            "fix": fix,
            "error_description": got.get("error_description", "")[:500],
            "error_hint": got.get("error_hint", "")[:500],
        }
        return
    id_info: dict[str, Any] | None = None
    if "id_token" in rtype:
        id_info = inspect_jwt(
            got["id_token"],
            jwks=hydra.public_jwks(),
            issuer=hydra.discovery().issuer,
            audience=run["client_id"],
            nonce=run["nonce"],
        )
        _check_hashes(id_info, access_token=got.get("access_token"), code=code or None)
        if not id_info["verified"]:
            what, fix = ID_TOKEN_REFUSED
            run["callback"] = {
                "ok": False,
                "error": "id_token_refused",
                "what": what,
                "fix": fix,
                "error_description": "; ".join(id_info["problems"])[:500],
                "error_hint": "",
            }
            entry["response"] = {
                "state": "matches this run",
                "id_token": "refused: " + "; ".join(id_info["problems"]),
            }
            return
    entry["ok"] = True
    tokens = {
        k: v for k, v in got.items() if k in ("access_token", "token_type", "expires_in", "scope", "id_token")
    }
    if "expires_in" in tokens and tokens["expires_in"].isdigit():
        tokens["expires_in"] = int(tokens["expires_in"])  # type: ignore[assignment]
    run["callback"] = {
        "ok": True,
        "code": mask(code) if code else "",
        "scope": got.get("scope", "")[:500],
        "fragment": True,
    }
    if run["kind"] == "hybrid":
        run["code"] = code
        run["front"] = {"tokens": tokens, "id_token": id_info}
        if tokens.get("access_token"):
            access = str(tokens["access_token"])
            run["front"]["introspection"] = _introspect(
                run, access, "Introspection of the fragment's access token (admin API)"
            )
        return
    if tokens.get("access_token"):
        _use_tokens(run, tokens, nonce=run["nonce"])
    else:  # response_type=id_token: a sign-in without any access token
        run.update(tokens=tokens, revoked=False, access_token=None)
    if id_info is not None:
        run["id_token"] = id_info  # with the at_hash verdict


def _check_hashes(info: dict[str, Any], *, access_token: str | None, code: str | None) -> None:
    """at_hash and c_hash of an ID token from the front channel: each must be there when its value came with
    it (OIDC Core §3.2.2.10, §3.3.2.11) and match. Sets ``hashes`` and updates ``problems``/``verified``."""
    claims = info.get("claims") or {}
    alg = str((info.get("header") or {}).get("alg", ""))
    hashes = []
    for claim, value in (("at_hash", access_token), ("c_hash", code)):
        if value is None:
            continue
        if claim not in claims:
            info["problems"].append(f"{claim} is missing, though the answer carried the value it should bind")
        elif claims[claim] != token_hash(value, alg):
            info["problems"].append(
                f"{claim} does not match the {'access token' if claim == 'at_hash' else 'code'}"
            )
        else:
            hashes.append(f"{claim} matches the {'access token' if claim == 'at_hash' else 'code'}")
    info["hashes"] = hashes
    info["verified"] = not info["problems"]


# --- jwt-bearer runs (RFC 7523) ---------------------------------------------------------------------------

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# The throwaway trust of a run: its issuer names the run, and it expires on its own even if the run is abandoned
# (expire_trusts sweeps it); the run removes it as soon as the exchange is over.
JWT_BEARER_ISSUER = "https://flow-tester.truss.invalid/"
JWT_BEARER_TRUST_TTL = timedelta(minutes=5)


def jwt_bearer_token_url() -> str:
    """The assertion's audience: Hydra's token endpoint."""
    return _hydra_public("/oauth2/token")


def start_jwt_bearer(tenant_slug: str, client: hydra.OAuth2Client, scope: str) -> dict[str, Any]:
    """A new jwt-bearer run: the issuer, subject and key id its throwaway trust and the browser's assertion use."""
    run = _new_run("jwt_bearer", tenant_slug, client)
    run["jwt_bearer"] = {
        "issuer": JWT_BEARER_ISSUER + run["id"],
        "subject": "flow-tester-" + run["id"][:12],
        "kid": "flow-tester-" + run["id"][:16],
        "scope": scope,
        "token_url": jwt_bearer_token_url(),
        "state": "started",
    }
    return run


def jwt_bearer_trust_body(run: dict[str, Any], public_jwk: dict[str, Any]) -> dict[str, Any]:
    """What the trust service is asked to create for the run: the browser's public key under the run's kid."""
    info = run["jwt_bearer"]
    expires = datetime.now(UTC).replace(microsecond=0) + JWT_BEARER_TRUST_TTL
    return {
        "issuer": info["issuer"],
        "subject": info["subject"],
        "scope": str(info["scope"]).split(),
        "expires_at": expires.isoformat(),
        "jwk": {**public_jwk, "kid": info["kid"]},
    }


def jwt_bearer_exchange(run: dict[str, Any], assertion: str, secret: str) -> None:
    """Exchange the browser-signed assertion at Hydra's token endpoint (once), then introspect the token."""
    info = run["jwt_bearer"]
    if info.get("state") != "trusted":
        return
    info["state"] = "exchanged"
    form = {"grant_type": JWT_BEARER_GRANT, "assertion": assertion}
    if info["scope"]:
        form["scope"] = str(info["scope"])
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
        header = jwt.get_unverified_header(assertion)
        info["assertion"] = {"header": header, "claims": claims}
    except jwt.PyJWTError:
        info["assertion"] = None
    tokens = record(
        run,
        "Token request (jwt-bearer grant, the assertion signed in the browser)",
        "POST",
        jwt_bearer_token_url(),
        lambda: hydra.token_grant(
            form,
            client_id=run["client_id"],
            client_secret=_secret_for(run, secret),
            auth_method=run["auth_method"],
        ),
        form=form,
        auth_method=run["auth_method"],
        client_id=run["client_id"],
    )
    if tokens is not None:
        _use_tokens(run, tokens, nonce=None, userinfo=False)
