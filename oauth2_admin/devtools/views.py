"""Developer tools: the discovery document, the flow tester and its callback page (also the demo client's)."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import segno
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince, timeuntil
from django.views.decorators.clickjacking import xframe_options_deny
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from oauth2_admin.clients import service as clients
from oauth2_admin.devtools import doctor, flows, service, snippets
from oauth2_admin.devtools.forms import (
    AuthorizeForm,
    ClientCredentialsForm,
    DeviceForm,
    DoctorForm,
    FrontChannelForm,
    JwtBearerExchangeForm,
    JwtBearerForm,
    SecretForm,
)
from oauth2_admin.hygiene import service as hygiene
from oauth2_admin.hygiene import views as hygiene_views
from oauth2_admin.trust import service as trusts
from truss import audit, htmx, tenancy
from truss.audit import Action
from truss.http import TenantRequest
from truss.models import Role
from truss.ory import http as ory_http
from truss.ory import hydra


@require_safe
@tenancy.tenant_view()
def discovery(request: TenantRequest) -> HttpResponse:
    """Hydra's OpenID Connect discovery document, readable."""
    found = service.discovery()
    raw = found.raw
    endpoints = [(k, v) for k, v in raw.items() if k.endswith(("_endpoint", "_uri")) and isinstance(v, str)]
    lists = [
        (k, v)
        for k, v in raw.items()
        if k.endswith("_supported") and isinstance(v, list) and k not in _LIST_ORDER
    ]
    context = {
        "doc": found.doc,
        "endpoints": endpoints,
        "raw_json": _pretty(raw),
        "registration": found.registration,
        "lists": [(k, raw.get(k) or []) for k in _LIST_ORDER] + lists,
        "flags": [(k, v) for k, v in raw.items() if isinstance(v, bool)],
    }
    return TemplateResponse(request, "console/devtools/discovery.html", context)


_LIST_ORDER = (
    "grant_types_supported",
    "response_types_supported",
    "response_modes_supported",
    "scopes_supported",
    "id_token_signing_alg_values_supported",
    "token_endpoint_auth_methods_supported",
    "code_challenge_methods_supported",
    "subject_types_supported",
    "claim_types_supported",
    "claims_supported",
)


# --- flow tester -----------------------------------------------------------------------------------------

# Registered claims (RFC 7519 §4.1, OIDC Core §2 and §5.1, RFC 9068) in words.
CLAIMS = {
    "iss": "Issuer: who made the token (Hydra's issuer URL).",
    "sub": "Subject: the user (or, for client credentials, the client) the token is about.",
    "aud": "Audience: who the token is for; an ID token's is the client id.",
    "exp": "Expires at: not valid after this time.",
    "nbf": "Not before: not valid before this time.",
    "iat": "Issued at.",
    "jti": "Token id: unique per token.",
    "auth_time": "When the user last actively signed in.",
    "nonce": "The value the client sent in the authorization request; proves the token answers that request.",
    "acr": "Authentication context class: how strongly the user signed in.",
    "amr": "Authentication methods used (password, otp, …).",
    "azp": "Authorized party: the client the token was issued to.",
    "at_hash": "Hash of the access token issued with this ID token (binds the two).",
    "c_hash": "Hash of the authorization code (hybrid flow).",
    "sid": "Session id at the sign-in service (used by logout).",
    "scp": "Scopes granted to this access token.",
    "client_id": "The client the token was issued to.",
    "ext": "Extra claims Hydra adds to the access token (set at consent).",
    "rat": "Requested at: when the authorization request was made (Hydra).",
    "email": "The user's email address.",
    "email_verified": "Whether the email address was verified.",
    "name": "The user's full name.",
}
_TIME_CLAIMS = ("exp", "nbf", "iat", "auth_time", "rat")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def _clients(request: TenantRequest) -> list[hydra.OAuth2Client]:
    return clients.list_for(request.tenant, page_size=200).items


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=False, ensure_ascii=False)


