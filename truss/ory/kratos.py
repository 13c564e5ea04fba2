"""Typed client for Ory Kratos v1.3 (admin API on KRATOS_ADMIN_URL, public API on KRATOS_PUBLIC_URL).

Browser flows are driven by the browser itself (Kratos sets its CSRF and session cookies on it); Truss only
builds the init URLs and reads flows, sessions and errors server-side, forwarding the browser's Cookie
header. Paths are checked against the Kratos v1.3.1 OpenAPI spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlencode

from django.conf import settings
from pydantic import BeforeValidator, Field, ValidationError, model_validator

from truss.ory import http as ory_http
from truss.ory.http import OryModel, none_as_empty_list, segment

# --- Exceptions -------------------------------------------------------------------------------------------


class KratosError(ory_http.OryError):
    service = "Kratos"


class KratosNotFound(KratosError, ory_http.OryNotFound):
    pass


class KratosConflict(KratosError, ory_http.OryConflict):
    pass


class KratosGone(KratosError, ory_http.OryGone):
    """An expired flow; ``redirect_to`` starts a fresh one, ``use_flow_id`` names its replacement."""


class KratosBadRequest(KratosError, ory_http.OryBadRequest):
    """A rejected request. For self-service form errors Kratos answers with the whole flow: see ``flow``."""

    flow: SelfServiceFlow | None = None


class KratosUnauthorized(KratosError, ory_http.OryUnauthorized):
    pass


class KratosForbidden(KratosError, ory_http.OryForbidden):
    """E.g. security_csrf_violation or session_aal2_required (then ``redirect_to`` is the step-up URL)."""


class KratosUnavailable(KratosError, ory_http.OryUnavailable):
    pass


_SERVICE = ory_http.Service(
    name="Kratos",
    errors=ory_http.ErrorFamily(
        base=KratosError,
        not_found=KratosNotFound,
        conflict=KratosConflict,
        gone=KratosGone,
        bad_request=KratosBadRequest,
        unauthorized=KratosUnauthorized,
        forbidden=KratosForbidden,
        unavailable=KratosUnavailable,
    ),
    admin_url_setting="KRATOS_ADMIN_URL",
    public_url_setting="KRATOS_PUBLIC_URL",
    timeout_setting="KRATOS_TIMEOUT",
)

FlowKind = Literal["login", "registration", "recovery", "verification", "settings"]
FLOW_KINDS: tuple[FlowKind, ...] = get_args(FlowKind)

# --- Models -----------------------------------------------------------------------------------------------


class VerifiableAddress(OryModel):
    id: str | None = None
    value: str
    verified: bool = False
    via: str = "email"
    status: str | None = None
    verified_at: datetime | None = None


class RecoveryAddress(OryModel):
    id: str | None = None
    value: str
    via: str = "email"


class Identity(OryModel):
    id: str
    schema_id: str = "default"
    state: str | None = None
    # Shaped by the identity schema (ory/identity.schema.json: email, name).
    traits: dict[str, Any] = Field(default_factory=dict)
    metadata_public: Any = None
    # Only returned by the admin API.
    metadata_admin: Any = None
    verifiable_addresses: Annotated[list[VerifiableAddress], BeforeValidator(none_as_empty_list)] = Field(
        default_factory=list
    )
    recovery_addresses: Annotated[list[RecoveryAddress], BeforeValidator(none_as_empty_list)] = Field(
        default_factory=list
    )
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def email(self) -> str | None:
        value = self.traits.get("email")
        return value if isinstance(value, str) else None

    @property
    def name(self) -> str | None:
        value = self.traits.get("name")
        return value if isinstance(value, str) else None


class IdentityPage(OryModel):
    items: list[Identity]
    next_page_token: str | None = None


class AuthenticationMethod(OryModel):
    method: str | None = None
    aal: str | None = None
    completed_at: datetime | None = None
    provider: str | None = None


class Session(OryModel):
    id: str
    active: bool = False
    identity: Identity
    authenticated_at: datetime | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    authentication_methods: Annotated[list[AuthenticationMethod], BeforeValidator(none_as_empty_list)] = (
        Field(default_factory=list)
    )
    # Kratos's name for the AAL ("aal1", "aal2"); there is no field called "aal".
    authenticator_assurance_level: str | None = None

    @property
    def amr(self) -> list[str]:
        """Methods used, in the form Hydra's accept-login ``amr`` expects."""
        return [m.method for m in self.authentication_methods if m.method]


