"""What every API router shares: the two authentications, role checks, the error body and its schema, the
one JSON body parser, the audit marker for write operations and the documented error statuses.

Routers import this, never truss.api (which imports every router to mount it).
"""

from __future__ import annotations

import functools
import json
import math
import typing
from collections.abc import Callable, Iterable
from typing import Annotated, Any, TypeVar

import pydantic
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.decorators import decorate_view
from ninja.errors import AuthorizationError
from ninja.operation import Operation
from ninja.params.models import BodyModel
from ninja.parser import Parser
from ninja.security import APIKeyHeader, SessionAuth
from pydantic import BaseModel, BeforeValidator

from truss import apikeys, audit, tenancy
from truss.models import ApiKeyRole, AuditEvent, Role, Tenant

F = TypeVar("F", bound=Callable[..., Any])


class TenantSession(SessionAuth):
    """A logged-in operator acting for their current tenant (CSRF is enforced for unsafe methods).

    `minimum` (a tenant role) and `platform` (platform admins only) make the permission part of authentication,
    so a write by someone who may not make it is refused (and audited as denied) before its body is even read."""

    def __init__(self, minimum: str | None = None, *, platform: bool = False) -> None:
        super().__init__()
        self.minimum = minimum
        self.platform = platform

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
        if self.platform and not user.is_superuser:
            raise AuthorizationError(message="This affects every tenant: platform admins only.")
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
platform_session = TenantSession(platform=True)
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


# --- strict booleans -------------------------------------------------------------------------------------------

# A JSON body's boolean is `true` or `false`, never "yes", 1 or "true" (pydantic's lax mode would take them):
# `StrictBool` for a field of a body schema, or `strict=True` in the model's config.
StrictBool = pydantic.StrictBool


def _query_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("must be true or false")


# A query parameter's boolean: the text `true` or `false`, nothing else ("1", "yes", "on" are refused).
QueryBool = Annotated[bool, BeforeValidator(_query_bool), pydantic.Strict()]


def _json_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# A JSON body's integer as JSON Schema counts them: 3 and 3.0, never "3", 3.5 or true.
JsonInt = Annotated[int, BeforeValidator(_json_int), pydantic.Strict()]


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
    audit.record(
        request,
        action,
        tenant=getattr(request, "tenant", None),
        target=target,
        outcome=outcome,
        detail=detail,
    )


# --- the one JSON body parser ----------------------------------------------------------------------------------

MAX_JSON_DEPTH = 32
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BadBody(Exception):
    """The request body cannot be used: too large (413), not JSON by its content type (415), or not JSON, not
    standard JSON, nested too deep or not storable (400)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class _NotANumber(ValueError):
    """NaN, Infinity or a number too large for a double: Python's json reads them, JSON (RFC 8259), Hydra and
    PostgreSQL's jsonb do not."""


