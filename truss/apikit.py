"""What every API router shares: the two authentications, role checks, the error body and its schema, the
one JSON body parser, the audit marker for write operations and the documented error statuses.

Routers import this, never truss.api (which imports every router to mount it).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Schema
from ninja.decorators import decorate_view
from ninja.errors import AuthorizationError
from ninja.parser import Parser
from ninja.security import APIKeyHeader, SessionAuth

from truss import apikeys, audit, tenancy
from truss.models import ApiKeyRole, AuditEvent, Role, Tenant

F = TypeVar("F", bound=Callable[..., Any])


class TenantSession(SessionAuth):
    """A logged-in operator acting for their current tenant (CSRF is enforced for unsafe methods).

    `minimum` makes the role part of authentication, so a viewer's write is refused (and audited as denied)
    before its body is even parsed."""

    def __init__(self, minimum: str | None = None) -> None:
        super().__init__()
        self.minimum = minimum

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if not user:
            return None
        resolved = tenancy.resolve(request)
        if resolved is None:
            raise AuthorizationError(message="You are not a member of any tenant.")
        request.tenant, request.role = resolved  # type: ignore[attr-defined]
        if self.minimum is not None:
            require_role(request, self.minimum)
        return user


class TenantApiKey(APIKeyHeader):
    """`apikey: truss_sk_…`, as in the guide. Any role may read; `roles` narrows it."""

    param_name = "apikey"

    def __init__(self, roles: tuple[str, ...] = (ApiKeyRole.SERVICE_ROLE, ApiKeyRole.ANON)) -> None:
        super().__init__()
        self.roles = roles

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        api_key = apikeys.authenticate(key)
        if api_key is None:
            return None  # 401
        # Known before the role check, so a denied attempt is audited with its actor and tenant.
        request.api_key = api_key  # type: ignore[attr-defined]
        request.tenant = api_key.tenant  # type: ignore[attr-defined]
        if api_key.role not in self.roles:
            raise AuthorizationError(message=f"This endpoint needs a {' or '.join(self.roles)} API key.")
        return api_key


session_auth = TenantSession()
member_session = TenantSession(minimum=Role.MEMBER)
any_key = TenantApiKey()
service_key = TenantApiKey(roles=(ApiKeyRole.SERVICE_ROLE,))


def require_role(request: HttpRequest, minimum: str = Role.MEMBER) -> None:
    """For session-authenticated mutations: API keys carry their own role check."""
    role = getattr(request, "role", None)
    if role is not None and not tenancy.role_at_least(role, minimum):
        raise AuthorizationError(message=f"This needs the {minimum} role.")


def json_response(data: Any, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, encoder=DjangoJSONEncoder, safe=False)


def error(request: HttpRequest, status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    """The one error body: `{"error": code, "message": text, "fields": {...}?}`."""
    return json_response({"error": code, "message": message, **extra}, status=status)


class ErrorOut(Schema):
    """Every error answer: a machine-readable code, a sentence for people, and per-field messages for 400s."""

    error: str
    message: str
    fields: dict[str, list[str]] | None = None


def tenant_of(request: HttpRequest) -> Tenant:
    """The tenant the auth class resolved for this request (session or API key)."""
    tenant: Tenant = request.tenant  # type: ignore[attr-defined]
    return tenant


# --- documented answers ----------------------------------------------------------------------------------------

# What every operation behind a credential can answer besides its success, and what every Ory call adds.
AUTH_ERRORS = (401, 403)
UPSTREAM_ERRORS = (502, 503)


def answers(success: dict[int, Any], *errors: int | Iterable[int]) -> dict[int, Any]:
    """A `response=` mapping: the success schema(s) plus ErrorOut for each error status the operation can give,
    so the OpenAPI document lists every answer (checked by tests/project/test_openapi.py and schemathesis)."""
    codes: set[int] = set()
    for item in errors:
        codes.update([item] if isinstance(item, int) else item)
    return {**success, **dict.fromkeys(sorted(codes), ErrorOut)}


def no_store(response: HttpResponse) -> HttpResponse:
    """For every answer that carries a secret or key material: never kept by a browser or proxy cache."""
    response["Cache-Control"] = "no-store"
    return response


# --- audit of refused writes ---------------------------------------------------------------------------------


def audited(action: str) -> Callable[[F], F]:
    """Marks a write operation with its audit action. Services audit what reaches them; this lets the API's
    shared handlers audit what never does (unparseable or invalid body, denied role), one event each."""

    def mark(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(run)
        def marked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request.audit_action = action  # type: ignore[attr-defined]
            return run(request, *args, **kwargs)

        return marked

    # decorate_view wraps the whole operation (auth and body validation included), not just the view.
    return decorate_view(mark)


def audit_refusal(request: HttpRequest, detail: str, *, outcome: str = AuditEvent.Outcome.FAILURE) -> None:
    """Record the one event for a marked write refused before its service ran; reads are not audited."""
    action = getattr(request, "audit_action", None)
    if not action:
        return
    request.audit_action = None  # type: ignore[attr-defined]  # once per request
    target = ""
    resolver = getattr(request, "resolver_match", None)
    if resolver is not None:
        target = str(resolver.kwargs.get("client_id", ""))
    audit.record(request, action, tenant=getattr(request, "tenant", None), target=target, outcome=outcome,
                 detail=detail)  # fmt: skip


# --- the one JSON body parser ----------------------------------------------------------------------------------

MAX_JSON_DEPTH = 32


class BadBody(Exception):
    """The request body cannot be used: too large, not JSON, non-standard JSON, or nested too deep."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _refuse_constant(name: str) -> Any:
    # Python's json accepts NaN/Infinity; JSON (RFC 8259) does not, and Hydra cannot store them.
    raise BadBody(f"The request body is not valid JSON: {name} is not a JSON number.")


def _depth_within(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:  # iterative: the check itself must not recurse
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return True


def parse_json_body(raw: bytes) -> Any:
    """Every JSON request body goes through here (ninja's parser and any view reading a body)."""
    if len(raw) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise BadBody(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KB.")
    try:
        value = json.loads(raw or b"null", parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise BadBody(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody(f"The request body is not valid JSON: {exc}.") from exc
    if not _depth_within(value, MAX_JSON_DEPTH):
        raise BadBody(f"The request body nests deeper than {MAX_JSON_DEPTH} levels.")
    if b"\\u0000" in raw and _has_nul(value):  # JSON can only carry a NUL escaped
        raise BadBody("The request body contains a NUL character (\\u0000), which cannot be stored.")
    return value


def _has_nul(value: Any) -> bool:
    # PostgreSQL (Truss's, Hydra's and Kratos's) refuses NUL in text and jsonb, as Django's forms do.
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class JsonParser(Parser):
    """ninja's body parser for the whole API. ninja wraps any error into HttpError(400) `from` it, so the
    HttpError handler finds the BadBody (and its message) in `__cause__`."""

    def parse_body(self, request: HttpRequest) -> Any:
        return parse_json_body(request.body)