class UiText(OryModel):
    id: int
    text: str
    type: str  # info | error | success
    context: dict[str, Any] | None = None


class UiInputAttributes(OryModel):
    node_type: Literal["input"] = "input"
    name: str
    type: str
    value: Any = None  # string, number or bool (checkboxes)
    required: bool = False
    disabled: bool = False
    autocomplete: str | None = None
    pattern: str | None = None
    maxlength: int | None = None
    label: UiText | None = None


class UiTextAttributes(OryModel):
    node_type: Literal["text"] = "text"
    id: str
    text: UiText


class UiImageAttributes(OryModel):
    node_type: Literal["img"] = "img"
    id: str
    src: str
    width: int | None = None
    height: int | None = None


class UiAnchorAttributes(OryModel):
    node_type: Literal["a"] = "a"
    id: str
    href: str
    title: UiText | None = None


class UiScriptAttributes(OryModel):
    node_type: Literal["script"] = "script"
    id: str
    src: str
    type: str | None = None
    async_: bool = Field(default=False, alias="async")
    integrity: str | None = None
    crossorigin: str | None = None
    referrerpolicy: str | None = None
    nonce: str | None = None


UiNodeAttributes = Annotated[
    UiInputAttributes | UiTextAttributes | UiImageAttributes | UiAnchorAttributes | UiScriptAttributes,
    Field(discriminator="node_type"),
]


class UiNodeMeta(OryModel):
    label: UiText | None = None


class UiNode(OryModel):
    type: Literal["input", "text", "img", "a", "script"]
    group: str
    attributes: UiNodeAttributes
    messages: Annotated[list[UiText], BeforeValidator(none_as_empty_list)] = Field(default_factory=list)
    meta: UiNodeMeta = Field(default_factory=UiNodeMeta)

    @model_validator(mode="before")
    @classmethod
    def _node_type_from_type(cls, data: Any) -> Any:
        # node_type mirrors node.type; older payloads may omit it, so fill the discriminator in.
        if isinstance(data, Mapping) and isinstance(data.get("attributes"), Mapping):
            attributes = data["attributes"]
            if "node_type" not in attributes and "type" in data:
                return {**data, "attributes": {**attributes, "node_type": data["type"]}}
        return data

    @property
    def name(self) -> str | None:
        """The form field name (input nodes only)."""
        return self.attributes.name if isinstance(self.attributes, UiInputAttributes) else None

    @property
    def label(self) -> str | None:
        """Human label: meta.label, else the input's own label, else an anchor's title."""
        if self.meta.label is not None:
            return self.meta.label.text
        attributes = self.attributes
        if isinstance(attributes, UiInputAttributes) and attributes.label is not None:
            return attributes.label.text
        if isinstance(attributes, UiAnchorAttributes) and attributes.title is not None:
            return attributes.title.text
        return None

    @property
    def input_type(self) -> str | None:
        return self.attributes.type if isinstance(self.attributes, UiInputAttributes) else None

    @property
    def value(self) -> Any:
        return self.attributes.value if isinstance(self.attributes, UiInputAttributes) else None


class UiContainer(OryModel):
    action: str
    method: str
    nodes: Annotated[list[UiNode], BeforeValidator(none_as_empty_list)] = Field(default_factory=list)
    messages: Annotated[list[UiText], BeforeValidator(none_as_empty_list)] = Field(default_factory=list)

    def node(self, name: str) -> UiNode | None:
        return next((n for n in self.nodes if n.name == name), None)

    @property
    def csrf_token(self) -> str | None:
        found = self.node("csrf_token")
        value = found.value if found is not None else None
        return value if isinstance(value, str) else None

    def groups(self, *groups: str) -> list[UiNode]:
        """Nodes of the given groups plus the "default" ones (csrf_token): one form per settings group."""
        wanted = {"default", *groups}
        return [n for n in self.nodes if n.group in wanted]

    @property
    def errors(self) -> list[UiText]:
        """Every error message, form-level first, then per field."""
        found = [m for m in self.messages if m.type == "error"]
        for n in self.nodes:
            found.extend(m for m in n.messages if m.type == "error")
        return found


