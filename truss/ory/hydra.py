"""Typed client for Ory Hydra v2.3 (admin API on HYDRA_ADMIN_URL, public API on HYDRA_PUBLIC_URL).

Every function returns pydantic models and raises a ``HydraError`` subclass; see truss/ory_http.py for the
retry, timeout and error-mapping rules. Paths are checked against the Hydra v2.3.0 OpenAPI spec.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from django.core.cache import cache
from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from truss import caching
from truss.ory import http as ory_http
from truss.ory.http import OryModel, StrList, segment

# --- Exceptions -------------------------------------------------------------------------------------------


class HydraError(ory_http.OryError):
    service = "Hydra"


class HydraNotFound(HydraError, ory_http.OryNotFound):
    pass


class HydraConflict(HydraError, ory_http.OryConflict):
    pass


class HydraGone(HydraError, ory_http.OryGone):
    """An already handled or expired challenge; ``redirect_to`` is where Hydra wants the browser to go."""


class HydraBadRequest(HydraError, ory_http.OryBadRequest):
    pass


class HydraUnauthorized(HydraError, ory_http.OryUnauthorized):
    pass


class HydraForbidden(HydraError, ory_http.OryForbidden):
    pass


class HydraUnavailable(HydraError, ory_http.OryUnavailable):
    pass


_SERVICE = ory_http.Service(
    name="Hydra",
    errors=ory_http.ErrorFamily(
        base=HydraError,
        not_found=HydraNotFound,
        conflict=HydraConflict,
        gone=HydraGone,
        bad_request=HydraBadRequest,
        unauthorized=HydraUnauthorized,
        forbidden=HydraForbidden,
        unavailable=HydraUnavailable,
    ),
    admin_url_setting="HYDRA_ADMIN_URL",
    public_url_setting="HYDRA_PUBLIC_URL",
    timeout_setting="HYDRA_TIMEOUT",
)

# --- Models -----------------------------------------------------------------------------------------------

# Private JWK members (RFC 7518 §6.2.2, §6.3.2, §6.4). Hydra's admin key endpoints return them.
PRIVATE_JWK_FIELDS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k", "oth"})

# PUT /admin/clients/{id}/lifespans replaces all of these at once; an omitted one becomes null (global TTL).
LIFESPAN_FIELDS = (
    "authorization_code_grant_access_token_lifespan",
    "authorization_code_grant_id_token_lifespan",
    "authorization_code_grant_refresh_token_lifespan",
    "client_credentials_grant_access_token_lifespan",
    "implicit_grant_access_token_lifespan",
    "implicit_grant_id_token_lifespan",
    "jwt_bearer_grant_access_token_lifespan",
    "refresh_token_grant_access_token_lifespan",
    "refresh_token_grant_id_token_lifespan",
    "refresh_token_grant_refresh_token_lifespan",
)

# Hydra >= v25.4 only (device authorization grant); older Hydra has no such fields.
DEVICE_LIFESPAN_FIELDS = (
    "device_authorization_grant_access_token_lifespan",
    "device_authorization_grant_id_token_lifespan",
    "device_authorization_grant_refresh_token_lifespan",
)

# Server-managed client fields: sending them back on PUT is pointless or rejected.
_CLIENT_READ_ONLY = frozenset(
    {
        "created_at",
        "updated_at",
        "registration_access_token",
        "registration_client_uri",
        "client_secret_expires_at",
    }
)


def strip_private_jwk(key: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in key.items() if name not in PRIVATE_JWK_FIELDS}


def _strip_private_jwks(data: Any) -> Any:
    """Drop private key material from a raw JWK set before anything else sees it."""
    if isinstance(data, Mapping) and isinstance(data.get("keys"), list):
        return {
            **data,
            "keys": [strip_private_jwk(k) if isinstance(k, Mapping) else k for k in data["keys"]],
        }
    return data


class JsonWebKey(OryModel):
    """The public half of a JWK. Unknown members are dropped, so private material cannot slip through."""

    kty: str
    kid: str | None = None
    alg: str | None = None
    use: str | None = None
    crv: str | None = None
    x: str | None = None
    y: str | None = None
    n: str | None = None
    e: str | None = None
    x5c: list[str] | None = None
    x5t: str | None = None
    x5t_s256: str | None = Field(default=None, alias="x5t#S256")
    x5u: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_private(cls, data: Any) -> Any:
        return strip_private_jwk(data) if isinstance(data, Mapping) else data


class JsonWebKeySet(OryModel):
    keys: Annotated[list[JsonWebKey], BeforeValidator(ory_http.none_as_empty_list)] = Field(
        default_factory=list
    )


class OAuth2Client(OryModel):
    """An OAuth 2.0 client. Unknown fields are kept so that a PUT (full replace) does not drop them."""

    model_config = ConfigDict(extra="allow")

    client_id: str
    client_name: str | None = None
    # Only present in the responses of create and of an update that set a new secret.
    client_secret: str | None = None
    owner: str | None = None
    grant_types: StrList = Field(default_factory=list)
    response_types: StrList = Field(default_factory=list)
    redirect_uris: StrList = Field(default_factory=list)
    post_logout_redirect_uris: StrList = Field(default_factory=list)
    allowed_cors_origins: StrList = Field(default_factory=list)
    scope: str | None = None
    audience: StrList = Field(default_factory=list)
    contacts: StrList = Field(default_factory=list)
    token_endpoint_auth_method: str | None = None
    token_endpoint_auth_signing_alg: str | None = None
    userinfo_signed_response_alg: str | None = None
    request_object_signing_alg: str | None = None
    jwks_uri: str | None = None
    jwks: JsonWebKeySet | None = None
    skip_consent: bool | None = None
    skip_logout_consent: bool | None = None
    subject_type: str | None = None
    sector_identifier_uri: str | None = None
    frontchannel_logout_uri: str | None = None
    frontchannel_logout_session_required: bool | None = None
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool | None = None
    access_token_strategy: str | None = None
    logo_uri: str | None = None
    client_uri: str | None = None
    policy_uri: str | None = None
    tos_uri: str | None = None
    metadata: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    registration_access_token: str | None = None
    registration_client_uri: str | None = None
    client_secret_expires_at: int | None = None
    # Go duration strings ("1h", "3600s"); None means "use the global ttl.*".
    authorization_code_grant_access_token_lifespan: str | None = None
    authorization_code_grant_id_token_lifespan: str | None = None
    authorization_code_grant_refresh_token_lifespan: str | None = None
    client_credentials_grant_access_token_lifespan: str | None = None
    implicit_grant_access_token_lifespan: str | None = None
    implicit_grant_id_token_lifespan: str | None = None
    jwt_bearer_grant_access_token_lifespan: str | None = None
    refresh_token_grant_access_token_lifespan: str | None = None
    refresh_token_grant_id_token_lifespan: str | None = None
    refresh_token_grant_refresh_token_lifespan: str | None = None

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    @property
    def scopes(self) -> list[str]:
        return (self.scope or "").split()

    @property
    def lifespans(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in LIFESPAN_FIELDS}

    def to_hydra(self) -> dict[str, Any]:
        """The body for PUT /admin/clients/{id}: every writable field, unknown ones included."""
        body = self.model_dump(mode="json", exclude_none=True, by_alias=True, exclude=set(_CLIENT_READ_ONLY))
        # Hydra rejects jwks next to jwks_uri even when the set is empty.
        if not (self.jwks and self.jwks.keys):
            body.pop("jwks", None)
        return body


class ClientPage(OryModel):
    items: list[OAuth2Client]
    next_page_token: str | None = None
    page_token: str | None = None  # the token this page was asked for (None: the first page)


class Introspection(OryModel):
    active: bool
    sub: str | None = None
    client_id: str | None = None
    scope: str | None = None
    exp: int | None = None
    iat: int | None = None
    nbf: int | None = None
    aud: StrList = Field(default_factory=list)
    iss: str | None = None
    token_type: str | None = None
    token_use: str | None = None
    ext: dict[str, Any] | None = None
    obfuscated_subject: str | None = None
    username: str | None = None


class OidcContext(OryModel):
    acr_values: StrList = Field(default_factory=list)
    display: str | None = None
    id_token_hint_claims: dict[str, Any] | None = None
    login_hint: str | None = None
    ui_locales: StrList = Field(default_factory=list)


class OAuth2LoginRequest(OryModel):
    challenge: str
    skip: bool = False
    # Only meaningful when skip is true: accept with exactly this subject.
    subject: str = ""
    client: OAuth2Client
    request_url: str = ""
    requested_scope: StrList = Field(default_factory=list)
    requested_access_token_audience: StrList = Field(default_factory=list)
    session_id: str | None = None
    oidc_context: OidcContext | None = None


class OAuth2ConsentRequest(OryModel):
    challenge: str
    skip: bool = False
    subject: str = ""
    client: OAuth2Client
    request_url: str = ""
    requested_scope: StrList = Field(default_factory=list)
    requested_access_token_audience: StrList = Field(default_factory=list)
    oidc_context: OidcContext | None = None
    login_challenge: str | None = None
    login_session_id: str | None = None
    acr: str | None = None
    amr: StrList = Field(default_factory=list)
    # Whatever the login accept put in "context".
    context: dict[str, Any] | None = None


class OAuth2LogoutRequest(OryModel):
    challenge: str | None = None
    subject: str | None = None
    sid: str | None = None
    request_url: str | None = None
    rp_initiated: bool = False
    client: OAuth2Client | None = None
    requested_at: datetime | None = None
    expires_at: datetime | None = None


class RedirectTo(OryModel):
    redirect_to: str


class ConsentSessionClaims(OryModel):
    id_token: dict[str, Any] | None = None
    access_token: dict[str, Any] | None = None


class ConsentSession(OryModel):
    consent_request: OAuth2ConsentRequest
    grant_scope: StrList = Field(default_factory=list)
    grant_access_token_audience: StrList = Field(default_factory=list)
    remember: bool = False
    remember_for: int = 0
    handled_at: datetime | None = None
    session: ConsentSessionClaims | None = None
    context: dict[str, Any] | None = None
    # v2.x only: per-token-type expiry (access_token, refresh_token, id_token, …).
    expires_at: dict[str, datetime | None] | None = None


class TrustedJwtGrantKey(OryModel):
    set: str | None = None
    kid: str | None = None


class TrustedJwtGrantIssuer(OryModel):
    id: str
    issuer: str
    subject: str | None = None
    allow_any_subject: bool = False
    scope: StrList = Field(default_factory=list)
    public_key: TrustedJwtGrantKey | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None


class OidcDiscovery(OryModel):
    model_config = ConfigDict(extra="allow")

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None
    revocation_endpoint: str | None = None
    registration_endpoint: str | None = None
    scopes_supported: StrList = Field(default_factory=list)
    claims_supported: StrList = Field(default_factory=list)
    grant_types_supported: StrList = Field(default_factory=list)
    response_types_supported: StrList = Field(default_factory=list)
    response_modes_supported: StrList = Field(default_factory=list)
    subject_types_supported: StrList = Field(default_factory=list)
    id_token_signing_alg_values_supported: StrList = Field(default_factory=list)
    token_endpoint_auth_methods_supported: StrList = Field(default_factory=list)
    code_challenge_methods_supported: StrList = Field(default_factory=list)
    frontchannel_logout_supported: bool | None = None
    backchannel_logout_supported: bool | None = None


class TokenResponse(OryModel):
    access_token: str
    token_type: str
    expires_in: int | None = None
    scope: str | None = None
    refresh_token: str | None = None
    id_token: str | None = None


# --- Helpers ----------------------------------------------------------------------------------------------


def _admin(path: str) -> str:
    return _SERVICE.admin_url(path)


def _public(path: str) -> str:
    return _SERVICE.public_url(path)


def _json(method: str, url: str, **kwargs: Any) -> Any:
    return ory_http.request_json(_SERVICE, method, url, **kwargs)


def _client_body(body: Mapping[str, Any] | OAuth2Client) -> dict[str, Any]:
    return body.to_hydra() if isinstance(body, OAuth2Client) else dict(body)


def _client_basic_auth(client_id: str, client_secret: str) -> tuple[str, str]:
    # RFC 6749 §2.3.1: credentials are form-urlencoded before Basic encoding, and Hydra (fosite) decodes
    # them; a secret with '+' or '%' would otherwise not match.
    return (quote(client_id, safe=""), quote(client_secret, safe=""))


def _only_set(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


# --- Health and version -----------------------------------------------------------------------------------

# Hydra's version, in Django's cache (shared by every worker when CACHE_URL names Redis) for a minute; keyed by
# the admin URL so a settings override never reads another Hydra's entry.
VERSION_CACHE_SECONDS = 60
_VERSION_RE = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")


def is_ready() -> bool:
    """Whether Hydra and its database answer; False instead of raising so health pages can render."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/metadata/operation/isReady
    return ory_http.is_ready(_SERVICE)


