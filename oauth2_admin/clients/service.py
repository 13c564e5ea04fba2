"""Tenant-scoped OAuth2 clients: the one service layer the console and both JSON APIs go through.

Isolation rests on Hydra's `owner` field: Truss sets it server-side to the tenant's owner string on every write,
filters lists by it, and treats a client with another owner exactly like a missing one (404), so nothing reveals
that another tenant's client exists. Hydra itself lets PATCH change `owner`, so Truss never forwards a raw patch:
it applies it locally, validates the result and writes the whole client.

Writes are full replaces (Hydra's PUT resets every omitted field, per-grant lifespans included), so each update
starts from the current client, merges the change, validates the merged client and writes it back.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import jsonpatch
from django.core import signing
from django.http import HttpRequest
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from oauth2_admin.clients import counts
from truss import audit, durations
from truss.audit import Action
from truss.errors import InputError, field_messages
from truss.forms import Shown
from truss.models import Tenant
from truss.ory import hydra
from truss.urls_check import fetch_problem, is_loopback_host

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANT_TYPES: dict[str, str] = {
    "authorization_code": "Authorization code",
    "refresh_token": "Refresh token",
    "client_credentials": "Client credentials",
    "implicit": "Implicit (deprecated)",
    JWT_BEARER_GRANT: "JWT bearer",
    DEVICE_GRANT: "Device code",
}
AuthMethod = Literal["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]
ResponseType = Literal[
    "code", "token", "id_token", "code id_token", "code token", "code id_token token", "id_token token"
]
_PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}

# token-config: the guide's three TTLs, mapped onto Hydra's per-grant lifespans.
TTL_FIELDS: dict[str, tuple[str, ...]] = {
    "access_token_ttl": (
        "authorization_code_grant_access_token_lifespan",
        "client_credentials_grant_access_token_lifespan",
        "implicit_grant_access_token_lifespan",
        "jwt_bearer_grant_access_token_lifespan",
        "refresh_token_grant_access_token_lifespan",
    ),
    "refresh_token_ttl": (
        "authorization_code_grant_refresh_token_lifespan",
        "refresh_token_grant_refresh_token_lifespan",
    ),
    "id_token_ttl": (
        "authorization_code_grant_id_token_lifespan",
        "implicit_grant_id_token_lifespan",
        "refresh_token_grant_id_token_lifespan",
    ),
}
# Hydra >= v25.4 also has the device grant's lifespans; they join each TTL only on such a Hydra.
DEVICE_TTL_FIELDS: dict[str, tuple[str, ...]] = {
    "access_token_ttl": ("device_authorization_grant_access_token_lifespan",),
    "refresh_token_ttl": ("device_authorization_grant_refresh_token_lifespan",),
    "id_token_ttl": ("device_authorization_grant_id_token_lifespan",),
}
DEVICE_FLOW_SINCE = "v25.4.0"


def device_flow_supported() -> bool:
    """Whether the running Hydra has the device grant (and its lifespans); cached by the Hydra client."""
    return hydra.version_at_least(DEVICE_FLOW_SINCE)


def lifespan_fields() -> tuple[str, ...]:
    """The per-grant lifespans the running Hydra knows: a v2.3 Hydra is never sent the device ones."""
    return hydra.LIFESPAN_FIELDS + (hydra.DEVICE_LIFESPAN_FIELDS if device_flow_supported() else ())


def ttl_fields() -> dict[str, tuple[str, ...]]:
    """TTL_FIELDS for the running Hydra."""
    if not device_flow_supported():
        return dict(TTL_FIELDS)
    return {ttl: fields + DEVICE_TTL_FIELDS[ttl] for ttl, fields in TTL_FIELDS.items()}


class ClientInputError(InputError):
    """Bad input: field → messages. Nothing was sent to Hydra."""

    default_message = "The client settings are invalid."


class PreconditionFailed(Exception):
    """The client changed since the caller read it (If-Match / the form's version did not match)."""


class PreconditionRequired(Exception):
    """A write that replaces what the caller has not seen (a restore, an adoption) came without If-Match."""


# Control characters (C0, DEL, C1: NUL, ESC of ANSI sequences, …) and bidi embedding/override/isolate characters,
# which make a name display as something else (U+202E turns "gpj.exe" around).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Schemes that run code, read local files or leave the web instead of returning to an app; refused however they
# are disguised.
_DANGEROUS_SCHEMES = ("javascript", "vbscript", "data", "file", "ftp")
# The URIs Hydra itself requests (keys, sector identifier, request objects, back-channel logout): never an
# internal host. request_uris cannot be written through Truss; the linter flags it on clients made elsewhere.
FETCHED_URI_FIELDS = ("jwks_uri", "sector_identifier_uri", "request_uris", "backchannel_logout_uri")
# A leading character that makes a spreadsheet run the cell as a formula when a value is exported to CSV.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 0x20 or 0x7F <= code <= 0x9F or ch in _BIDI_CONTROLS


def _check_text(value: str) -> str | None:
    """Why a display string is not acceptable (it is shown to operators and end users), or None."""
    bad = next((ch for ch in value if _is_control(ch)), None)
    if bad is None:
        return None
    kind = "bidirectional-override" if bad in _BIDI_CONTROLS else "control"
    return f"contains a {kind} character (U+{ord(bad):04X}); use plain text"


def _dangerous_scheme(uri: str) -> str | None:
    # Browsers ignore leading control characters and spaces and drop tabs/newlines anywhere in a URL, and
    # schemes are case-insensitive: compare what a browser would see.
    seen = "".join(ch for ch in uri if not (ch.isspace() or _is_control(ch))).lower()
    return next((scheme for scheme in _DANGEROUS_SCHEMES if seen.startswith(scheme + ":")), None)


def redirect_scheme_problem(uri: str) -> str | None:
    """Why a redirect URI's scheme is not one a client may use, or None: http(s), or a native app's private-use
    scheme in reverse-domain form (RFC 8252 §7.1: com.example.app:/cb); never javascript, data, file, ftp, …"""
    scheme = _dangerous_scheme(uri)
    if scheme:
        return f"{uri!r} uses the {scheme}: scheme, which is never a safe redirect target"
    parsed = urlsplit(uri).scheme
    if parsed and parsed not in ("http", "https") and "." not in parsed:
        return (
            f"{uri!r} must be an http(s) URL or a native app's private-use scheme in reverse-domain form "
            "(com.example.app:/callback, RFC 8252 §7.1)"
        )
    return None


def _check_uri(uri: str, *, web_only: bool = False) -> str | None:
    """Why `uri` is not acceptable, or None. Native apps may use custom schemes (RFC 8252 §7.1)."""
    scheme = _dangerous_scheme(uri)
    if scheme:
        return f"{uri!r} uses the {scheme}: scheme, which is never a safe redirect target"
    if _check_text(uri):
        return f"{uri!r} {_check_text(uri)}"
    parts = urlsplit(uri)
    if not parts.scheme:  # before the white-space check: "not a url" is not a URI at all
        return f"{uri!r} is not an absolute URI"
    if uri != uri.strip() or any(c.isspace() for c in uri):
        return f"{uri!r} contains white space"
    if parts.scheme in ("http", "https") and not parts.netloc:
        return f"{uri!r} has no host"
    if web_only and parts.scheme not in ("http", "https"):
        return f"{uri!r} must be an http(s) URL"
    if redirect_scheme_problem(uri):
        return redirect_scheme_problem(uri)
    if not parts.netloc and not parts.path:
        return f"{uri!r} is not an absolute URI"
    if "#" in uri:
        return f"{uri!r} must not contain a fragment (#…)"
    return None


def fetched_uris(client: hydra.OAuth2Client) -> list[tuple[str, str]]:
    """(field, URI) for every URI of `client` that Hydra requests itself (FETCHED_URI_FIELDS)."""
    data = client.model_dump(mode="json", exclude_none=True)
    out: list[tuple[str, str]] = []
    for name in FETCHED_URI_FIELDS:
        value = data.get(name)
        values = value if isinstance(value, list) else [value]
        out += [(name, str(v)) for v in values if v]
    return out


def _fetched_uri(uri: str) -> str | None:
    """Why Hydra must not request `uri` (loopback, private, link-local, … host), or None."""
    problem = fetch_problem(uri)
    if problem is None:
        return None
    return f"{uri!r} {problem}; Hydra requests this URI itself, so it must name a public host"


def formula_start(value: str) -> str | None:
    """Why `value` would run as a spreadsheet formula when exported (its first character), or None."""
    first = value.lstrip(" ")[:1]
    if first and first in _FORMULA_STARTS:
        return f"{value!r} starts with {first!r}, which spreadsheets run as a formula; start with a letter"
    return None


def _uri_list(value: list[str], *, web_only: bool = False) -> list[str]:
    problems = [p for p in (_check_uri(u, web_only=web_only) for u in value) if p]
    if problems:
        raise ValueError("; ".join(problems))
    duplicates = sorted({u for u in value if value.count(u) > 1})
    if duplicates:
        raise ValueError(f"duplicate {', '.join(duplicates)}")
    return value


def uri_notes(value: list[str], *, web_only: bool = False) -> list[tuple[str | None, str | None]]:
    """(problem, warning) for each entry of a URI list, by the rules ClientIn and warnings_for apply: what the
    console's live check shows under each row. Blank entries are no entries (the form drops them)."""
    notes: list[tuple[str | None, str | None]] = []
    seen: set[str] = set()
    for uri in value:
        if not uri.strip():
            notes.append((None, None))
            continue
        problem = _check_uri(uri.strip(), web_only=web_only)
        if problem is None and uri.strip() in seen:
            problem = f"duplicate {uri.strip()}"
        seen.add(uri.strip())
        warnings = [] if problem else _uri_warnings(uri.strip())
        notes.append((problem, warnings[0] if warnings else None))
    return notes


def _web_url(value: str | None) -> str | None:
    """An http(s) URL (blank is none)."""
    if not value:
        return None
    problem = _check_uri(value, web_only=True)
    if problem:
        raise ValueError(problem)
    return value


# The client fields' rules, each stated once: the API's schema is ClientIn's, and the console's client form is
# derived from it (truss.forms.fields_form reads the Shown marker: label, help text, fieldset, how it is edited).
WebUrl = Annotated[str | None, Field(max_length=2000), AfterValidator(_web_url)]
ClientName = Annotated[
    str,
    Field(min_length=1, max_length=200),
    Shown(label="Name", help_text="Shown to users on the consent screen.", group="Basics"),
]
AUTH_METHODS: tuple[tuple[str, str], ...] = (
    ("client_secret_basic", "Confidential — secret in HTTP Basic auth (recommended for servers)"),
    ("client_secret_post", "Confidential — secret in the request body"),
    ("none", "Public — no secret (single-page or native app; PKCE required)"),
    ("private_key_jwt", "private_key_jwt — the client signs a JWT with its own key"),
)
ACCESS_TOKEN_STRATEGIES: tuple[tuple[str, str], ...] = (
    ("", "Hydra's default"),
    ("opaque", "Opaque (introspect to validate)"),
    ("jwt", "JWT (self-contained)"),
)


class ClientIn(BaseModel):
    """Every client setting a caller may write. `owner`, `client_id` and `client_secret` are Truss's to set."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    client_name: ClientName
    grant_types: Annotated[
        list[str], Shown(kind="checkboxes", choices=tuple(GRANT_TYPES.items()), group="Grants and redirects")
    ] = Field(default_factory=lambda: ["authorization_code", "refresh_token"], max_length=10)
    response_types: list[ResponseType] | None = Field(default=None, max_length=10)
    redirect_uris: Annotated[
        list[str],
        Shown(
            kind="uri-list",
            label="Redirect URIs",
            placeholder="https://app.example.com/callback",
            help_text="Exact match. Native apps: a reverse-domain scheme (com.example.app:/cb).",
            group="Grants and redirects",
        ),
    ] = Field(default_factory=list, max_length=50)
    post_logout_redirect_uris: Annotated[
        list[str],
        Shown(
            kind="uri-list",
            label="Post-logout redirect URIs",
            placeholder="https://app.example.com/",
            group="Grants and redirects",
        ),
    ] = Field(default_factory=list, max_length=50)
    scope: Annotated[
        str, Shown(help_text="Space-separated scopes the client may request.", group="Scopes and audience")
    ] = Field(default="openid offline_access", max_length=2000, pattern=r"^[\x21\x23-\x5B\x5D-\x7E ]*$")
    audience: Annotated[
        list[str], Shown(kind="text-list", placeholder="https://api.example.com", group="Scopes and audience")
    ] = Field(default_factory=list, max_length=50)
    token_endpoint_auth_method: Annotated[
        AuthMethod, Shown(kind="radio", label="Client type", choices=AUTH_METHODS, group="Basics")
    ] = "client_secret_basic"
    jwks_uri: Annotated[
        WebUrl,
        Shown(
            kind="url",
            label="JWKS URI",
            help_text="private_key_jwt: where Hydra fetches the client's public keys.",
            group="Basics",
            css_class="jwt-only",
        ),
    ] = None
    jwks: Annotated[
        dict[str, Any] | None,
        Shown(
            label="JWKS (JSON)",
            help_text="private_key_jwt: or paste the public key set.",
            group="Basics",
            css_class="jwt-only",
        ),
    ] = None
    skip_consent: Annotated[
        StrictBool, Shown(label="Skip consent (first-party apps only)", group="Consent and logout")
    ] = False
    skip_logout_consent: Annotated[
        StrictBool, Shown(label="Skip the logout confirmation", group="Consent and logout")
    ] = False
    subject_type: Annotated[
        Literal["public", "pairwise"],
        Shown(
            choices=(("public", "public"), ("pairwise", "pairwise (per-client subject ids)")),
            group="Subjects and tokens",
        ),
    ] = "public"
    sector_identifier_uri: Annotated[WebUrl, Shown(kind="url", group="Subjects and tokens")] = None
    frontchannel_logout_uri: Annotated[
        WebUrl, Shown(kind="url", label="Front-channel logout URI", group="Consent and logout")
    ] = None
    backchannel_logout_uri: Annotated[
        WebUrl, Shown(kind="url", label="Back-channel logout URI", group="Consent and logout")
    ] = None
    access_token_strategy: Annotated[
        Literal["opaque", "jwt"] | None,
        Shown(label="Access tokens", choices=ACCESS_TOKEN_STRATEGIES, group="Subjects and tokens"),
    ] = None
    logo_uri: Annotated[WebUrl, Shown(kind="url", label="Logo URL", group="Shown on the consent screen")] = (
        None
    )
    client_uri: Annotated[
        WebUrl, Shown(kind="url", label="Home page", group="Shown on the consent screen")
    ] = None
    policy_uri: Annotated[
        WebUrl, Shown(kind="url", label="Privacy policy", group="Shown on the consent screen")
    ] = None
    tos_uri: Annotated[
        WebUrl, Shown(kind="url", label="Terms of service", group="Shown on the consent screen")
    ] = None
    contacts: Annotated[
        list[str],
        Shown(kind="email-list", placeholder="ops@example.com", group="Shown on the consent screen"),
    ] = Field(default_factory=list, max_length=20)
    allowed_cors_origins: list[str] = Field(default_factory=list, max_length=50)
    metadata: Annotated[
        dict[str, Any], Shown(help_text="A JSON object, visible to operators only.", group="Metadata")
    ] = Field(default_factory=dict)

    @field_validator("grant_types")
    @classmethod
    def _known_grants(cls, value: list[str]) -> list[str]:
        unknown = [g for g in value if g not in GRANT_TYPES]
        if unknown:
            raise ValueError(f"unknown grant type {unknown[0]!r}; use one of: {', '.join(GRANT_TYPES)}")
        if not value:
            raise ValueError("choose at least one grant type")
        return list(dict.fromkeys(value))

    @field_validator("redirect_uris", "post_logout_redirect_uris")
    @classmethod
    def _redirects(cls, value: list[str]) -> list[str]:
        return _uri_list(value)

    @field_validator("client_name")
    @classmethod
    def _display_name(cls, value: str) -> str:
        problem = _check_text(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("contacts", "audience")
    @classmethod
    def _display_list(cls, value: list[str]) -> list[str]:
        problems = [f"{item!r} {problem}" for item in value if (problem := _check_text(item))]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("audience")
    @classmethod
    def _audience(cls, value: list[str]) -> list[str]:
        problems = [problem for item in value if (problem := formula_start(item))]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("scope")
    @classmethod
    def _scope(cls, value: str) -> str:
        problems = [problem for item in value.split() if (problem := formula_start(item))]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("allowed_cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        return _uri_list(value, web_only=True)

    @field_validator(*(name for name in FETCHED_URI_FIELDS if name != "request_uris"))
    @classmethod
    def _fetched(cls, value: str | None) -> str | None:
        problem = _fetched_uri(value) if value else None
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("jwks")
    @classmethod
    def _public_jwks(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if not value:
            return None
        keys = value.get("keys")
        if (
            not isinstance(keys, list)
            or not keys
            or not all(isinstance(k, dict) and "kty" in k for k in keys)
        ):
            raise ValueError('must be a JWK set: {"keys": [{"kty": …}, …]}')
        if any(_PRIVATE_JWK_MEMBERS & set(k) for k in keys):
            raise ValueError("contains private key material; register only the public keys")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ClientIn:
        # Raised as ClientInputError (not ValueError) so each message lands on the field it is about.
        grants = set(self.grant_types)
        if self.response_types is None:  # derived from the grants unless given explicitly
            derived: list[ResponseType] = []
            if "authorization_code" in grants:
                derived.append("code")
            if "implicit" in grants:
                derived += ["token", "id_token"]
            self.response_types = derived
        for rtype in self.response_types:
            parts = set(rtype.split())
            if "code" in parts and "authorization_code" not in grants:
                _fail("response_types", f"{rtype!r} needs the authorization_code grant")
            if parts & {"token", "id_token"} and "implicit" not in grants:
                _fail("response_types", f"{rtype!r} needs the implicit grant (client_credentials uses none)")
        if grants & {"authorization_code", "implicit"} and not self.redirect_uris:
            _fail("redirect_uris", "authorization_code and implicit clients need at least one redirect URI")
        if self.token_endpoint_auth_method == "none" and grants & {"client_credentials", JWT_BEARER_GRANT}:
            _fail(
                "grant_types",
                "a public client (no secret) cannot use the client_credentials or jwt-bearer grant",
            )
        if self.token_endpoint_auth_method == "private_key_jwt" and bool(self.jwks) == bool(self.jwks_uri):
            _fail(
                "jwks_uri", "private_key_jwt needs exactly one of jwks_uri or jwks (the client's public keys)"
            )
        if self.subject_type == "pairwise" and not self.sector_identifier_uri:
            hosts = {urlsplit(u).netloc for u in self.redirect_uris} - {""}  # custom schemes have no host
            if len(hosts) > 1:
                _fail(
                    "sector_identifier_uri", "pairwise subjects with redirect URIs on several hosts need one"
                )
        if self.subject_type == "pairwise" and self.access_token_strategy == "jwt":
            # Hydra v2.3 (measured): pairwise is unsupported with JWT access tokens, which carry the subject.
            _fail(
                "subject_type", "pairwise subjects need opaque access tokens (a JWT would reveal the subject)"
            )
        if "refresh_token" in grants and not grants & {"authorization_code", DEVICE_GRANT}:
            _fail(
                "grant_types",
                "the refresh_token grant only makes sense with authorization_code or device_code",
            )
        return self


def _fail(field: str, message: str) -> None:
    raise ClientInputError({field: [message]})


# Other apps' say on a client just written: an app registers a source from its AppConfig.ready (the hygiene
# linter's findings), and the API's create/update answers add what the sources return to warnings_for's notes.
# The client service imports no other app, so the dependency goes one way: hygiene → clients, never back.
WarningSource = Callable[[hydra.OAuth2Client], list[str]]
_warning_sources: list[WarningSource] = []


def add_warning_source(source: WarningSource) -> None:
    """Register `source` (once, however often an app's ready() runs)."""
    if source not in _warning_sources:
        _warning_sources.append(source)


def more_warnings(client: hydra.OAuth2Client) -> list[str]:
    """What the registered sources say about `client`, in the order they were registered."""
    return [warning for source in _warning_sources for warning in source(client)]


def warnings_for(data: ClientIn) -> list[str]:
    """Things that work but that a careful operator should know (shown, never blocking)."""
    notes: list[str] = []
    for uri in data.redirect_uris + data.post_logout_redirect_uris:
        notes += _uri_warnings(uri)
    if "implicit" in data.grant_types:
        notes.append(
            "The implicit grant is deprecated (OAuth 2.0 Security BCP); use authorization code + PKCE."
        )
    if data.token_endpoint_auth_method == "none" and "authorization_code" in data.grant_types:
        notes.append("Public client: it must use PKCE (S256) on every authorization request.")
    return notes


def _uri_warnings(uri: str) -> list[str]:
    notes: list[str] = []
    parts = urlsplit(uri)
    if parts.scheme == "http" and not is_loopback_host(parts.hostname or ""):
        notes.append(f"{uri} uses plain http outside loopback: codes and tokens can be intercepted.")
    if "*" in uri:
        notes.append(f"{uri} contains '*': Hydra matches redirect URIs exactly, so it is taken literally.")
    return notes


def parse(data: Mapping[str, Any]) -> ClientIn:
    """Validate input into a ClientIn, or raise ClientInputError with per-field messages."""
    try:
        return ClientIn.model_validate(data)
    except ValidationError as exc:
        raise ClientInputError(field_messages(exc.errors())) from exc


def _require_supported_grants(data: ClientIn) -> None:
    if DEVICE_GRANT in data.grant_types and not device_flow_supported():
        raise ClientInputError({"grant_types": ["the device_code grant needs Hydra v25.4 or newer"]})


# --- reads ---------------------------------------------------------------------------------------------------


_PAGE_TOKEN_SALT = "truss.clients.page-token"


class BadPageToken(ClientInputError):
    """A page token Truss did not hand out (edited, truncated, from another tenant or list)."""


def _seal_page_token(tenant: Tenant, token: str | None) -> str | None:
    return signing.dumps([tenant.pk, token], salt=_PAGE_TOKEN_SALT, compress=True) if token else None


def _unseal_page_token(tenant: Tenant, sealed: str) -> str:
    """Hydra's own token inside one Truss signed. Never forward a caller's token as is: Hydra v26.2.0
    panics on some malformed tokens (measured: a short base64 one drops the connection, which would read as an
    outage), and a token must not carry one tenant's listing position into another's."""
    try:
        owner_pk, token = signing.loads(sealed, salt=_PAGE_TOKEN_SALT)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise BadPageToken({"page_token": ["is not a page token from this list"]}) from exc
    if owner_pk != tenant.pk or not isinstance(token, str):
        raise BadPageToken({"page_token": ["is not a page token from this list"]})
    return token


def list_for(
    tenant: Tenant, *, page_size: int = 50, page_token: str | None = None, name: str | None = None
) -> hydra.ClientPage:
    """One page of the tenant's clients. `name` is an exact match: Hydra filters by exact client_name.
    Page tokens in and out are Truss-signed wrappers of Hydra's (see _unseal_page_token)."""
    raw = _unseal_page_token(tenant, page_token) if page_token else None
    page = hydra.list_clients(
        owner=tenant.hydra_owner, client_name=name or None, page_size=page_size, page_token=raw
    )
    return page.model_copy(update={"next_page_token": _seal_page_token(tenant, page.next_page_token)})


def get_for(tenant: Tenant, client_id: str) -> hydra.OAuth2Client:
    """The tenant's client, or HydraNotFound, also when it exists but belongs to someone else."""
    if not client_id or len(client_id) > 255:
        raise hydra.HydraNotFound(status=404, error="not_found", description="No such client.")
    client = hydra.get_client(client_id)
    if client.owner != tenant.hydra_owner:
        raise hydra.HydraNotFound(status=404, error="not_found", description="No such client.")
    return client


def etag(client: hydra.OAuth2Client) -> str:
    """A version tag for optimistic concurrency: Hydra bumps updated_at on every write."""
    stamp = client.updated_at.isoformat() if client.updated_at else ""
    return '"' + hashlib.sha256(f"{client.client_id}|{stamp}".encode()).hexdigest()[:20] + '"'


_OPTIONAL = tuple(name for name, info in ClientIn.model_fields.items() if info.default is None)


def editable(client: hydra.OAuth2Client) -> dict[str, Any]:
    """The client as a ClientIn-shaped dict: what the edit form and merges start from."""
    data = client.model_dump(mode="json", exclude_none=True)
    out = {name: data[name] for name in ClientIn.model_fields if name in data}
    if not (client.jwks and client.jwks.keys):
        out.pop("jwks", None)
    for name in _OPTIONAL:  # Hydra answers "" for an optional text it does not have
        if out.get(name) == "":
            out.pop(name)
    if out.get("subject_type") not in ("public", "pairwise"):
        out.pop("subject_type", None)
    return out


def public_view(client: hydra.OAuth2Client) -> dict[str, Any]:
    """Everything about a client except secrets, for pages, API answers and audit."""
    data = client.model_dump(mode="json", exclude_none=True)
    return {k: v for k, v in data.items() if k not in ("client_secret", "registration_access_token")}


# --- writes --------------------------------------------------------------------------------------------------


def create_for(
    request: HttpRequest | None, tenant: Tenant, payload: Mapping[str, Any]
) -> tuple[hydra.OAuth2Client, list[str]]:
    """Create a client owned by the tenant; returns it (with its one-time secret) and warnings."""
    with audit.mutation(request, Action.CLIENT_CREATE, tenant, "") as event:
        data = parse(payload)
        _require_supported_grants(data)
        client = hydra.create_client({**data.model_dump(exclude_none=True), "owner": tenant.hydra_owner})
        event.success(target=client.client_id, after=public_view(client))
    counts.added(tenant, client)
    return client, warnings_for(data)


def _write(
    tenant: Tenant, current: hydra.OAuth2Client, data: ClientIn, lifespans: Mapping[str, Any] | None = None
) -> hydra.OAuth2Client:
    body = current.to_hydra()
    for name in ClientIn.model_fields:  # a field cleared by the caller must be cleared in Hydra too
        body.pop(name, None)
    body.update(data.model_dump(exclude_none=True))
    if lifespans is not None:
        # Only the named lifespans change; the others (e.g. the device ones on an ordinary edit) are kept.
        body.update({k: v for k, v in lifespans.items() if v})
        for name, value in lifespans.items():
            if not value:
                body.pop(name, None)
    body["owner"] = tenant.hydra_owner
    return hydra.set_client(current.client_id, body)


def require_version(if_match: str | None, what: str) -> None:
    """PreconditionRequired unless the caller says which version it looked at (If-Match: <ETag> or *)."""
    if not (if_match or "").strip():
        raise PreconditionRequired(
            f"{what} needs If-Match: the ETag of the client you reviewed (GET the client, or * to overwrite "
            "whatever Hydra holds now)."
        )


def _check_version(current: hydra.OAuth2Client, if_match: str | None) -> None:
    if if_match and if_match.strip() not in (etag(current), "*"):
        raise PreconditionFailed(
            "The client was changed by someone else since you loaded it. Reload it and apply your change again."
        )


def update_for(
    request: HttpRequest | None,
    tenant: Tenant,
    client_id: str,
    changes: Mapping[str, Any] | Callable[[hydra.OAuth2Client], Mapping[str, Any]],
    *,
    if_match: str | None = None,
    version_required: str = "",
) -> tuple[hydra.OAuth2Client, list[str]]:
    """Partial update: the given fields are merged onto the current client (Hydra's PUT replaces it whole).
    `changes` may be a function of the current client (a restore takes the secrets it keeps from it);
    `version_required` names a write that needs If-Match (PreconditionRequired without it)."""
    with audit.mutation(request, Action.CLIENT_UPDATE, tenant, client_id) as event:
        if version_required:
            require_version(if_match, version_required)
        current = get_for(tenant, client_id)
        event.before = public_view(current)
        _check_version(current, if_match)
        if callable(changes):
            changes = changes(current)
        data = parse({**editable(current), **changes})
        _require_supported_grants(data)
        client = _write(tenant, current, data, lifespans=current.lifespans)
        event.success(after=public_view(client))
    counts.changed(tenant, current, client)
    return client, warnings_for(data)


_PATCH_FORBIDDEN = ("/owner", "/client_id", "/client_secret", "/created_at", "/updated_at")


def patch_for(
    request: HttpRequest | None, tenant: Tenant, client_id: str, ops: Any, *, if_match: str | None = None
) -> tuple[hydra.OAuth2Client, list[str]]:
    """RFC 6902 JSON Patch, applied to the editable client, validated, then written as a whole."""
    with audit.mutation(request, Action.CLIENT_PATCH, tenant, client_id) as event:
        if not isinstance(ops, list) or not all(
            isinstance(op, dict) and "op" in op and "path" in op for op in ops
        ):
            raise ClientInputError(
                {"__all__": ['a JSON Patch is a list of {"op", "path", …} objects (RFC 6902)']}
            )
        for op in ops:
            for key in ("path", "from"):
                path = str(op.get(key, ""))
                if any(path == p or path.startswith(p + "/") for p in _PATCH_FORBIDDEN):
                    hint = " (rotate secrets with POST …/secret)" if path.startswith("/client_secret") else ""
                    raise ClientInputError(
                        {path.lstrip("/") or "__all__": [f"{path} cannot be changed{hint}"]}
                    )
        current = get_for(tenant, client_id)
        event.before = public_view(current)
        _check_version(current, if_match)
        try:
            patched = jsonpatch.apply_patch(editable(current), ops)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError) as exc:
            raise ClientInputError({"__all__": [f"the patch does not apply: {exc}"]}) from exc
        data = parse(patched)
        _require_supported_grants(data)
        client = _write(tenant, current, data, lifespans=current.lifespans)
        event.success(after=public_view(client))
    counts.changed(tenant, current, client)
    return client, warnings_for(data)


class TokenConfigIn(BaseModel):
    """The guide's TTLs (seconds) plus the per-grant matrix, token strategy and logout URIs."""

    model_config = ConfigDict(extra="forbid")

    access_token_ttl: int | None = Field(default=None, ge=1, le=365 * 86400)
    refresh_token_ttl: int | None = Field(default=None, ge=1, le=10 * 365 * 86400)
    id_token_ttl: int | None = Field(default=None, ge=1, le=365 * 86400)
    # Per-grant overrides: Hydra lifespan field → seconds, or null to fall back to Hydra's global ttl.*
    lifespans: dict[str, int | None] = Field(default_factory=dict)
    access_token_strategy: Literal["opaque", "jwt"] | None = None
    frontchannel_logout_uri: str | None = None
    backchannel_logout_uri: str | None = None
    post_logout_redirect_uris: list[str] | None = None

    @field_validator("lifespans")
    @classmethod
    def _known_lifespans(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        # The device ones pass here; set_token_config refuses them on a Hydra older than v25.4.
        known = hydra.LIFESPAN_FIELDS + hydra.DEVICE_LIFESPAN_FIELDS
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise ValueError(f"unknown lifespan {unknown[0]!r}; use one of: {', '.join(known)}")
        for name, seconds in value.items():
            if seconds is not None and not 1 <= seconds <= 10 * 365 * 86400:
                raise ValueError(f"{name} must be between 1 second and 10 years")
        return value


def lifespans_in_seconds(client: hydra.OAuth2Client) -> dict[str, int | None]:
    """Every per-grant lifespan the client's Hydra has. A Hydra with the device grant answers its lifespans as
    extra fields of the model, so this needs no version check (read paths stay free of Hydra calls)."""
    extra = client.model_extra or {}
    names = hydra.LIFESPAN_FIELDS + tuple(f for f in hydra.DEVICE_LIFESPAN_FIELDS if f in extra)
    return {name: durations.from_go(getattr(client, name, None)) for name in names}


def set_token_config(
    request: HttpRequest | None,
    tenant: Tenant,
    client_id: str,
    payload: Mapping[str, Any],
    *,
    if_match: str | None = None,
) -> hydra.OAuth2Client:
    """One atomic write: Hydra's PUT stores the lifespans with the rest of the client."""
    with audit.mutation(request, Action.CLIENT_TOKEN_CONFIG, tenant, client_id) as event:
        try:
            config = TokenConfigIn.model_validate(payload)
        except ValidationError as exc:
            raise ClientInputError(field_messages(exc.errors()), "The token settings are invalid.") from exc
        device = sorted(set(config.lifespans) & set(hydra.DEVICE_LIFESPAN_FIELDS))
        if device and not device_flow_supported():
            raise ClientInputError(
                {f"lifespans.{device[0]}": ["device-grant lifespans need Hydra v25.4 or newer"]},
                "The token settings are invalid.",
            )
        current = get_for(tenant, client_id)
        event.before = public_view(current)
        _check_version(current, if_match)
        seconds = lifespans_in_seconds(current)
        for ttl, fields in ttl_fields().items():
            value = getattr(config, ttl)
            if value is not None:
                seconds.update(dict.fromkeys(fields, value))
        seconds.update(config.lifespans)
        changes = config.model_dump(
            include={
                "access_token_strategy",
                "frontchannel_logout_uri",
                "backchannel_logout_uri",
                "post_logout_redirect_uris",
            },
            exclude_unset=True,
        )
        data = parse({**editable(current), **changes})
        lifespans = {name: (f"{s}s" if s else None) for name, s in seconds.items()}
        client = _write(tenant, current, data, lifespans=lifespans)
        event.success(after=public_view(client))
    return client


def rotate_secret(
    request: HttpRequest | None, tenant: Tenant, client_id: str
) -> tuple[hydra.OAuth2Client, str]:
    """A new strong secret, applied at once: the old one stops working immediately."""
    with audit.mutation(request, Action.CLIENT_ROTATE_SECRET, tenant, client_id) as event:
        current = get_for(tenant, client_id)
        event.before = public_view(current)
        if current.is_public:
            raise ClientInputError(
                {"token_endpoint_auth_method": ["a public client has no secret to rotate"]}
            )
        secret = secrets.token_urlsafe(48)
        client = hydra.patch_client(client_id, [{"op": "replace", "path": "/client_secret", "value": secret}])
        event.success(after={"client_secret": secret, "updated_at": public_view(client).get("updated_at")})
    return client, secret


def delete_for(
    request: HttpRequest | None, tenant: Tenant, client_id: str, *, delete_tokens: bool = False
) -> None:
    """Delete the client. Hydra deletes its tokens with it (measured on v2.3), so `delete_tokens` changes
    nothing observable; it stays accepted for API compatibility."""
    with audit.mutation(request, Action.CLIENT_DELETE, tenant, client_id) as event:
        client = get_for(tenant, client_id)
        event.before = public_view(client)
        if delete_tokens:
            # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/deleteOAuth2Token
            hydra.delete_client_tokens(client.client_id)
        hydra.delete_client(client.client_id)
        event.success(after={"deleted": True, "tokens_deleted": delete_tokens})
    counts.removed(tenant, client)


def revoke_tokens_for(request: HttpRequest | None, tenant: Tenant, client_id: str) -> None:
    """Revoke the client's access tokens now; the client stays. Hydra's bulk revocation leaves refresh tokens
    and consent sessions alone, and a JWT access token stays valid until it expires (it is self-contained)."""
    with audit.mutation(request, Action.CLIENT_REVOKE_TOKENS, tenant, client_id) as event:
        client = get_for(tenant, client_id)
        hydra.delete_client_tokens(client.client_id)
        event.success(after={"tokens_revoked": True})