class SelfServiceFlow(OryModel):
    """Login, registration, recovery, verification or settings flow; ``kind`` says which."""

    kind: FlowKind | None = None
    id: str
    type: str | None = None  # "browser" or "api"
    expires_at: datetime | None = None
    issued_at: datetime | None = None
    request_url: str | None = None
    return_to: str | None = None
    ui: UiContainer
    state: str | None = None
    active: str | None = None
    refresh: bool | None = None
    requested_aal: str | None = None
    oauth2_login_challenge: str | None = None
    # Settings flows carry the identity being edited.
    identity: Identity | None = None


class FlowError(OryModel):
    """A self-service error (``/self-service/errors?id=``): ``error`` is Kratos's free-form error object."""

    id: str
    error: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def code(self) -> int | None:
        value = self.error.get("code")
        return value if isinstance(value, int) else None

    @property
    def message(self) -> str | None:
        value = self.error.get("message")
        return value if isinstance(value, str) else None

    @property
    def reason(self) -> str | None:
        value = self.error.get("reason")
        return value if isinstance(value, str) else None


class LogoutFlow(OryModel):
    logout_url: str
    logout_token: str


# --- Helpers ----------------------------------------------------------------------------------------------


def _admin(path: str) -> str:
    return _SERVICE.admin_url(path)


def _public(path: str) -> str:
    return _SERVICE.public_url(path)


def _json(method: str, url: str, **kwargs: Any) -> Any:
    return ory_http.request_json(_SERVICE, method, url, **kwargs)


def _flow_errors(kind: FlowKind | None) -> ory_http.ErrorHook:
    """Kratos answers a rejected form with 400 and the whole flow: keep it, the UI re-renders from it."""

    def hook(status: int, body: Any) -> ory_http.OryError | None:
        if status != 400 or not isinstance(body, Mapping) or "ui" not in body:
            return None
        try:
            flow = SelfServiceFlow.model_validate({**body, "kind": kind})
        except ValidationError:
            return None  # not a flow after all; the generic mapping applies
        first = next(iter(flow.ui.errors), None)
        error = KratosBadRequest(
            status, "validation_failed", first.text[: ory_http.MAX_DESCRIPTION] if first else None
        )
        error.flow = flow
        return error

    return hook


def _cookie_headers(cookie_header: str | None) -> dict[str, str]:
    """Forward the browser's cookies to Kratos, minus Truss's own session and CSRF cookies."""
    own = {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME}
    kept = [
        part.strip()
        for part in (cookie_header or "").split(";")
        if part.strip() and part.split("=", 1)[0].strip() not in own
    ]
    return {"Cookie": "; ".join(kept)} if kept else {}


def _check_kind(kind: str) -> FlowKind:
    if kind not in FLOW_KINDS:
        raise ValueError(f"unknown flow kind: {kind!r}")
    return kind  # type: ignore[return-value]


# --- Health and version -----------------------------------------------------------------------------------


def is_ready() -> bool:
    """Whether Kratos and its database answer; False instead of raising so health pages can render."""
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/metadata/operation/isReady
    # Kratos's admin port answers /health/ready with a 307 to /admin/health/ready (v1.3.1, measured).
    return ory_http.is_ready(_SERVICE, "/admin/health/ready")


def get_version() -> str:
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/metadata/operation/getVersion
    return ory_http.get_version(_SERVICE, "/admin/version")


# --- Sessions ---------------------------------------------------------------------------------------------


def whoami(cookie_header: str | None) -> Session | None:
    """The browser's Kratos session, or None when it has none (401).

    Raises KratosForbidden when the session's AAL is too low (``redirect_to`` then points at step-up login).
    """
    headers = _cookie_headers(cookie_header)
    if not headers:
        return None  # no cookies at all: Kratos would answer 401
    try:
        # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/frontend/operation/toSession
        data = _json("GET", _public("/sessions/whoami"), headers=headers)
    except KratosUnauthorized:
        return None
    return ory_http.parse(_SERVICE, Session, data)


# --- Identities (admin) -----------------------------------------------------------------------------------