def get_version() -> str:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/metadata/operation/getVersion
    return ory_http.get_version(_SERVICE)


def parse_version(version: str) -> tuple[int, int, int] | None:
    """'v2.3.0' -> (2, 3, 0); None for builds without a version ("master", "dev")."""
    match = _VERSION_RE.match(version.strip())
    if match is None:
        return None
    major, minor, patch = (int(part) if part else 0 for part in match.groups())
    return (major, minor, patch)


def _version_cache_key() -> str:
    return caching.hydra_version_key(_admin(""))


def _cached_version() -> str:
    return str(cache.get_or_set(_version_cache_key(), get_version, VERSION_CACHE_SECONDS))


def clear_version_cache() -> None:
    cache.delete(_version_cache_key())


def version_at_least(minimum: str) -> bool:
    """Feature gate on Hydra's version (cached for a minute).

    A build that reports no version (Hydra says "master" unless built with -ldflags) counts as *not*
    new enough: better to hide a feature than to call an endpoint that may not exist. Raises
    HydraUnavailable when Hydra cannot be asked.
    """
    wanted = parse_version(minimum)
    if wanted is None:
        raise ValueError(f"not a version: {minimum!r}")
    actual = parse_version(_cached_version())
    return actual is not None and actual >= wanted


# --- Discovery --------------------------------------------------------------------------------------------


