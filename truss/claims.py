"""Custom token claims: per-tenant templates such as ``{"email": "{{traits.email}}"}``, resolved at consent time.

A value that is exactly one placeholder keeps the identity's JSON type (a number stays a number, a list a
list); placeholders inside other text are substituted as text. A claim whose placeholder does not resolve is
left out rather than sent half-rendered. Paths: ``id``, ``traits.*`` and ``metadata_public.*`` of the Kratos
identity (``metadata_admin`` is deliberately not reachable: it is admin-only data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from truss.ory import kratos

MAX_CLAIMS = 50
MAX_TEMPLATE_LENGTH = 500
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:\-]{0,63}$")
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_PATH_RE = re.compile(r"^(id|(traits|metadata_public)(\.[A-Za-z0-9_\-]+)*)$")

# Claims Hydra sets itself or that carry protocol meaning; a template must not shadow them.
# ID token: OIDC Core §2 and §3.1.3.6, plus Hydra's sid/rat. Access token: Hydra's reserved JWT claims
# (oauth2/session.go GetJWTClaims) and RFC 9068.
RESERVED_ID_TOKEN = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "nonce", "at_hash", "c_hash", "auth_time", "acr", "amr"}
    | {"azp", "sid", "rat"}
)
RESERVED_ACCESS_TOKEN = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scp", "scope", "ext"}
)
TOKEN_KINDS = {"id_token_claims": RESERVED_ID_TOKEN, "access_token_claims": RESERVED_ACCESS_TOKEN}

_MISSING = object()


@dataclass(frozen=True)
class Claims:
    id_token: dict[str, Any] = field(default_factory=dict)
    access_token: dict[str, Any] = field(default_factory=dict)


def validate(kind: str, config: Any) -> dict[str, list[str]]:
    """Errors per ``kind.claim`` ({} when valid). ``kind`` is ``id_token_claims`` or ``access_token_claims``."""
    reserved = TOKEN_KINDS[kind]
    if not isinstance(config, Mapping):
        return {kind: ["Must be a JSON object of claim name to template."]}
    errors: dict[str, list[str]] = {}
    if len(config) > MAX_CLAIMS:
        errors[kind] = [f"At most {MAX_CLAIMS} claims."]
    for name, template in config.items():
        problems = _check_claim(str(name), template, reserved)
        if problems:
            errors[f"{kind}.{name}"] = problems
    return errors


def _check_claim(name: str, template: Any, reserved: frozenset[str]) -> list[str]:
    problems: list[str] = []
    if not _NAME_RE.match(name):
        problems.append("Claim names use letters, digits, _ . : - and start with a letter or _.")
    if name in reserved:
        problems.append(f"{name!r} is set by Hydra and cannot be templated.")
    if not isinstance(template, str):
        return [*problems, "The value must be a string, e.g. {{traits.email}}."]
    if len(template) > MAX_TEMPLATE_LENGTH:
        problems.append(f"At most {MAX_TEMPLATE_LENGTH} characters.")
    for path in _PLACEHOLDER_RE.findall(template):
        if not _PATH_RE.match(path):
            problems.append(f"Unknown variable {{{{{path}}}}}: use id, traits.* or metadata_public.*.")
    leftover = _PLACEHOLDER_RE.sub("", template)
    if "{{" in leftover or "}}" in leftover:
        problems.append("Unbalanced {{ or }}.")
    return problems


def identity_context(identity: kratos.Identity) -> dict[str, Any]:
    return {
        "id": identity.id,
        "traits": identity.traits,
        "metadata_public": identity.metadata_public if identity.metadata_public is not None else {},
    }


def _lookup(context: Mapping[str, Any], path: str) -> Any:
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return _MISSING if value is None else value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def render_value(template: str, context: Mapping[str, Any]) -> Any:
    """The claim's value, or ``_MISSING`` when a placeholder does not resolve."""
    whole = _PLACEHOLDER_RE.fullmatch(template.strip())
    if whole is not None:
        return _lookup(context, whole.group(1))
    missing = False

    def substitute(match: re.Match[str]) -> str:
        nonlocal missing
        value = _lookup(context, match.group(1))
        if value is _MISSING:
            missing = True
            return ""
        return _as_text(value)

    text = _PLACEHOLDER_RE.sub(substitute, template)
    return _MISSING if missing else text


def unresolved(template: str, context: Mapping[str, Any]) -> list[str]:
    """The template's variables that do not resolve in ``context`` (each once, in order): why a claim is left
    out."""
    paths = dict.fromkeys(_PLACEHOLDER_RE.findall(template))
    return [path for path in paths if _lookup(context, path) is _MISSING]


def render(config: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    for name, template in config.items():
        if not isinstance(template, str):
            continue  # validated on save; never trust a hand-edited row
        value = render_value(template, context)
        if value is not _MISSING:
            rendered[name] = value
    return rendered


# OIDC Core §5.1.1: the members of the ``address`` claim.
ADDRESS_FIELDS = ("formatted", "street_address", "locality", "region", "postal_code", "country")


def _address(identity: kratos.Identity) -> dict[str, str] | None:
    """The ``address`` claim from the trait of that name: an object keeps its §5.1.1 members, text is
    ``formatted``."""
    value = identity.traits.get("address")
    if isinstance(value, str) and value.strip():
        return {"formatted": value}
    if isinstance(value, Mapping):
        address = {
            key: value[key] for key in ADDRESS_FIELDS if isinstance(value.get(key), str) and value[key]
        }
        return address or None
    return None


def _phone(identity: kratos.Identity) -> str | None:
    for trait in ("phone_number", "phone"):
        value = identity.traits.get(trait)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _verified(identity: kratos.Identity, value: str, via: str) -> bool:
    return any(
        a.verified and a.via == via and a.value.lower() == value.lower()
        for a in identity.verifiable_addresses
    )


def standard_claims(identity: kratos.Identity, scopes: Collection[str]) -> dict[str, Any]:
    """OIDC Core §5.4 claims for the granted ``profile``, ``email``, ``address`` and ``phone`` scopes, from the
    identity's traits (a claim whose trait is absent is left out)."""
    claims: dict[str, Any] = {}
    if "profile" in scopes and identity.name:
        claims["name"] = identity.name
    if "email" in scopes and identity.email:
        claims["email"] = identity.email
        claims["email_verified"] = _verified(identity, identity.email, "email")
    if "address" in scopes and (address := _address(identity)) is not None:
        claims["address"] = address
    if "phone" in scopes and (phone := _phone(identity)) is not None:
        claims["phone_number"] = phone
        claims["phone_number_verified"] = _verified(identity, phone, "sms")
    return claims


def build(
    identity: kratos.Identity,
    scopes: Collection[str],
    id_token_config: Mapping[str, Any],
    access_token_config: Mapping[str, Any],
    *,
    withheld: Collection[str] = (),
) -> Claims:
    """The standard claims of the granted ``scopes`` and the rendered templates, less the templates named in
    ``withheld`` (those a scope of the tenant's catalogue releases, when that scope was not granted)."""
    context = identity_context(identity)
    id_config = {name: t for name, t in id_token_config.items() if name not in withheld}
    access_config = {name: t for name, t in access_token_config.items() if name not in withheld}
    id_token = {**standard_claims(identity, scopes), **render(id_config, context)}
    return Claims(id_token=id_token, access_token=render(access_config, context))