def get_identity(identity_id: str) -> Identity:
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/identity/operation/getIdentity
    data = _json("GET", _admin(f"/admin/identities/{segment(identity_id)}"))
    return ory_http.parse(_SERVICE, Identity, data)


def list_identities(
    *,
    credentials_identifier: str | None = None,
    ids: list[str] | None = None,
    page_size: int = 250,
    page_token: str | None = None,
) -> IdentityPage:
    """One page of identities; ``credentials_identifier`` is an exact match (e.g. the login email), ``ids``
    only these identities (one call for many)."""
    params: dict[str, str | int] = {"page_size": page_size}
    if credentials_identifier is not None:
        params["credentials_identifier"] = credentials_identifier
    url = _admin("/admin/identities")
    if ids:
        url += "?" + urlencode([("ids", i) for i in ids])  # repeated: ids=a&ids=b
    if page_token is not None:
        params["page_token"] = page_token
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/identity/operation/listIdentities
    response = ory_http.request(_SERVICE, "GET", url, params=params)
    items = ory_http.parse_list(_SERVICE, Identity, ory_http.json_body(_SERVICE, response))
    token = ory_http.next_page_token(response, page_size=page_size, count=len(items))
    return IdentityPage(items=items, next_page_token=token)


def create_identity(
    *,
    email: str,
    password: str,
    name: str | None = None,
    metadata_public: Mapping[str, Any] | None = None,
    verified: bool = True,
    schema_id: str = "default",
) -> Identity:
    """Import an identity with a password (admin imports skip the password policy). 409 if the email exists."""
    traits: dict[str, Any] = {"email": email}
    if name is not None:
        traits["name"] = name
    body: dict[str, Any] = {
        "schema_id": schema_id,
        "state": "active",
        "traits": traits,
        "credentials": {"password": {"config": {"password": password}}},
    }
    if metadata_public is not None:
        body["metadata_public"] = dict(metadata_public)
    if verified:
        # Without this Kratos creates the address unverified and may ask the user to verify it.
        body["verifiable_addresses"] = [
            {"value": email, "via": "email", "verified": True, "status": "completed"}
        ]
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/identity/operation/createIdentity
    data = _json("POST", _admin("/admin/identities"), json=body)
    return ory_http.parse(_SERVICE, Identity, data)


def delete_identity(identity_id: str) -> None:
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/identity/operation/deleteIdentity
    ory_http.request(_SERVICE, "DELETE", _admin(f"/admin/identities/{segment(identity_id)}"))


def delete_identity_sessions(identity_id: str) -> None:
    """Revoke every session of the identity.

    Kratos answers 404 when there was no session to delete (DeleteSessionsByIdentity counts rows), which
    for this call means the goal is already reached, so it is not an error.
    """
    try:
        # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/identity/operation/deleteIdentitySessions
        ory_http.request(_SERVICE, "DELETE", _admin(f"/admin/identities/{segment(identity_id)}/sessions"))
    except KratosNotFound:
        return


# --- Identity sessions (admin) ---------------------------------------------------------------------------


class SessionDevice(OryModel):
    id: str | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    location: str | None = None


class IdentitySession(OryModel):
    """A session as the admin API lists it for one identity (the identity itself is not expanded)."""

    id: str
    active: bool = False
    authenticated_at: datetime | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    authentication_methods: Annotated[list[AuthenticationMethod], BeforeValidator(none_as_empty_list)] = (
        Field(default_factory=list)
    )
    authenticator_assurance_level: str | None = None
    devices: Annotated[list[SessionDevice], BeforeValidator(none_as_empty_list)] = Field(default_factory=list)


def list_identity_sessions(identity_id: str, *, page_size: int = 250) -> list[IdentitySession]:
    """The identity's sessions, newest first as Kratos returns them (one page; 250 is plenty per person)."""
    params: dict[str, str | int] = {"page_size": page_size}
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/identity/operation/listIdentitySessions
    data = _json("GET", _admin(f"/admin/identities/{segment(identity_id)}/sessions"), params=params)
    return ory_http.parse_list(_SERVICE, IdentitySession, data)