def discovery() -> OidcDiscovery:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oidc/operation/discoverOidcConfiguration
    return ory_http.parse(_SERVICE, OidcDiscovery, _json("GET", _public("/.well-known/openid-configuration")))


def public_jwks() -> JsonWebKeySet:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/wellknown/operation/discoverJsonWebKeys
    data = _strip_private_jwks(_json("GET", _public("/.well-known/jwks.json")))
    return ory_http.parse(_SERVICE, JsonWebKeySet, data)


# --- OAuth2 clients ---------------------------------------------------------------------------------------


def list_clients(
    *,
    owner: str | None = None,
    client_name: str | None = None,
    page_size: int = 50,
    page_token: str | None = None,
) -> ClientPage:
    """One page of clients; both filters are exact matches in Hydra."""
    params: dict[str, str | int] = _only_set(
        page_size=page_size, page_token=page_token, owner=owner, client_name=client_name
    )
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/listOAuth2Clients
    response = ory_http.request(_SERVICE, "GET", _admin("/admin/clients"), params=params)
    items = ory_http.parse_list_response(_SERVICE, OAuth2Client, response)
    token = ory_http.next_page_token(response, page_size=page_size, count=len(items))
    return ClientPage(items=items, next_page_token=token)


# A fleet walk's page: Hydra v2.3 allows 1000, v25+ 500 (notes §2.6); the larger costs Hydra more per call.
FLEET_PAGE = 500


