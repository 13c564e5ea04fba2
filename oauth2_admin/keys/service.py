"""Hydra's signing keys: the viewer's data, create, delete and staged rotation. Keys are global in Hydra, so
every change is a platform-admin action; reads are open to every operator.

Private key material never reaches this module: truss.ory.hydra strips it at the boundary and copies whole
keys (``promote_key``) without handing them out.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, get_args

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from oauth2_admin.clients import service as clients
from oauth2_admin.keys.models import KeyRecord, Rotation
from truss import audit, durations, errors
from truss.apikit import JsonInt
from truss.audit import Action
from truss.errors import InputError
from truss.models import AuditEvent, Tenant
from truss.ory import hydra

Algorithm = Literal["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA"]
ALGORITHMS: tuple[str, ...] = get_args(Algorithm)
USES = ("sig", "enc")
ID_TOKEN_SET = "hydra.openid.id-token"
ACCESS_TOKEN_SET = "hydra.jwt.access-token"
# Sets Hydra signs with; it needs a private key in each (deleting the last one makes Hydra generate a fresh
# RS256 key on the next signature, which no verifier has seen).
SIGNING_SETS = {
    ID_TOKEN_SET: "Signs ID tokens (and logout tokens)",
    ACCESS_TOKEN_SET: "Signs JWT access tokens (clients with the jwt strategy)",
}
HOLDING_PREFIX = "truss.next."
SET_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
DEFAULT_CACHE_WINDOW = 3600
MAX_CACHE_WINDOW = 7 * 24 * 3600

# Hydra's global ttl.* cannot be read over its API; these are Hydra's defaults (1h each), overridable in
# Truss's settings when Hydra's config differs. Per-client lifespans are read from Hydra.
_ID_TOKEN_LIFESPANS = (
    "authorization_code_grant_id_token_lifespan",
    "implicit_grant_id_token_lifespan",
    "refresh_token_grant_id_token_lifespan",
)
_ACCESS_TOKEN_LIFESPANS = (
    "authorization_code_grant_access_token_lifespan",
    "client_credentials_grant_access_token_lifespan",
    "implicit_grant_access_token_lifespan",
    "jwt_bearer_grant_access_token_lifespan",
    "refresh_token_grant_access_token_lifespan",
)


class KeyInputError(InputError):
    """Bad key input (field → messages); nothing was sent to Hydra."""


class KeyConflict(Exception):
    """The action is refused in the current state (409): the message says why and what to do."""


class NotPlatformAdmin(Exception):
    pass


# --- views of keys --------------------------------------------------------------------------------------------


def _b64decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def thumbprint(key: hydra.JsonWebKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256, base64url): the required public members, sorted, no whitespace."""
    required = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}
    members = required.get(key.kty)
    if members is None:
        return ""
    data = key.model_dump(exclude_none=True)
    canonical = json.dumps({m: data.get(m) for m in members}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def size_of(key: hydra.JsonWebKey) -> str:
    if key.kty == "RSA" and key.n:
        return f"{len(_b64decode(key.n)) * 8} bits"
    return key.crv or "—"


@dataclass
class KeyView:
    set_id: str
    kid: str
    alg: str
    kty: str
    use: str
    size: str
    thumbprint: str
    signing: bool
    has_private: bool
    created_at: datetime | None
    created_by: str
    public_jwk: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "set_id": self.set_id,
            "kid": self.kid,
            "alg": self.alg,
            "kty": self.kty,
            "use": self.use,
            "size": self.size,
            "thumbprint_sha256": self.thumbprint,
            "signing": self.signing,
            "can_sign": self.has_private,
            "created_at": self.created_at,
            "created_by": self.created_by or None,
            "created": "by Truss" if self.created_at else "before Truss",
            "public_jwk": self.public_jwk,
        }


@dataclass
class KeySetView:
    set_id: str
    purpose: str
    exists: bool
    keys: list[KeyView] = field(default_factory=list)

    @property
    def signer(self) -> KeyView | None:
        return next((k for k in self.keys if k.signing), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "set_id": self.set_id,
            "purpose": self.purpose,
            "exists": self.exists,
            "keys": [k.as_json() for k in self.keys],
        }


def _views(set_id: str, entries: list[hydra.KeyEntry]) -> list[KeyView]:
    records = {r.kid: r for r in KeyRecord.objects.filter(set_id=set_id)}
    out = []
    for entry in entries:
        key = entry.key
        record = records.get(key.kid or "")
        out.append(
            KeyView(
                set_id=set_id,
                kid=key.kid or "",
                alg=key.alg or "",
                kty=key.kty,
                use=key.use or "",
                size=size_of(key),
                thumbprint=thumbprint(key),
                signing=entry.signing,
                has_private=entry.has_private,
                created_at=record.created_at if record else None,
                created_by=record.created_by if record else "",
                public_jwk=key.model_dump(mode="json", by_alias=True, exclude_none=True),
            )
        )
    return out