def disable_session(session_id: str) -> None:
    """Deactivate one session (the browser holding it is signed out on its next request)."""
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/identity/operation/disableSession
    ory_http.request(_SERVICE, "DELETE", _admin(f"/admin/sessions/{segment(session_id)}"))


# --- Self-service flows (public) --------------------------------------------------------------------------


def browser_flow_url(
    kind: FlowKind,
    *,
    return_to: str | None = None,
    refresh: bool = False,
    aal: str | None = None,
    login_challenge: str | None = None,
) -> str:
    """Where to send the browser to start a flow; Kratos then redirects it to our UI with ``?flow=<id>``.

    ``login_challenge`` is Kratos's native Hydra integration and needs ``oauth2_provider.url`` configured
    (otherwise Kratos answers 500); Truss's bridge normally puts the challenge inside ``return_to`` instead.
    """
    _check_kind(kind)
    if (refresh or aal) and kind != "login":
        raise ValueError("refresh and aal only apply to login flows")
    if login_challenge and kind not in ("login", "registration"):
        raise ValueError("login_challenge only applies to login and registration flows")
    query: dict[str, str] = {}
    if return_to:
        query["return_to"] = return_to
    if refresh:
        query["refresh"] = "true"
    if aal:
        query["aal"] = aal
    if login_challenge:
        query["login_challenge"] = login_challenge
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/frontend/operation/createBrowserLoginFlow
    url = _public(f"/self-service/{kind}/browser")
    return f"{url}?{urlencode(query)}" if query else url


def get_flow(kind: FlowKind, flow_id: str, cookie_header: str | None) -> SelfServiceFlow:
    """Read a browser flow for rendering. The browser's cookies must be forwarded (Kratos checks CSRF).

    410 (expired) raises KratosGone with ``redirect_to`` = a fresh init URL; a missing or mismatched CSRF
    cookie raises KratosForbidden (security_csrf_violation); unknown ids raise KratosNotFound.
    """
    _check_kind(kind)
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/frontend/operation/getLoginFlow
    # (and getRegistrationFlow, getRecoveryFlow, getVerificationFlow, getSettingsFlow)
    data = _json(
        "GET",
        _public(f"/self-service/{kind}/flows"),
        params={"id": flow_id},
        headers=_cookie_headers(cookie_header),
        on_error=_flow_errors(kind),
    )
    if isinstance(data, Mapping):
        data = {**data, "kind": kind}
    return ory_http.parse(_SERVICE, SelfServiceFlow, data)


def get_flow_error(error_id: str) -> FlowError:
    # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/frontend/operation/getFlowError
    data = _json("GET", _public("/self-service/errors"), params={"id": error_id})
    return ory_http.parse(_SERVICE, FlowError, data)


def create_logout_flow(cookie_header: str | None, return_to: str | None = None) -> LogoutFlow | None:
    """A logout URL for the browser's session, or None when it has no session (401)."""
    headers = _cookie_headers(cookie_header)
    if not headers:
        return None
    params: dict[str, str | int] = {"return_to": return_to} if return_to else {}
    try:
        # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/frontend/operation/createBrowserLogoutFlow
        data = _json("GET", _public("/self-service/logout/browser"), params=params, headers=headers)
    except KratosUnauthorized:
        return None
    return ory_http.parse(_SERVICE, LogoutFlow, data)


def perform_logout(logout_token: str, cookie_header: str | None) -> None:
    """Revoke the browser's Kratos session server-side.

    The logout endpoint is meant for browsers: Kratos only logs out the session whose cookie comes with the
    token, so the browser's cookies are forwarded. Kratos's cookie-clearing Set-Cookie is *not* relayed to
    the browser (the stale cookie then names a revoked session); prefer redirecting the browser to
    ``LogoutFlow.logout_url`` when a redirect is possible. A session that is already gone (401) counts as
    logged out.
    """
    try:
        # Reference: https://www.ory.sh/docs/kratos/reference/api#tag/frontend/operation/updateLogoutFlow
        ory_http.request(
            _SERVICE,
            "GET",
            _public("/self-service/logout"),
            params={"token": logout_token},
            headers=_cookie_headers(cookie_header),
            allow_redirect_status=True,  # 204 with Accept: application/json, 303 for browsers
        )
    except KratosUnauthorized:
        return