def iter_clients(
    *, owner: str | None = None, page_size: int = FLEET_PAGE, page_token: str | None = None
) -> Iterator[ClientPage]:
    """Every client (of `owner`), one page at a time, from `page_token` (a page's `next_page_token`, to resume
    a walk where it stopped) or the first page. Only the page in hand is held: a caller that checkpoints each
    page's `next_page_token` walks a fleet of any size in constant memory. Hydra orders the list by client id."""
    token = page_token
    while True:
        page = list_clients(owner=owner, page_size=page_size, page_token=token)
        yield page.model_copy(update={"page_token": token})
        token = page.next_page_token
        if not token or not page.items:
            return


def get_client(client_id: str) -> OAuth2Client:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/getOAuth2Client
    data = _json("GET", _admin(f"/admin/clients/{segment(client_id)}"))
    return ory_http.parse(_SERVICE, OAuth2Client, data)


def create_client(body: Mapping[str, Any] | OAuth2Client) -> OAuth2Client:
    """Create a client; the result carries the generated ``client_secret``, shown only this once."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/createOAuth2Client
    data = _json("POST", _admin("/admin/clients"), json=_client_body(body))
    return ory_http.parse(_SERVICE, OAuth2Client, data)


def set_client(client_id: str, body: Mapping[str, Any] | OAuth2Client) -> OAuth2Client:
    """Full replace: every omitted field is reset to its default. Prefer patch_client for small edits."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/setOAuth2Client
    data = _json("PUT", _admin(f"/admin/clients/{segment(client_id)}"), json=_client_body(body))
    return ory_http.parse(_SERVICE, OAuth2Client, data)


def patch_client(client_id: str, ops: Sequence[Mapping[str, Any]]) -> OAuth2Client:
    """RFC 6902 JSON Patch, e.g. [{"op": "replace", "path": "/client_secret", "value": "…"}]."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/patchOAuth2Client
    data = _json("PATCH", _admin(f"/admin/clients/{segment(client_id)}"), json=[dict(op) for op in ops])
    return ory_http.parse(_SERVICE, OAuth2Client, data)


def delete_client(client_id: str) -> None:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/deleteOAuth2Client
    ory_http.request(_SERVICE, "DELETE", _admin(f"/admin/clients/{segment(client_id)}"))


def set_client_lifespans(client_id: str, lifespans: Mapping[str, str | None]) -> OAuth2Client:
    """Replace all per-grant token lifespans (Go durations like "1h"); omitted ones fall back to global TTLs."""
    unknown = set(lifespans) - set(LIFESPAN_FIELDS)
    if unknown:
        # A typo would otherwise silently reset that lifespan to the global default.
        raise ValueError(f"unknown lifespan fields: {sorted(unknown)}")
    body = {name: lifespans.get(name) for name in LIFESPAN_FIELDS}
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/setOAuth2ClientLifespans
    data = _json("PUT", _admin(f"/admin/clients/{segment(client_id)}/lifespans"), json=body)
    return ory_http.parse(_SERVICE, OAuth2Client, data)


# --- JSON Web Keys ----------------------------------------------------------------------------------------


def get_jwk_set(set_id: str) -> JsonWebKeySet:
    """A key set with private members removed (the admin endpoint returns them)."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/jwk/operation/getJsonWebKeySet
    data = _strip_private_jwks(_json("GET", _admin(f"/admin/keys/{segment(set_id)}")))
    return ory_http.parse(_SERVICE, JsonWebKeySet, data)


KEY_GENERATION_TIMEOUT = 60.0


def create_jwk_set(set_id: str, *, alg: str, use: str = "sig", kid: str | None = None) -> JsonWebKeySet:
    """Generate a key into ``set_id`` (adding to an existing set rotates: the newest key signs)."""
    body = _only_set(alg=alg, use=use, kid=kid)  # Hydra generates a kid when none is given
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/jwk/operation/createJsonWebKeySet
    # Hydra generates 4096-bit RSA keys: seconds of CPU on a small machine, so allow longer than other calls.
    data = _strip_private_jwks(
        _json("POST", _admin(f"/admin/keys/{segment(set_id)}"), json=body, timeout=KEY_GENERATION_TIMEOUT)
    )
    return ory_http.parse(_SERVICE, JsonWebKeySet, data)


class KeyEntry(OryModel):
    """One key of a set as Hydra holds it: its public half, whether Hydra also holds the private half (only
    such keys can sign), and whether it is the key Hydra signs with now."""

    key: JsonWebKey
    has_private: bool
    signing: bool