def _refuse_constant(name: str) -> Any:
    raise _NotANumber(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotANumber(f"{text[:20]} is too large for a JSON number")
    return value


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


def _size_limit(what: str) -> BadBody:
    return BadBody(f"{what} is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KB.", status=413)


def parse_json_body(raw: bytes) -> Any:
    """Every JSON request body goes through here (`json_body` for a request, ninja's parser and the views)."""
    return _parse_json(raw, "The request body")


def parse_json_text(text: str) -> Any:
    """JSON text inside a value (a form field, a key pasted as text): the same checks as a request body."""
    try:
        raw = text.encode()
    except UnicodeEncodeError as exc:  # a lone surrogate, e.g. from a "\\ud800" escape in the outer body
        raise BadBody("The JSON text is not valid Unicode.") from exc
    return _parse_json(raw, "The JSON text")


def _parse_json(raw: bytes, what: str) -> Any:
    if len(raw) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise _size_limit(what)
    try:
        value = json.loads(raw or b"null", parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise BadBody(f"{what} nests deeper than {MAX_JSON_DEPTH} levels.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadBody(f"{what} is not valid JSON: {exc}.") from exc
    if not _depth_within(value, MAX_JSON_DEPTH):
        raise BadBody(f"{what} nests deeper than {MAX_JSON_DEPTH} levels.")
    if b"\\u" in raw:  # JSON can carry a NUL or a lone surrogate only escaped
        problem = _unstorable_text(value)
        if problem:
            raise BadBody(f"{what} contains {problem}, which cannot be stored.")
    return value


def _unstorable_text(value: Any) -> str | None:
    # PostgreSQL (Truss's, Hydra's and Kratos's) refuses NUL in text and jsonb, as Django's forms do; a lone
    # surrogate half is not Unicode text at all (it cannot be encoded as UTF-8).
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "a NUL character (\\u0000)"
            try:
                item.encode()
            except UnicodeEncodeError:
                return "a lone surrogate (\\ud800-\\udfff)"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


# --- JSON requests ---------------------------------------------------------------------------------------------


def is_json_media_type(request: HttpRequest) -> bool:
    """`application/json` or a JSON-based `application/…+json` type (JSON Patch), in UTF-8."""
    media = (request.content_type or "").lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        return False
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    return charset in ("utf-8", "utf8")


def has_body(request: HttpRequest) -> bool:
    """Whether the request carries a body, known without reading it (Django reads Content-Length bytes)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > 0
    except ValueError:
        return False


_NO_BODY = object()


def json_body(request: HttpRequest) -> Any:
    """The request's JSON body (None without one) through the one parser, read once per request. Its content type
    is checked before the body is read: a form or multipart body is 415 whatever it contains."""
    cached = getattr(request, "_truss_json_body", _NO_BODY)
    if cached is not _NO_BODY:
        return cached
    value = None
    if has_body(request):
        if not is_json_media_type(request):
            raise BadBody("Send the request body as JSON, with Content-Type: application/json.", status=415)
        if int(request.META["CONTENT_LENGTH"]) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise _size_limit("The request body")
        value = parse_json_body(request.body)
    request._truss_json_body = value  # type: ignore[attr-defined]
    return value


def json_object(request: HttpRequest, *, empty: dict[str, Any] | None = None) -> dict[str, Any]:
    """The request's JSON body, which must be an object; `empty` is the value of a missing body (else 400)."""
    value = json_body(request)
    if value is None and empty is not None and not has_body(request):
        return dict(empty)
    if not isinstance(value, dict):
        raise BadBody("Expected a JSON object.")
    return value


class JsonParser(Parser):
    """ninja's body parser for the whole API. ninja wraps any error into HttpError(400) `from` it, so the
    HttpError handler finds the BadBody (and its message and status) in `__cause__`."""

    def parse_body(self, request: HttpRequest) -> Any:
        return json_body(request)


def guard_bodies(api: NinjaAPI) -> None:
    """After every router is added: each write operation documents the answers to a bad body (400, 413, 415),
    its body is read by `json_body` before the view runs, must have the top-level JSON type the operation
    declares (ninja's Schema would take `[]` or `"x"` as an object of defaults), and an operation that declares
    no body refuses one rather than ignoring it. A body is declared by a ninja body parameter or by
    `openapi_extra={"requestBody": …}`."""
    for bound in api._get_bound_routers():
        for path_view in bound.path_operations.values():
            for operation in path_view.operations:
                if not WRITE_METHODS.intersection(operation.methods):
                    continue
                if len(operation.response_models) < 2:  # ninja would no longer imply the success status
                    raise ImproperlyConfigured(f"{operation.methods} {operation.path}: document its answers.")
                for status in (400, 413, 415):
                    operation.response_models.setdefault(status, operation._create_response_model(ErrorOut))
                operation.view_func = _checks_body(operation.view_func, _declared_body(operation))


def _declared_body(operation: Operation) -> type | None:
    """The JSON type the operation's body must have at its top level: dict, list, object (any) or None (none)."""
    declared = (operation.openapi_extra or {}).get("requestBody")
    if declared is not None:
        schema = declared.get("content", {}).get("application/json", {}).get("schema", {})
        return {"object": dict, "array": list}.get(schema.get("type"), object)
    for model in operation.models:
        if issubclass(model, BodyModel):
            fields = list(model.model_fields.values())
            if len(fields) != 1:
                return dict  # several body parameters: one object holding each
            annotation = fields[0].annotation
            origin = typing.get_origin(annotation) or annotation
            if isinstance(origin, type) and issubclass(origin, BaseModel | dict):
                return dict
            return list if isinstance(origin, type) and issubclass(origin, list) else object
    return None


def _checks_body(view: Callable[..., Any], declared: type | None) -> Callable[..., Any]:
    @functools.wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        value = json_body(request)
        if has_body(request):
            if declared is None and value != {}:
                raise BadBody("This operation takes no request body (an empty object at most).")
            if declared in (dict, list) and not isinstance(value, declared):
                raise BadBody(f"Expected a JSON {'object' if declared is dict else 'array'}.")
        return view(request, *args, **kwargs)

    return checked