def known_sets() -> list[str]:
    """Hydra v2.3.0 has no "list key sets" endpoint: the sets Hydra itself uses plus every set Truss created."""
    created = KeyRecord.objects.exclude(set_id__startswith=HOLDING_PREFIX).values_list("set_id", flat=True)
    extra = sorted(set(created) - set(SIGNING_SETS))
    return [*SIGNING_SETS, *extra]


def key_set(set_id: str) -> KeySetView:
    purpose = SIGNING_SETS.get(
        set_id,
        "Created through Truss"
        if not set_id.startswith(HOLDING_PREFIX)
        else "Holds the next key of a rotation (not published)",
    )
    try:
        entries = hydra.key_set_entries(set_id)
    except hydra.HydraNotFound:
        return KeySetView(set_id, purpose, exists=False)
    return KeySetView(set_id, purpose, exists=True, keys=_views(set_id, entries))


def key_sets() -> list[KeySetView]:
    return [key_set(set_id) for set_id in known_sets()]


# --- lifespans -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lifespan:
    seconds: int
    source: str

    @property
    def human(self) -> str:
        return durations.human(self.seconds)


def longest_lifespan(set_id: str) -> Lifespan:
    """How long a token signed by a key of ``set_id`` may stay alive: the global TTL (Hydra's default or
    Truss's HYDRA_*_TTL_SECONDS setting) or the longest per-client lifespan of that token type."""
    fields: tuple[str, ...]
    if set_id == ACCESS_TOKEN_SET:
        fields = _ACCESS_TOKEN_LIFESPANS
        best = Lifespan(
            int(getattr(settings, "HYDRA_ACCESS_TOKEN_TTL_SECONDS", 3600)), "Hydra's ttl.access_token"
        )
    else:
        fields = _ID_TOKEN_LIFESPANS
        best = Lifespan(int(getattr(settings, "HYDRA_ID_TOKEN_TTL_SECONDS", 3600)), "Hydra's ttl.id_token")
    token: str | None = None
    for _page in range(200):  # at most 100,000 clients
        page = hydra.list_clients(page_size=500, page_token=token)
        for client in page.items:
            seconds = clients.lifespans_in_seconds(client)
            for name in fields:
                value = seconds.get(name)
                if value is not None and value > best.seconds:
                    best = Lifespan(value, f"client “{client.client_name or client.client_id}” ({name})")
        token = page.next_page_token
        if not token:
            break
    return best


# --- authorisation and audit ---------------------------------------------------------------------------------------


def _tenant(request: HttpRequest) -> Tenant | None:
    return getattr(request, "tenant", None)


def is_platform_admin(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_superuser)


def _actor(request: HttpRequest) -> str:
    return audit.actor_of(request)


# --- create and delete -----------------------------------------------------------------------------------------


class KeyIn(BaseModel):
    """What to generate (the API's body and the console's form): strict, as the API documents it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    set_id: str = Field(
        pattern=SET_ID_PATTERN,
        examples=["truss.example"],
        json_schema_extra={"not": {"pattern": f"^{re.escape(HOLDING_PREFIX)}"}},
    )
    algorithm: Algorithm
    use: Literal["sig", "enc"] = "sig"

    @field_validator("set_id")
    @classmethod
    def _not_a_holding_set(cls, value: str) -> str:
        if value.startswith(HOLDING_PREFIX):
            raise ValueError("a holding set")
        return value


class RotationIn(BaseModel):
    """Stage 1 of a staged rotation: the signing set, the next key's algorithm and the cache window."""

    model_config = ConfigDict(extra="forbid", strict=True)

    set_id: Literal["hydra.openid.id-token", "hydra.jwt.access-token"]
    algorithm: Algorithm
    cache_window_seconds: JsonInt = Field(default=DEFAULT_CACHE_WINDOW, ge=0, le=MAX_CACHE_WINDOW)