def key_set_entries(set_id: str) -> list[KeyEntry]:
    """The keys of a set in Hydra's order (``created_at DESC``), flagging the signer.

    Hydra signs with the first key holding private material in that order (jwk/helper.go FindPrivateKey after
    persister_jwk.go GetKeySet); keys with only a public half are published but never sign. The private
    members are looked at here and dropped here."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/jwk/operation/getJsonWebKeySet
    data = _json("GET", _admin(f"/admin/keys/{segment(set_id)}"))
    raw_keys = data.get("keys") if isinstance(data, Mapping) else None
    entries: list[KeyEntry] = []
    signer_found = False
    for raw in raw_keys if isinstance(raw_keys, list) else []:
        if not isinstance(raw, Mapping):
            continue
        private = any(name in raw for name in PRIVATE_JWK_FIELDS)
        signing = private and not signer_found
        signer_found = signer_found or signing
        key = ory_http.parse(_SERVICE, JsonWebKey, strip_private_jwk(raw))
        entries.append(KeyEntry(key=key, has_private=private, signing=signing))
    return entries


def publish_public_half(source_set: str, kid: str, target_set: str) -> JsonWebKey:
    """Copy only the public half of ``source_set``/``kid`` into ``target_set``: Hydra publishes it with that
    set (``/.well-known/jwks.json``) but never signs with it, as it has no private half there."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/jwk/operation/getJsonWebKey
    found = _strip_private_jwks(_json("GET", _admin(f"/admin/keys/{segment(source_set)}/{segment(kid)}")))
    public = ory_http.parse(_SERVICE, JsonWebKeySet, found).keys
    if not public:
        raise HydraNotFound(404, description=f"key {kid} not found in {source_set}")
    body = public[0].model_dump(mode="json", by_alias=True, exclude_none=True)
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/jwk/operation/setJsonWebKey
    answer = _json("PUT", _admin(f"/admin/keys/{segment(target_set)}/{segment(kid)}"), json=body)
    return ory_http.parse(
        _SERVICE, JsonWebKey, strip_private_jwk(answer) if isinstance(answer, Mapping) else answer
    )


def promote_key(source_set: str, kid: str, target_set: str) -> JsonWebKey:
    """Copy the whole key (private half included) from ``source_set`` into ``target_set``, replacing any key
    with that kid there. Hydra's PUT deletes and re-inserts the row, so the key becomes the newest of the set
    and, holding a private half, the one Hydra signs with. The private members never leave this function."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/jwk/operation/getJsonWebKey
    found = _json("GET", _admin(f"/admin/keys/{segment(source_set)}/{segment(kid)}"))
    raw_keys = found.get("keys") if isinstance(found, Mapping) else None
    if not isinstance(raw_keys, list) or not raw_keys or not isinstance(raw_keys[0], Mapping):
        raise HydraNotFound(404, description=f"key {kid} not found in {source_set}")
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/jwk/operation/setJsonWebKey
    answer = _json("PUT", _admin(f"/admin/keys/{segment(target_set)}/{segment(kid)}"), json=dict(raw_keys[0]))
    return ory_http.parse(
        _SERVICE, JsonWebKey, strip_private_jwk(answer) if isinstance(answer, Mapping) else answer
    )


def delete_jwk(set_id: str, kid: str) -> None:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/jwk/operation/deleteJsonWebKey
    ory_http.request(_SERVICE, "DELETE", _admin(f"/admin/keys/{segment(set_id)}/{segment(kid)}"))


def delete_jwk_set(set_id: str) -> None:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/jwk/operation/deleteJsonWebKeySet
    ory_http.request(_SERVICE, "DELETE", _admin(f"/admin/keys/{segment(set_id)}"))


# --- Tokens -----------------------------------------------------------------------------------------------


def introspect(token: str, scope: str | None = None) -> Introspection:
    form = _only_set(token=token, scope=scope)
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/introspectOAuth2Token
    data = _json("POST", _admin("/admin/oauth2/introspect"), data=form)
    return ory_http.parse(_SERVICE, Introspection, data)


def delete_client_tokens(client_id: str) -> None:
    """Delete the client's access tokens (Hydra keeps refresh tokens; JWT access tokens stay valid)."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/deleteOAuth2Token
    ory_http.request(_SERVICE, "DELETE", _admin("/admin/oauth2/tokens"), params={"client_id": client_id})


def client_credentials_token(
    client_id: str,
    client_secret: str,
    scope: str | None = None,
    *,
    audience: Sequence[str] | None = None,
) -> TokenResponse:
    form = _only_set(
        grant_type="client_credentials", scope=scope, audience=" ".join(audience) if audience else None
    )
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/oauth2TokenExchange
    data = _json(
        "POST", _public("/oauth2/token"), data=form, auth=_client_basic_auth(client_id, client_secret)
    )
    return ory_http.parse(_SERVICE, TokenResponse, data)