def _times(claims: dict[str, Any]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    out = []
    for name in _TIME_CLAIMS:
        value = claims.get(name)
        if isinstance(value, int | float):
            at = datetime.fromtimestamp(value, UTC)
            relative = f"in {timeuntil(at, now)}" if at > now else f"{timesince(at, now)} ago"
            out.append(
                {"claim": name, "at": at, "relative": relative, "expired": name == "exp" and at <= now}
            )
    return out


def _jwt_view(info: dict[str, Any] | None) -> dict[str, Any] | None:
    if not info or info.get("opaque"):
        return info
    claims = info.get("claims") or {}
    return {
        **info,
        "header_json": _pretty(info.get("header", {})),
        "claims_json": _pretty(claims),
        "times": _times(claims),
        "explained": [(k, CLAIMS[k]) for k in claims if k in CLAIMS],
    }


def _run_context(request: HttpRequest, run: dict[str, Any]) -> dict[str, Any]:
    timeline = [
        {
            **e,
            "form_json": _pretty(e["form"]) if e.get("form") else "",
            "response_json": _pretty(e.get("response")),
        }
        for e in run.get("timeline", [])
    ]
    return {
        "run": run,
        "timeline": timeline,
        "tokens_json": _pretty(run["tokens"]) if run.get("tokens") else "",
        "id_token": _jwt_view(run.get("id_token")),
        "access_token": _jwt_view(run.get("access_token")),
        "userinfo_json": _pretty(run["userinfo"]) if run.get("userinfo") else "",
        "introspection_json": _pretty(run["introspection"]) if run.get("introspection") else "",
        "params": [(k, v, _param_text(run, k)) for k, v in (run.get("params") or {}).items()],
        **_front_context(run),
        "needs_secret": run.get("auth_method") != "none",
        "secret_form": SecretForm(),
        "can_run": tenancy.role_at_least(getattr(request, "role", Role.VIEWER), Role.MEMBER),
        **_device_context(run),
        "jb_assertion_json": _pretty((run.get("jwt_bearer") or {}).get("assertion") or {}),
    }


def _param_text(run: dict[str, Any], name: str) -> str:
    if name == "response_type" and run.get("kind") in flows.FRONT_KINDS:
        return _FRONT_TEXT[str(run["params"]["response_type"])]
    return _PARAM_TEXT.get(name, "")


# Each implicit/hybrid response type: what it returns, and why RFC 9700 discourages it, with what to use instead.
_FRONT_TEXT = {
    "id_token token": "Implicit: an ID token and an access token, both in the URL fragment; no code, no PKCE.",
    "id_token": "Implicit, sign-in only: an ID token in the URL fragment, no access token.",
    "code id_token": "Hybrid: a code and an ID token (with c_hash) in the fragment; the code is then exchanged.",
    "code token": "Hybrid: a code and an access token in the fragment; the code is then exchanged.",
    "code id_token token": "Hybrid: a code, an ID token and an access token in the fragment.",
}
DISCOURAGED_TOKEN = (
    "RFC 9700 (OAuth 2.0 Security Best Current Practice) §2.1.2: clients SHOULD NOT use the implicit grant or any "
    "other response type that makes the authorization server issue an access token in the authorization "
    "response. This one does: the access token sits in the URL, where browser history, logs and referrers leak "
    "it, it can be injected into another session, and it cannot be sender-constrained. Use the authorization "
    "code with PKCE (response_type=code) instead; the flow tester runs it above."
)
DISCOURAGED_ID_TOKEN = (
    "RFC 9700 §2.1.2 discourages response types that put an access token in the URL; this one puts an ID token "
    "there instead, which still exposes the user's identity claims in the browser and needs the nonce and hash "
    "checks below to be safe. RFC 9700 §2.1.1 recommends the authorization code with PKCE (response_type=code): "
    "the ID token then comes from the token endpoint. Use that for new applications."
)


def _front_context(run: dict[str, Any]) -> dict[str, Any]:
    if run.get("kind") not in flows.FRONT_KINDS:
        return {}
    rtype = str(run["params"]["response_type"])
    _, token_in_url = flows.FRONT_CHANNEL[rtype]
    front = run.get("front") or {}
    return {
        "front_channel": True,
        "discouraged_text": DISCOURAGED_TOKEN if token_in_url else DISCOURAGED_ID_TOKEN,
        "front_tokens_json": _pretty(front["tokens"]) if front.get("tokens") else "",
        "front_id_token": _jwt_view(front.get("id_token")),
        "front_introspection_json": _pretty(front["introspection"]) if front.get("introspection") else "",
    }


def qr_svg(url: str) -> SafeString:
    """A QR code of ``url`` as inline SVG (segno): paths and presentation attributes only, no style attribute,
    so the CSP's style-src 'self' holds. The URL becomes path data, never markup: safe to mark safe."""
    svg = segno.make(url, error="m").svg_inline(
        scale=4, title="QR code of the verification URL", svgclass="qr", lineclass="qr-dark", light="#fff"
    )
    return mark_safe(svg)  # noqa: S308 - segno's output, the URL only as path data


def _device_context(run: dict[str, Any]) -> dict[str, Any]:
    device = run.get("device")
    if run.get("kind") != "device_code" or not device:
        return {}
    complete = str(device.get("verification_uri_complete") or "")
    left = max(0, int(float(device.get("expires_at", 0)) - time.time()))
    return {
        "device": device,
        "device_qr": qr_svg(complete) if complete and device.get("state") == "pending" else "",
        "device_polling": device.get("state") == "pending" and left > 0,
        "device_left": left,
    }


_PARAM_TEXT = {
    "response_type": "code: the authorization-code flow (the only one RFC 9700 recommends).",
    "client_id": "Which client asks.",
    "redirect_uri": "Where Hydra sends the browser back; must be registered for the client exactly.",
    "scope": "What the client asks for; openid makes it an OpenID Connect sign-in with an ID token.",
    "state": "Random, kept by Truss; the callback must bring it back unchanged (CSRF protection).",
    "nonce": "Random, kept by Truss; must come back inside the ID token (replay protection).",
    "code_challenge": "SHA-256 of a random verifier Truss keeps; the token request proves it (PKCE, RFC 7636).",
    "code_challenge_method": "S256: the challenge is a SHA-256 hash (never use plain).",
    "prompt": "Whether Hydra must (login, consent) or must not (none) show screens.",
    "max_age": "Sign in again if the last sign-in is older than this many seconds.",
    "ui_locales": "Preferred languages of the screens.",
    "acr_values": "Requested authentication context classes.",
}


def _no_store(response: HttpResponse, referrer: str = "same-origin") -> HttpResponse:
    """Run pages hold tokens: never cached. Their URLs carry state/code: never sent to another origin (the
    operator's pages keep same-origin referrers, or browsers send `Origin: null` and CSRF refuses the forms)."""
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = referrer
    return response


@require_safe
@tenancy.tenant_view()
def flow(request: TenantRequest) -> HttpResponse:
    """The flow tester: start a run (auth code + PKCE, client credentials) for one of the tenant's clients.
    ``?client=<id>`` pre-selects that client in every form it fits (the client page's test buttons link here);
    an id the tenant does not own is ignored."""
    items = _clients(request)
    chosen = request.GET.get("client", "")
    initial = {"client": chosen} if any(c.client_id == chosen for c in items) else {}
    return _flow_page(
        request,
        items,
        AuthorizeForm(clients=items, initial=initial),
        ClientCredentialsForm(clients=items, initial=initial),
        device_form=DeviceForm(clients=items, initial=initial),
        fc_form=FrontChannelForm(clients=items, initial=initial),
    )


def _flow_page(
    request: TenantRequest,
    items: list[hydra.OAuth2Client],
    authorize_form: AuthorizeForm,
    cc_form: ClientCredentialsForm,
    status: int = 200,
    device_form: DeviceForm | None = None,
    fc_form: FrontChannelForm | None = None,
) -> HttpResponse:
    callback = flows.callback_url()
    context = {
        "authorize_form": authorize_form,
        "cc_form": cc_form,
        "device_form": device_form or DeviceForm(clients=items),
        "fc_form": fc_form or FrontChannelForm(clients=items),
        "front_clients": [(c, flows.front_channel_types(c)) for c in items if flows.front_channel_types(c)],
        **service.device_support(),
        "callback_url": callback,
        "code_clients": [
            {"client": c, "registered": callback in c.redirect_uris}
            for c in items
            if {"authorization_code", "implicit"} & set(c.grant_types)
        ],
        "runs": flows.recent(request.session, request.tenant.slug),
        "can_run": tenancy.role_at_least(request.role, Role.MEMBER),
        "jb_form": JwtBearerForm(clients=items),
        "can_trust": tenancy.role_at_least(request.role, Role.ADMIN),
    }
    return _no_store(TemplateResponse(request, "console/devtools/flow.html", context, status=status))


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def flow_start(request: TenantRequest) -> HttpResponse:
    """Start an auth-code + PKCE run: generate verifier, challenge, state and nonce, keep them in the session."""
    items = _clients(request)
    form = AuthorizeForm(request.POST, clients=items)
    if not form.is_valid():
        return _flow_page(request, items, form, ClientCredentialsForm(clients=items), status=400)
    client = next(c for c in items if c.client_id == form.cleaned_data["client"])
    run = flows.start_authorization(request.tenant.slug, client, form.cleaned_data)
    flows.save(request.session, run)
    if request.POST.get("open") == "1":
        # The client page's "Test sign-in": straight to Hydra; the callback brings the browser to the run.
        return redirect(run["authorization_url"])
    return redirect("console:devtools:run", run_id=run["id"])


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def front_channel_start(request: TenantRequest) -> HttpResponse:
    """Start an implicit or hybrid run (discouraged, RFC 9700 §2.1.2) for a client that allows the response type;
    the answer comes back in the URL fragment, which the callback page's script posts to `callback_fragment`."""
    items = _clients(request)
    form = FrontChannelForm(request.POST, clients=items)
    if not form.is_valid():
        forms_ = (AuthorizeForm(clients=items), ClientCredentialsForm(clients=items))
        return _flow_page(request, items, *forms_, status=400, fc_form=form)
    client = next(c for c in items if c.client_id == form.cleaned_data["client"])
    run = flows.start_front_channel(
        request.tenant.slug, client, form.cleaned_data["response_type"], form.cleaned_data
    )
    flows.save(request.session, run)
    return redirect("console:devtools:run", run_id=run["id"])


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def client_credentials(request: TenantRequest) -> HttpResponse:
    """A client-credentials run: token response and introspection. The secret is used for this request only."""
    items = _clients(request)
    form = ClientCredentialsForm(request.POST, clients=items)
    if not form.is_valid():
        return _flow_page(request, items, AuthorizeForm(clients=items), form, status=400)
    client = next(c for c in items if c.client_id == form.cleaned_data["client"])
    data = form.cleaned_data
    run = flows.client_credentials(
        request.tenant.slug, client, data["secret"], data["scope"], data["audience"]
    )
    flows.save(request.session, run)
    return redirect("console:devtools:run", run_id=run["id"])


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def device_start(request: TenantRequest) -> HttpResponse:
    """A device-authorization run: Truss plays the device (user code, verification URI, QR code), then polls.
    A confidential client's secret is used for this request only; polling asks for it again."""
    items = _clients(request)
    form = DeviceForm(request.POST, clients=items)
    forms_ = (AuthorizeForm(clients=items), ClientCredentialsForm(clients=items))
    if not flows.device_supported():
        messages.error(request, "This Hydra has no device authorization grant (it needs v25.4 or newer).")
        return redirect("console:devtools:flow")
    if not form.is_valid():
        return _flow_page(request, items, *forms_, status=400, device_form=form)
    client = next(c for c in items if c.client_id == form.cleaned_data["client"])
    secret = str(form.cleaned_data["secret"] or "")
    if client.token_endpoint_auth_method != "none" and not secret:
        form.add_error(
            "secret", "This client authenticates at Hydra: type its secret (used once, never stored)."
        )
        return _flow_page(request, items, *forms_, status=400, device_form=form)
    scope = str(form.cleaned_data["scope"] or client.scope or "")
    run = flows.start_device(request.tenant.slug, client, secret, scope)
    flows.save(request.session, run)
    return redirect("console:devtools:run", run_id=run["id"])


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def run_poll(request: TenantRequest, run_id: str) -> HttpResponse:
    """One poll of a device run (one token request, one timeline entry). htmx calls it every `interval`
    seconds while the run is pending and gets the status and timeline back; once the run is over (tokens,
    expiry, denial) it answers with a redirect, so the page reloads with the result. A confidential client's
    secret comes with each poll from the page's field and is used for that request only."""
    run = _run_or_404(request, run_id)
    if run["kind"] != "device_code":
        raise Http404("Not a device run.")
    form = SecretForm(request.POST)
    secret = str(form.cleaned_data["secret"]) if form.is_valid() else ""
    fragment = htmx.is_fragment_request(request)
    unavailable = False
    if run.get("auth_method") != "none" and not secret:
        note = "Type the client's secret above to poll: it is used for each poll and never stored."
        if not fragment:
            messages.error(request, note)
            return redirect(_run_url(run))
        context = {**_run_context(request, run), "device_wait": note}
        return _no_store(TemplateResponse(request, "console/devtools/_device_poll.html", context))
    try:
        flows.poll_device(run, secret)
    except hydra.HydraUnavailable:
        unavailable = True
    flows.save(request.session, run)
    if not fragment or run["device"]["state"] != "pending":
        return redirect(_run_url(run))
    context = {**_run_context(request, run), "device_unavailable": unavailable}
    return _no_store(TemplateResponse(request, "console/devtools/_device_poll.html", context))


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def add_redirect(request: TenantRequest) -> HttpResponse:
    """Register the flow tester's callback as a redirect URI of the client (audited as a client update)."""
    client_id = request.POST.get("client", "")
    callback = flows.callback_url()
    current = clients.get_for(request.tenant, client_id)  # 404 for another tenant's client
    if callback not in current.redirect_uris:
        try:
            clients.update_for(
                request, request.tenant, client_id, {"redirect_uris": [*current.redirect_uris, callback]}
            )
        except (clients.ClientInputError, clients.PreconditionFailed) as exc:
            messages.error(request, f"Could not add the callback: {exc}")
            return redirect(_flow_for(client_id))
    messages.success(request, f"{callback} is now a redirect URI of {current.client_name or client_id}.")
    return redirect(_flow_for(client_id))


def _flow_for(client_id: str) -> str:
    """The flow tester pre-filled for one client, at its authorization-code form."""
    return f"{reverse('console:devtools:flow')}?{urlencode({'client': client_id})}#code-title"


def _run_or_404(request: TenantRequest, run_id: str) -> dict[str, Any]:
    run = flows.get(request.session, run_id, request.tenant.slug) if _RUN_ID_RE.match(run_id) else None
    if run is None:
        raise Http404("No such run in this browser session (runs expire after 30 minutes).")
    return run


@require_safe
@tenancy.tenant_view()
def run_detail(request: TenantRequest, run_id: str) -> HttpResponse:
    run = _run_or_404(request, run_id)
    return _no_store(TemplateResponse(request, "console/devtools/run.html", _run_context(request, run)))


def _run_action(request: TenantRequest, run_id: str, action: str) -> HttpResponse:
    run = _run_or_404(request, run_id)
    form = SecretForm(request.POST)
    secret = str(form.cleaned_data["secret"]) if form.is_valid() else ""
    if run.get("auth_method") != "none" and not secret and action != "forget":
        messages.error(request, "Type the client's secret: this client authenticates at the token endpoint.")
        return redirect(_run_url(run))
    if action == "exchange":
        flows.exchange_code(run, secret)
    elif action == "refresh":
        flows.refresh(run, secret)
    elif action == "revoke":
        with audit.mutation(request, Action.DEVTOOLS_FLOW_REVOKE, request.tenant, run["client_id"]) as event:
            revoked = flows.revoke(run, secret)
            event.success(after={"run": run["kind"], "revoked": revoked})
    elif action == "forget":
        flows.forget(request.session, run_id)
        messages.success(request, "The run and its tokens are gone from this session.")
        return redirect("console:devtools:flow")
    flows.save(request.session, run)
    return redirect(_run_url(run))


def _run_url(run: dict[str, Any]) -> str:
    """Auth-code runs live on the callback page they came back to; other runs on their own page."""
    if run["kind"] in ("authorization_code", *flows.FRONT_KINDS) and run.get("callback"):
        return reverse("console:devtools:callback") + "?state=" + str(run["id"])
    return reverse("console:devtools:run", kwargs={"run_id": run["id"]})


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def run_exchange(request: TenantRequest, run_id: str) -> HttpResponse:
    return _run_action(request, run_id, "exchange")


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def run_refresh(request: TenantRequest, run_id: str) -> HttpResponse:
    return _run_action(request, run_id, "refresh")


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def run_revoke(request: TenantRequest, run_id: str) -> HttpResponse:
    return _run_action(request, run_id, "revoke")


@require_POST
@tenancy.tenant_view(min_role=Role.MEMBER)
def run_forget(request: TenantRequest, run_id: str) -> HttpResponse:
    return _run_action(request, run_id, "forget")


# --- jwt-bearer runs (RFC 7523) -------------------------------------------------------------------------


def _json_errors(errors: dict[str, list[str]], status: int = 400) -> HttpResponse:
    return _no_store(JsonResponse({"errors": errors}, status=status))


@require_POST
@tenancy.tenant_view(min_role=Role.ADMIN)
def jwt_bearer_start(request: TenantRequest) -> HttpResponse:
    """Start a jwt-bearer run: the browser made a key pair and sends only its public JWK; Truss trusts it for a
    few minutes (the trust service: validated, tenant-owned, audited) under an issuer and subject of this run.
    Admins only, like any trust. Answers JSON: what the browser puts into the assertion it signs."""
    form = JwtBearerForm(request.POST, clients=_clients(request))
    if not form.is_valid():
        return _json_errors({k: [str(m) for m in v] for k, v in form.errors.items()})
    client = next(c for c in _clients(request) if c.client_id == form.cleaned_data["client"])
    run = flows.start_jwt_bearer(request.tenant.slug, client, str(form.cleaned_data["scope"] or ""))
    body = flows.jwt_bearer_trust_body(run, form.cleaned_data["jwk"])
    try:
        created = trusts.create_for(request, request.tenant, body)
    except trusts.TrustInputError as exc:
        return _json_errors({k: list(v) for k, v in exc.fields.items()})
    except trusts.TrustConflict as exc:
        return _json_errors({"__all__": [str(exc)]}, status=409)
    except ory_http.OryError as exc:
        return _json_errors({"__all__": [f"Hydra did not take the temporary trust: {exc}"]}, status=503)
    info = run["jwt_bearer"]
    info.update(state="trusted", trust_id=created.record.hydra_id, expires_at=body["expires_at"])
    run["timeline"].append(
        {
            "title": "Temporary trust for the browser's public key (trust service, audited)",
            "method": "POST",
            "url": str(settings.HYDRA_ADMIN_URL).rstrip("/") + "/admin/trust/grants/jwt-bearer/issuers",
            "headers": {},
            "form": dict(body),
            "status": 201,
            "ok": True,
            "response": {"id": created.record.hydra_id, "note": "removed again after the exchange"},
            "curl": "# Made by Truss's trust service for this run.",
            "at": time.time(),
            "ms": 0,
        }
    )
    flows.save(request.session, run)
    return _no_store(
        JsonResponse(
            {
                "run": run["id"],
                "issuer": info["issuer"],
                "subject": info["subject"],
                "kid": info["kid"],
                "audience": info["token_url"],
                "exchange": reverse("console:devtools:jwt_bearer_exchange", kwargs={"run_id": run["id"]}),
            }
        )
    )


def _remove_run_trust(request: TenantRequest, run: dict[str, Any]) -> None:
    """Delete the run's temporary trust (audited); if Hydra is down it stays until it expires and the sweep
    (expire_trusts) removes it."""
    info = run["jwt_bearer"]
    trust_id = info.get("trust_id")
    if not trust_id or info.get("trust_removed"):
        return
    entry: dict[str, Any] = {
        "title": "Temporary trust removed (trust service, audited)",
        "method": "DELETE",
        "url": str(settings.HYDRA_ADMIN_URL).rstrip("/")
        + f"/admin/trust/grants/jwt-bearer/issuers/{trust_id}",
        "headers": {},
        "form": {},
        "curl": "# Done by Truss's trust service for this run.",
        "at": time.time(),
        "ms": 0,
    }
    try:
        trusts.delete_for(request, request.tenant, str(trust_id))
    except trusts.TrustNotFound:
        entry.update(status=404, ok=True, response={"note": "already gone (expired and swept)"})
    except (ory_http.OryError, trusts.TrustConflict) as exc:
        entry.update(
            status=None,
            ok=False,
            response={"error": str(exc), "note": "it expires within minutes and is swept then"},
        )
        run["timeline"].append(entry)
        return
    else:
        entry.update(status=204, ok=True, response={"result": "no content"})
    info["trust_removed"] = True
    run["timeline"].append(entry)


@require_POST
@tenancy.tenant_view(min_role=Role.ADMIN)
def jwt_bearer_exchange(request: TenantRequest, run_id: str) -> HttpResponse:
    """The browser-signed assertion and the client's secret (used for this request only): Truss exchanges it at
    Hydra's token endpoint, introspects the token and removes the run's temporary trust, whatever happened."""
    run = _run_or_404(request, run_id)
    if run["kind"] != "jwt_bearer":
        raise Http404("Not a jwt-bearer run.")
    form = JwtBearerExchangeForm(request.POST)
    if not form.is_valid():
        return _json_errors({k: [str(m) for m in v] for k, v in form.errors.items()})
    secret = str(form.cleaned_data["secret"] or "")
    if run.get("auth_method") != "none" and not secret:
        return _json_errors(
            {"secret": ["This client authenticates at Hydra: type its secret (used once, never stored)."]}
        )
    status = 200
    try:
        flows.jwt_bearer_exchange(run, str(form.cleaned_data["assertion"]), secret)
    except hydra.HydraUnavailable:
        status = 503
    finally:
        _remove_run_trust(request, run)
        flows.save(request.session, run)
    return _no_store(JsonResponse({"location": _run_url(run), "ok": bool(run.get("tokens"))}, status=status))


# --- the callback page -----------------------------------------------------------------------------------


def _mask(value: str) -> str:
    return value[:6] + "…" + f" ({len(value)} characters)" if len(value) > 6 else "…"


def _operator_run(request: HttpRequest, state: str) -> dict[str, Any] | None:
    """The flow-tester run this browser's operator session started with this state, if any."""
    if not state or not _RUN_ID_RE.match(state) or not request.user.is_authenticated:
        return None
    resolved = tenancy.resolve(request)
    if resolved is None:
        return None
    tenant, role = resolved
    run = flows.get(request.session, state, tenant.slug)
    if run is None or run["kind"] not in ("authorization_code", *flows.FRONT_KINDS):
        return None
    tenant_request = request
    tenant_request.tenant, tenant_request.role = tenant, role  # type: ignore[attr-defined]
    return run


@require_safe
@xframe_options_deny
def callback(request: HttpRequest) -> HttpResponse:
    """Where sign-ins end: a flow-tester run of this browser's operator session (matched by state) is shown with
    its next steps; anything else (the demo client, started elsewhere) gets the public explanation page.

    On the public page the code is only shown masked; nothing there redeems it or links anywhere else.
    """
    run = _operator_run(request, request.GET.get("state", ""))
    if run is not None:
        if run["kind"] == "authorization_code" and ("code" in request.GET or "error" in request.GET):
            flows.receive_callback(run, request.GET)
            flows.save(request.session, run)
        context = {**_run_context(request, run), "on_callback": True}
        return _no_store(TemplateResponse(request, "console/devtools/run.html", context))
    code = request.GET.get("code", "")
    error = request.GET.get("error", "")
    what, fix = flows.ERROR_HELP.get(error, flows.UNKNOWN_ERROR)
    context = {
        "code": _mask(code) if flows.CODE_RE.match(code) else "",
        "state": request.GET.get("state", "")[:200],
        "scope": request.GET.get("scope", "")[:500],
        "error": error if flows.ERROR_RE.match(error) else ("unknown_error" if error else ""),
        "error_text": what,
        "error_fix": fix,
        "error_description": request.GET.get("error_description", "")[:500],
    }
    response = TemplateResponse(request, "console/devtools/callback.html", context, status=200)
    return _no_store(response, referrer="no-referrer")


@require_POST
def callback_fragment(request: HttpRequest) -> HttpResponse:
    """The answer of an implicit or hybrid run, read from the URL fragment by the callback page's script
    (static/js/devtools-fragment.js) and posted here with the page's CSRF token. Only this browser's operator
    session's run with that state takes it; the answer is checked (ID token, nonce, at_hash, c_hash) before any
    token is kept. Answers JSON: where the run is shown, or why nothing was taken."""
    run = _operator_run(request, request.POST.get("state", ""))
    if run is None or run["kind"] not in flows.FRONT_KINDS:
        response = JsonResponse(
            {
                "message": "This answer belongs to no implicit or hybrid run of your console session: Truss kept "
                "nothing of it. It was removed from the address bar."
            },
            status=404,
        )
        return _no_store(response, referrer="no-referrer")
    try:
        flows.receive_fragment(run, request.POST)
    except hydra.HydraUnavailable:
        flows.save(request.session, run)
        return _no_store(JsonResponse({"message": "Hydra is unavailable: try the run again."}, status=503))
    flows.save(request.session, run)
    return _no_store(JsonResponse({"location": _run_url(run), "ok": bool(run["callback"]["ok"])}))


# --- SDK snippets ----------------------------------------------------------------------------------------


def _snippet_context(client: hydra.OAuth2Client) -> dict[str, Any]:
    target = service.snippet_target(client)
    groups: dict[str, list[snippets.Snippet]] = {}
    for snippet in snippets.snippets(target):
        groups.setdefault(snippet.flow, []).append(snippet)
    return {"snippet_client": client, "snippet_groups": groups, "snippet_target": target}


@require_safe
@tenancy.tenant_view()
def snippets_page(request: TenantRequest) -> HttpResponse:
    """Ready-to-run snippets for one of the tenant's clients (picked with ?client=)."""
    items = _clients(request)
    chosen = request.GET.get("client", "")
    client = next((c for c in items if c.client_id == chosen), items[0] if items else None)
    context: dict[str, Any] = {"clients": items, "chosen": client.client_id if client else ""}
    if client is not None:
        context.update(_snippet_context(client))
    return htmx.render(request, "console/devtools/snippets.html", context, partial="client-snippets")


@require_safe
@tenancy.tenant_view()
def client_snippets(request: TenantRequest, client_id: str) -> HttpResponse:
    """The snippets of one client as a fragment, for the client's own page (404 for another tenant's)."""
    client = clients.get_for(request.tenant, client_id)
    return TemplateResponse(
        request, "console/devtools/snippets.html#client-snippets", _snippet_context(client)
    )


# --- JWT debugger ----------------------------------------------------------------------------------------


@require_safe
@tenancy.tenant_view()
def jwt_debugger(request: TenantRequest) -> HttpResponse:
    """Decode and verify a JWT in the browser (static/js/jwt-debugger.js): the page carries Hydra's public
    JWKS; the token never reaches the server. Hydra down: the page still decodes, and says it cannot verify."""
    context = {"jwks": service.verification_keys(), "claim_text": CLAIMS}
    return TemplateResponse(request, "console/devtools/jwt.html", context)


# --- flow doctor -----------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view()
def doctor_page(request: TenantRequest) -> HttpResponse:
    """GET: the form; POST: the diagnosis (a read: POST only keeps pasted codes out of URLs and logs)."""
    form = DoctorForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {"form": form, "found": None}
    if not form.is_bound:
        return TemplateResponse(request, "console/devtools/doctor.html", context)
    if not form.is_valid():
        return TemplateResponse(request, "console/devtools/doctor.html", context, status=400)
    data = form.cleaned_data
    try:
        found = doctor.diagnose(
            request.tenant, data["url"], client_id=data["client_id"], request_url=data["request_url"]
        )
    except doctor.BadInput as exc:
        for name, errors in exc.fields.items():
            for message in errors:
                form.add_error(name, message)
        return TemplateResponse(request, "console/devtools/doctor.html", context, status=400)
    sent = data["request_url"] or data["url"]
    can_edit = tenancy.role_at_least(request.role, Role.MEMBER)
    fixes = {
        f.code: reverse("console:devtools:doctor_fix", args=[found.client_id, f.code])
        + "?"
        + urlencode({"request": sent})
        for f in found.findings
        if f.fix and can_edit and found.client_found
    }
    context.update(found=found, fixes=fixes)
    return TemplateResponse(request, "console/devtools/doctor.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@tenancy.tenant_view(min_role=Role.MEMBER)
def doctor_fix(request: TenantRequest, client_id: str, code: str) -> HttpResponse:
    """The fix of one doctor finding, recomputed from the client and the request: hygiene's confirmation (diff
    first, ETag, one audited update)."""
    client = doctor.find_client(request.tenant, client_id)
    if client is None:
        raise Http404("No such client.")
    try:
        sent = doctor.parse_url(request.GET.get("request", ""), "request")
    except doctor.BadInput as exc:
        raise Http404(str(exc)) from None
    finding = next((f for f in doctor.check_request(client, sent) if f.code == code and f.fix), None)
    if finding is None or finding.fix is None:
        raise Http404("This finding has no fix (any more).")
    as_hygiene = hygiene.Finding(
        f"doctor-{code}",
        "medium",
        finding.fix.summary,
        "Flow doctor",
        finding.message.rstrip("."),
        finding.fix,
    )
    return hygiene_views.confirm_fix(request, client, as_hygiene)