class StepIn(BaseModel):
    """Promote and retire: `force` skips the waiting time (the body is optional)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    force: bool = False


_HELP = {
    "set_id": f"Letters, digits and . _ : - only, starting with a letter or digit (max 100); sets named "
    f"{HOLDING_PREFIX}… are Truss's rotation holding sets.",
    "algorithm": f"Choose one of {', '.join(ALGORITHMS)}.",
    "use": "Choose sig or enc.",
    "cache_window_seconds": f"A whole number of seconds from 0 to {MAX_CACHE_WINDOW}.",
    "force": "true or false.",
}
_ROTATION_HELP = {"set_id": f"Staged rotation is for the sets Hydra signs with: {', '.join(SIGNING_SETS)}."}

_In = TypeVar("_In", bound=BaseModel)


def published_kids() -> set[str]:
    """The key ids in Hydra's public JWKS (`/.well-known/jwks.json`): what verifiers can see now."""
    return {k.kid for k in hydra.public_jwks().keys if k.kid}


def validated(model: type[_In], data: Any, help_: dict[str, str] | None = None) -> _In:
    """`data` as `model`, or KeyInputError with one message per field (values never echoed)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        wording = {"__all__": "Expected a JSON object.", **_HELP, **(help_ or {})}
        raise KeyInputError(errors.field_messages(exc.errors(), wording=wording)) from exc


def validate_create(data: dict[str, Any]) -> tuple[str, str, str]:
    key = validated(KeyIn, data)
    return key.set_id, key.algorithm, key.use


def create_key(request: HttpRequest, data: dict[str, Any]) -> tuple[KeyView, list[str]]:
    target = str(data.get("set_id") or "")[:200]
    with audit.mutation(request, Action.KEY_CREATE, _tenant(request), target) as event:
        require_platform_admin_in(request, event)
        set_id, algorithm, use = validate_create(data)
        kid = str(uuid.uuid4())
        event.target = f"{set_id}/{kid}"
        hydra.create_jwk_set(set_id, alg=algorithm, use=use, kid=kid)
        KeyRecord.objects.create(
            set_id=set_id, kid=kid, algorithm=algorithm, use=use, created_by=_actor(request)
        )
        view = next(k for k in key_set(set_id).keys if k.kid == kid)
        event.success(
            after={
                "set_id": set_id,
                "kid": kid,
                "alg": algorithm,
                "use": use,
                "thumbprint_sha256": view.thumbprint,
            }
        )
    warnings = []
    if set_id in SIGNING_SETS and view.signing:
        warnings.append(
            f"This key signs new tokens of {set_id} now. Relying parties that cached the JWKS before it was "
            "published cannot verify them until they refetch it; a staged rotation avoids that."
        )
    return view, warnings


def require_platform_admin_in(request: HttpRequest, event: audit.Mutation) -> None:
    """Like require_platform_admin, inside an audit.mutation block (the refusal is its one event)."""
    if is_platform_admin(request):
        return
    event.failure("keys are global in Hydra: platform admins only", outcome=AuditEvent.Outcome.DENIED)
    raise NotPlatformAdmin("Signing keys are global in Hydra: only platform admins may change them.")


def delete_warnings(set_id: str, kid: str) -> list[str]:
    """Why deleting this key may break tokens that are still alive (empty when it cannot)."""
    view = key_set(set_id)
    key = next((k for k in view.keys if k.kid == kid), None)
    if key is None or not key.has_private or set_id not in SIGNING_SETS:
        return []
    lifespan = longest_lifespan(set_id)
    replaced = [
        r.promoted_at
        for r in Rotation.objects.filter(set_id=set_id, promoted_at__isnull=False)
        if kid in r.old_kids and r.promoted_at
    ]
    if replaced and not key.signing and timezone.now() >= max(replaced) + timedelta(seconds=lifespan.seconds):
        return []
    what = "signs new tokens now" if key.signing else "may have signed tokens"
    return [
        f"This key {what}. Tokens signed with it can stay alive for up to {lifespan.human} ({lifespan.source}); "
        "once it is deleted, verifiers that refetch the JWKS reject them."
    ]


def delete_key(request: HttpRequest, set_id: str, kid: str) -> list[str]:
    with audit.mutation(request, Action.KEY_DELETE, _tenant(request), f"{set_id}/{kid}") as event:
        require_platform_admin_in(request, event)
        view = key_set(set_id)
        key = next((k for k in view.keys if k.kid == kid), None)
        if key is None:
            raise hydra.HydraNotFound(404, description=f"No key {kid} in set {set_id}.")
        if set_id in SIGNING_SETS and key.has_private and sum(k.has_private for k in view.keys) == 1:
            raise KeyConflict(
                f"{kid} is the last signing key of {set_id}; Hydra would generate a new RS256 key that no verifier "
                "has seen. Start a staged rotation instead."
            )
        warnings = delete_warnings(set_id, kid)
        hydra.delete_jwk(set_id, kid)
        KeyRecord.objects.filter(set_id=set_id, kid=kid).delete()
        event.success(after={"deleted": f"{set_id}/{kid}", "thumbprint_sha256": key.thumbprint})
    return warnings


# --- staged rotation -------------------------------------------------------------------------------------------


def open_rotation(set_id: str) -> Rotation | None:
    return Rotation.objects.filter(
        set_id=set_id, stage__in=(Rotation.Stage.PUBLISHED, Rotation.Stage.PROMOTED)
    ).first()


def rotation_json(rotation: Rotation) -> dict[str, Any]:
    return {
        "id": rotation.pk,
        "set_id": rotation.set_id,
        "next_kid": rotation.next_kid,
        "algorithm": rotation.algorithm,
        "old_kids": rotation.old_kids,
        "stage": rotation.stage,
        "cache_window_seconds": rotation.cache_window_seconds,
        "published_at": rotation.published_at,
        "promote_after": promote_after(rotation),
        "promoted_at": rotation.promoted_at,
        "retire_after": rotation.retire_after,
        "finished_at": rotation.finished_at,
        "next_step": next_step(rotation),
    }


def promote_after(rotation: Rotation) -> datetime:
    return rotation.published_at + timedelta(seconds=rotation.cache_window_seconds)


def next_step(rotation: Rotation) -> str:
    now = timezone.now()
    if rotation.stage == Rotation.Stage.PUBLISHED:
        when = promote_after(rotation)
        wait = "now" if now >= when else f"after {when:%Y-%m-%d %H:%M:%S %Z}"
        return (
            f"Promote {wait}: {rotation.next_kid} starts signing; until then it is only published so that "
            "relying parties' cached JWKS already contain it."
        )
    if rotation.stage == Rotation.Stage.PROMOTED and rotation.retire_after:
        wait = (
            "now" if now >= rotation.retire_after else f"after {rotation.retire_after:%Y-%m-%d %H:%M:%S %Z}"
        )
        return (
            f"Retire {wait}: the old key(s) {', '.join(rotation.old_kids)} leave the JWKS once every token they "
            "signed has expired."
        )
    return "Nothing: this rotation is finished."


def validate_rotation(data: dict[str, Any]) -> tuple[str, str, int]:
    rotation = validated(RotationIn, data, _ROTATION_HELP)
    return rotation.set_id, rotation.algorithm, rotation.cache_window_seconds


def start_rotation(request: HttpRequest, data: dict[str, Any]) -> Rotation:
    """Stage 1 — publish: generate the next key into a holding set (private half stays in Hydra, unpublished)
    and put only its public half into the signing set, where Hydra publishes it but cannot sign with it."""
    with audit.mutation(
        request, Action.KEY_ROTATION_START, _tenant(request), str(data.get("set_id") or "")[:200]
    ) as event:
        require_platform_admin_in(request, event)
        set_id, algorithm, window = validate_rotation(data)
        if open_rotation(set_id) is not None:
            raise KeyConflict(f"A rotation of {set_id} is already under way: finish or cancel it first.")
        current = key_set(set_id)
        old = [k.kid for k in current.keys if k.has_private]
        kid = str(uuid.uuid4())
        holding = f"{HOLDING_PREFIX}{set_id}.{kid[:8]}"
        hydra.create_jwk_set(holding, alg=algorithm, use="sig", kid=kid)
        hydra.publish_public_half(holding, kid, set_id)
        KeyRecord.objects.create(
            set_id=set_id, kid=kid, algorithm=algorithm, use="sig", created_by=_actor(request)
        )
        rotation = Rotation.objects.create(
            set_id=set_id,
            holding_set=holding,
            next_kid=kid,
            algorithm=algorithm,
            old_kids=old,
            cache_window_seconds=window,
            published_at=timezone.now(),
            created_by=_actor(request),
        )
        event.success(
            target=f"{set_id}/{kid}",
            after={
                "stage": "published",
                "next_kid": kid,
                "old_kids": old,
                "algorithm": algorithm,
                "cache_window_seconds": window,
            },
        )
    return rotation


def _rotation(rotation_id: int) -> Rotation:
    rotation = Rotation.objects.filter(pk=rotation_id).first()
    if rotation is None:
        raise hydra.HydraNotFound(404, description="No such rotation.")
    return rotation


def promote(request: HttpRequest, rotation_id: int, *, force: bool = False) -> Rotation:
    """Stage 2 — promote: copy the whole key into the signing set (Hydra's PUT makes it the newest row, so the
    one Hydra signs with). Refused before the cache window has passed unless forced."""
    with audit.mutation(
        request, Action.KEY_ROTATION_PROMOTE, _tenant(request), f"rotation:{rotation_id}"
    ) as event:
        require_platform_admin_in(request, event)
        rotation = _rotation(rotation_id)
        event.target = f"{rotation.set_id}/{rotation.next_kid}"
        if rotation.stage != Rotation.Stage.PUBLISHED:
            raise KeyConflict(f"This rotation is {rotation.stage}; only a published key can be promoted.")
        if timezone.now() < promote_after(rotation) and not force:
            raise KeyConflict(
                f"The cache window runs until {promote_after(rotation):%Y-%m-%d %H:%M:%S %Z}: relying "
                "parties may not have fetched the new key yet. Wait, or force it."
            )
        hydra.promote_key(rotation.holding_set, rotation.next_kid, rotation.set_id)
        if not _signs(rotation.set_id, rotation.next_kid):
            # created_at has second resolution: a tie with an old key leaves the order undefined. Re-insert.
            time.sleep(1.1)
            hydra.promote_key(rotation.holding_set, rotation.next_kid, rotation.set_id)
        if not _signs(rotation.set_id, rotation.next_kid):
            raise KeyConflict("Hydra did not pick the promoted key for signing; nothing else was changed.")
        hydra.delete_jwk_set(rotation.holding_set)
        lifespan = longest_lifespan(rotation.set_id)
        now = timezone.now()
        rotation.stage, rotation.promoted_at = Rotation.Stage.PROMOTED, now
        rotation.retire_after = now + timedelta(seconds=lifespan.seconds)
        rotation.save()
        event.success(
            after={
                "stage": "promoted",
                "forced": force,
                "retire_after": rotation.retire_after,
                "longest_lifespan": lifespan.seconds,
            }
        )
    return rotation


def _signs(set_id: str, kid: str) -> bool:
    view = key_set(set_id)
    return view.signer is not None and view.signer.kid == kid


def retire(request: HttpRequest, rotation_id: int, *, force: bool = False) -> Rotation:
    """Stage 3 — retire: delete the old keys once every token they signed has expired (unless forced)."""
    with audit.mutation(
        request, Action.KEY_ROTATION_RETIRE, _tenant(request), f"rotation:{rotation_id}"
    ) as event:
        require_platform_admin_in(request, event)
        rotation = _rotation(rotation_id)
        event.target = f"{rotation.set_id}/{','.join(rotation.old_kids)}"
        if rotation.stage != Rotation.Stage.PROMOTED or rotation.retire_after is None:
            raise KeyConflict(
                f"This rotation is {rotation.stage}; only after promotion can old keys be retired."
            )
        if timezone.now() < rotation.retire_after and not force:
            raise KeyConflict(
                f"Tokens signed by the old key may live until {rotation.retire_after:%Y-%m-%d %H:%M:%S %Z}. "
                "Wait, or force it (those tokens then fail verification)."
            )
        present = {k.kid for k in key_set(rotation.set_id).keys}
        for kid in rotation.old_kids:
            if kid in present and kid != rotation.next_kid:
                hydra.delete_jwk(rotation.set_id, kid)
        KeyRecord.objects.filter(set_id=rotation.set_id, kid__in=rotation.old_kids).delete()
        rotation.stage, rotation.finished_at = Rotation.Stage.RETIRED, timezone.now()
        rotation.save()
        event.success(after={"stage": "retired", "forced": force, "removed": rotation.old_kids})
    return rotation


def cancel(request: HttpRequest, rotation_id: int) -> Rotation:
    """Withdraw a published (not yet signing) key: its public half leaves the JWKS, the holding set goes."""
    with audit.mutation(
        request, Action.KEY_ROTATION_CANCEL, _tenant(request), f"rotation:{rotation_id}"
    ) as event:
        require_platform_admin_in(request, event)
        rotation = _rotation(rotation_id)
        event.target = f"{rotation.set_id}/{rotation.next_kid}"
        if rotation.stage != Rotation.Stage.PUBLISHED:
            raise KeyConflict("Only a rotation whose key is not signing yet can be cancelled.")
        with contextlib.suppress(hydra.HydraNotFound):
            hydra.delete_jwk(rotation.set_id, rotation.next_kid)
        with contextlib.suppress(hydra.HydraNotFound):
            hydra.delete_jwk_set(rotation.holding_set)
        KeyRecord.objects.filter(set_id=rotation.set_id, kid=rotation.next_kid).delete()
        rotation.stage, rotation.finished_at = Rotation.Stage.CANCELLED, timezone.now()
        rotation.save()
        event.success(after={"stage": "cancelled"})
    return rotation


def rotations(limit: int = 20) -> list[Rotation]:
    return list(Rotation.objects.all()[:limit])