def revoke_token(token: str, client_id: str, client_secret: str) -> None:
    """Revoke an access or refresh token; only the client that owns it may do so."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/revokeOAuth2Token
    ory_http.request(
        _SERVICE,
        "POST",
        _public("/oauth2/revoke"),
        data={"token": token},
        auth=_client_basic_auth(client_id, client_secret),
    )


def revoke_public_client_token(token: str, client_id: str) -> None:
    """Revoke a token of a public client (token_endpoint_auth_method "none"): client_id in the form, no secret.

    Hydra revokes the access and refresh tokens of that grant. RFC 7009 answers 200 for unknown tokens too,
    so only a later introspection proves the token is gone."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/revokeOAuth2Token
    ory_http.request(
        _SERVICE, "POST", _public("/oauth2/revoke"), data={"token": token, "client_id": client_id}
    )


# --- Consent and login sessions ---------------------------------------------------------------------------

# Hydra v2.2/v2.3 build the consent-session Link header with page and size swapped (see notes §2.7), so
# it cannot be followed; ask for one large page instead (500 is within every version's maximum).
_CONSENT_PAGE_SIZE = 500


def list_consent_sessions(subject: str, *, login_session_id: str | None = None) -> list[ConsentSession]:
    params: dict[str, str | int] = _only_set(
        subject=subject, login_session_id=login_session_id, page_size=_CONSENT_PAGE_SIZE
    )
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/listOAuth2ConsentSessions
    data = _json("GET", _admin("/admin/oauth2/auth/sessions/consent"), params=params)
    return ory_http.parse_list(_SERVICE, ConsentSession, data)


def revoke_consent_sessions(subject: str, *, client_id: str | None = None, all_clients: bool = False) -> None:
    """Revoke the subject's consents for one client or for all; also revokes the tokens they issued."""
    if (client_id is None) == (not all_clients):
        raise ValueError("pass exactly one of client_id or all_clients=True")
    params: dict[str, str | int] = {"subject": subject}
    if client_id is not None:
        params["client"] = client_id
    else:
        params["all"] = "true"
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/revokeOAuth2ConsentSessions
    ory_http.request(_SERVICE, "DELETE", _admin("/admin/oauth2/auth/sessions/consent"), params=params)


def revoke_login_sessions(*, subject: str | None = None, sid: str | None = None) -> None:
    """End Hydra login sessions by subject (no logout notifications) or by sid (back-channel logout runs)."""
    if (subject is None) == (sid is None):
        raise ValueError("pass exactly one of subject or sid")
    params: dict[str, str | int] = _only_set(subject=subject, sid=sid)
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/revokeOAuth2LoginSessions
    ory_http.request(_SERVICE, "DELETE", _admin("/admin/oauth2/auth/sessions/login"), params=params)


# --- Login / consent / logout challenges -----------------------------------------------------------------
# A challenge that was already handled or has expired answers 410 {"redirect_to": …}: HydraGone carries it.


def _redirect(method: str, path: str, challenge_param: str, challenge: str, body: Any = None) -> RedirectTo:
    data = _json(method, _admin(path), params={challenge_param: challenge}, json=body)
    return ory_http.parse(_SERVICE, RedirectTo, data)


def get_login_request(challenge: str) -> OAuth2LoginRequest:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/getOAuth2LoginRequest
    data = _json("GET", _admin("/admin/oauth2/auth/requests/login"), params={"login_challenge": challenge})
    return ory_http.parse(_SERVICE, OAuth2LoginRequest, data)


def accept_login_request(
    challenge: str,
    *,
    subject: str,
    remember: bool = False,
    remember_for: int = 0,
    acr: str | None = None,
    amr: Sequence[str] | None = None,
    context: Mapping[str, Any] | None = None,
    identity_provider_session_id: str | None = None,
) -> RedirectTo:
    """Accept a login. When the request had skip=true, ``subject`` must be the request's subject."""
    body = {
        "subject": subject,
        "remember": remember,
        "remember_for": remember_for,
        **_only_set(
            acr=acr,
            amr=list(amr) if amr is not None else None,
            context=dict(context) if context is not None else None,
            identity_provider_session_id=identity_provider_session_id,
        ),
    }
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/acceptOAuth2LoginRequest
    return _redirect("PUT", "/admin/oauth2/auth/requests/login/accept", "login_challenge", challenge, body)


def reject_login_request(challenge: str, *, error: str, error_description: str | None = None) -> RedirectTo:
    body = _only_set(error=error, error_description=error_description)
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/rejectOAuth2LoginRequest
    return _redirect("PUT", "/admin/oauth2/auth/requests/login/reject", "login_challenge", challenge, body)


def get_consent_request(challenge: str) -> OAuth2ConsentRequest:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/getOAuth2ConsentRequest
    data = _json(
        "GET", _admin("/admin/oauth2/auth/requests/consent"), params={"consent_challenge": challenge}
    )
    return ory_http.parse(_SERVICE, OAuth2ConsentRequest, data)


def accept_consent_request(
    challenge: str,
    *,
    grant_scope: Sequence[str],
    grant_access_token_audience: Sequence[str] | None = None,
    remember: bool = False,
    remember_for: int = 0,
    id_token_claims: Mapping[str, Any] | None = None,
    access_token_claims: Mapping[str, Any] | None = None,
) -> RedirectTo:
    """Grant scopes. ID-token claims also reach /userinfo; access-token claims are visible to introspection."""
    body: dict[str, Any] = {
        "grant_scope": list(grant_scope),
        "grant_access_token_audience": list(grant_access_token_audience or []),
        "remember": remember,
        "remember_for": remember_for,
    }
    session = _only_set(
        id_token=dict(id_token_claims) if id_token_claims is not None else None,
        access_token=dict(access_token_claims) if access_token_claims is not None else None,
    )
    if session:
        body["session"] = session
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/acceptOAuth2ConsentRequest
    return _redirect(
        "PUT", "/admin/oauth2/auth/requests/consent/accept", "consent_challenge", challenge, body
    )


def reject_consent_request(challenge: str, *, error: str, error_description: str | None = None) -> RedirectTo:
    body = _only_set(error=error, error_description=error_description)
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/rejectOAuth2ConsentRequest
    return _redirect(
        "PUT", "/admin/oauth2/auth/requests/consent/reject", "consent_challenge", challenge, body
    )


def get_logout_request(challenge: str) -> OAuth2LogoutRequest:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/getOAuth2LogoutRequest
    data = _json("GET", _admin("/admin/oauth2/auth/requests/logout"), params={"logout_challenge": challenge})
    return ory_http.parse(_SERVICE, OAuth2LogoutRequest, data)


def accept_logout_request(challenge: str) -> RedirectTo:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/acceptOAuth2LogoutRequest
    return _redirect("PUT", "/admin/oauth2/auth/requests/logout/accept", "logout_challenge", challenge)


def reject_logout_request(challenge: str) -> None:
    """Hydra answers 204 without a redirect: the caller decides where the user goes."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/rejectOAuth2LogoutRequest
    ory_http.request(
        _SERVICE,
        "PUT",
        _admin("/admin/oauth2/auth/requests/logout/reject"),
        params={"logout_challenge": challenge},
    )


# --- Trusted JWT-bearer grant issuers ---------------------------------------------------------------------


def list_trusted_issuers(*, issuer: str | None = None) -> list[TrustedJwtGrantIssuer]:
    """The first page of trust relationships (Hydra's default page size is far above realistic counts)."""
    params: dict[str, str | int] = _only_set(issuer=issuer)
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/listTrustedOAuth2JwtGrantIssuers
    data = _json("GET", _admin("/admin/trust/grants/jwt-bearer/issuers"), params=params)
    return ory_http.parse_list(_SERVICE, TrustedJwtGrantIssuer, data)


def all_trusted_issuers(*, issuer: str | None = None, page_size: int = 500) -> list[TrustedJwtGrantIssuer]:
    """Every trust relationship (of one issuer when given), following Hydra's pages."""
    items: list[TrustedJwtGrantIssuer] = []
    token: str | None = None
    while True:
        params: dict[str, str | int] = _only_set(issuer=issuer, page_size=page_size, page_token=token)
        # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/listTrustedOAuth2JwtGrantIssuers
        response = ory_http.request(
            _SERVICE, "GET", _admin("/admin/trust/grants/jwt-bearer/issuers"), params=params
        )
        page = ory_http.parse_list_response(_SERVICE, TrustedJwtGrantIssuer, response)
        items.extend(page)
        token = ory_http.next_page_token(response, page_size=page_size, count=len(page))
        if token is None:
            return items


def trust_issuer(body: Mapping[str, Any]) -> TrustedJwtGrantIssuer:
    """Body: issuer, scope, expires_at, jwk (public, with kid) and exactly one of subject / allow_any_subject."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/trustOAuth2JwtGrantIssuer
    data = _json("POST", _admin("/admin/trust/grants/jwt-bearer/issuers"), json=dict(body))
    return ory_http.parse(_SERVICE, TrustedJwtGrantIssuer, data)


def get_trusted_issuer(issuer_id: str) -> TrustedJwtGrantIssuer:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/getTrustedOAuth2JwtGrantIssuer
    data = _json("GET", _admin(f"/admin/trust/grants/jwt-bearer/issuers/{segment(issuer_id)}"))
    return ory_http.parse(_SERVICE, TrustedJwtGrantIssuer, data)


def delete_trusted_issuer(issuer_id: str) -> None:
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/deleteTrustedOAuth2JwtGrantIssuer
    ory_http.request(
        _SERVICE, "DELETE", _admin(f"/admin/trust/grants/jwt-bearer/issuers/{segment(issuer_id)}")
    )


# --- Device authorization grant (RFC 8628; Hydra >= v25.4) -----------------------------------------------


class DeviceAuthorization(OryModel):
    """Hydra's answer to a device's authorization request (what the device shows its user)."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None = None
    expires_in: int
    interval: int | None = None


DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def device_authorization(
    client_id: str,
    *,
    scope: str | None = None,
    client_secret: str | None = None,
    auth_method: str | None = None,
) -> DeviceAuthorization:
    """Start a device flow as the device would (public endpoint; confidential clients authenticate the way
    they are registered, Basic unless ``auth_method`` says ``client_secret_post``)."""
    extra, auth = token_client_auth(client_id, client_secret, auth_method)
    form = {**_only_set(client_id=client_id, scope=scope), **extra}
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/oAuth2DeviceFlow
    data = _json("POST", _public("/oauth2/device/auth"), data=form, auth=auth)
    return ory_http.parse(_SERVICE, DeviceAuthorization, data)


def accept_user_code(device_challenge: str, user_code: str) -> RedirectTo:
    """The user typed ``user_code`` on the verification page for ``device_challenge``. Hydra answers 400
    (``invalid_request``) for a wrong, expired or used code; there is no GET and no reject for it."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/acceptUserCodeRequest
    return _redirect(
        "PUT",
        "/admin/oauth2/auth/requests/device/accept",
        "device_challenge",
        device_challenge,
        {"user_code": user_code},
    )


def device_token(
    client_id: str, device_code: str, *, client_secret: str | None = None, auth_method: str | None = None
) -> TokenResponse:
    """One poll of the token endpoint. Hydra answers 400 ``authorization_pending`` / ``slow_down`` /
    ``expired_token`` / ``access_denied`` until the user has finished (HydraBadRequest carries the code)."""
    extra, auth = token_client_auth(client_id, client_secret, auth_method)
    form = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": client_id, **extra}
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/oauth2TokenExchange
    data = _json("POST", _public("/oauth2/token"), data=form, auth=auth)
    return ory_http.parse(_SERVICE, TokenResponse, data)


# --- Flow tester grants (oauth2_admin/devtools): code exchange, refresh, userinfo ------------------------


def token_client_auth(
    client_id: str, client_secret: str | None, auth_method: str | None
) -> tuple[dict[str, str], tuple[str, str] | None]:
    """(form members, Basic credentials) authenticating a client at the token/revocation endpoints the way it
    is registered: ``client_secret_post`` in the form, ``none`` as a bare client_id, else Basic."""
    if not client_secret or auth_method == "none":
        return {"client_id": client_id}, None
    if auth_method == "client_secret_post":
        return {"client_id": client_id, "client_secret": client_secret}, None
    return {}, _client_basic_auth(client_id, client_secret)


def token_grant(
    form: Mapping[str, str],
    *,
    client_id: str,
    client_secret: str | None = None,
    auth_method: str | None = None,
) -> dict[str, Any]:
    """One token-endpoint request (authorization_code, refresh_token, client_credentials …) as the client;
    the whole JSON answer (Hydra may add members), checked to carry a token."""
    extra, auth = token_client_auth(client_id, client_secret, auth_method)
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/oauth2TokenExchange
    data = _json("POST", _public("/oauth2/token"), data={**form, **extra}, auth=auth)
    ory_http.parse(_SERVICE, TokenResponse, data)
    return dict(data)


def authorization_code_token(
    client_id: str,
    code: str,
    *,
    redirect_uri: str,
    code_verifier: str,
    client_secret: str | None = None,
    auth_method: str | None = None,
) -> dict[str, Any]:
    """Redeem an authorization code (RFC 6749 §4.1.3 with PKCE, RFC 7636 §4.5)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    return token_grant(form, client_id=client_id, client_secret=client_secret, auth_method=auth_method)


def refresh_token_grant(
    client_id: str,
    refresh_token: str,
    *,
    scope: str | None = None,
    client_secret: str | None = None,
    auth_method: str | None = None,
) -> dict[str, Any]:
    """Trade a refresh token for new tokens (RFC 6749 §6); Hydra rotates the refresh token."""
    form = _only_set(grant_type="refresh_token", refresh_token=refresh_token, scope=scope)
    return token_grant(form, client_id=client_id, client_secret=client_secret, auth_method=auth_method)


def revoke_as_client(
    token: str, client_id: str, client_secret: str | None = None, auth_method: str | None = None
) -> None:
    """Revoke a token authenticating the way the client is registered (RFC 7009)."""
    extra, auth = token_client_auth(client_id, client_secret, auth_method)
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oAuth2/operation/revokeOAuth2Token
    ory_http.request(_SERVICE, "POST", _public("/oauth2/revoke"), data={"token": token, **extra}, auth=auth)


def userinfo(access_token: str) -> dict[str, Any]:
    """The OIDC UserInfo claims for an access token (OIDC Core §5.3)."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oidc/operation/getOidcUserInfo
    data = _json("GET", _public("/userinfo"), headers={"Authorization": f"Bearer {access_token}"})
    return dict(data) if isinstance(data, dict) else {}


def dynamic_registration_enabled() -> bool:
    """Whether Hydra serves OIDC Dynamic Client Registration (``oidc.dynamic_client_registration.enabled``).

    Probed with a body that can never register anything (a JSON array): 404 means switched off, 400 on."""
    # Reference: https://www.ory.sh/docs/hydra/reference/api#tag/oidc/operation/createOidcDynamicClient
    try:
        ory_http.request(_SERVICE, "POST", _public("/oauth2/register"), json=[])
    except HydraNotFound:
        return False
    except HydraBadRequest:
        return True
    return True
