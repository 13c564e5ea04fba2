"""HTTP plumbing shared by the Hydra and Kratos clients.

One pooled keep-alive ``requests.Session`` per thread, a default timeout on every request, retries for
idempotent reads only, and a single place that turns HTTP outcomes into a per-service exception family. Every
call carries the current request's ``X-Request-ID`` and is counted and timed (``truss.metrics``).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from types import FrameType, TracebackType
from typing import Annotated, Any, ClassVar, Self, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import requests
from django.conf import settings
from pydantic import BaseModel, BeforeValidator, ConfigDict, TypeAdapter, ValidationError
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import ConnectionPool
from urllib3.exceptions import ReadTimeoutError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from truss import logs, metrics

log = logging.getLogger("truss.ory")

USER_AGENT = "truss/0.1"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD"})
RETRY_STATUSES = frozenset({502, 503, 504})
# Used only if something calls the session without going through request(): never wait forever.
FALLBACK_TIMEOUT = 5.0
# Ory runs next to us; if a TCP connect takes longer than this the service is down. 3.05 s sits just past
# the 3 s TCP retransmission window, as the requests docs recommend.
CONNECT_TIMEOUT_CAP = 3.05
# Upstream error texts are shown in the UI; a runaway description must not flood a page.
MAX_DESCRIPTION = 500

M = TypeVar("M", bound=BaseModel)


# --- Exceptions -------------------------------------------------------------------------------------------


class OryError(Exception):
    """Base of every Hydra/Kratos error. Subclasses set ``service``; the family subclasses set ``summary``."""

    service: ClassVar[str] = "Ory"
    summary: ClassVar[str] = "request failed"

    def __init__(
        self,
        status: int | None = None,
        error: str | None = None,
        description: str | None = None,
        *,
        redirect_to: str | None = None,
        use_flow_id: str | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.description = description
        # Where the browser should go next, when the upstream said so (Hydra 410, Kratos 403/410/422).
        self.redirect_to = redirect_to
        # Kratos: the flow that replaced an expired or replaced one.
        self.use_flow_id = use_flow_id
        super().__init__(self._message())

    def _message(self) -> str:
        text = f"{self.service}: {self.summary}"
        if self.status is not None:
            text += f" ({self.status})"
        if self.error:
            text += f": {self.error}"
        if self.description:
            text += f" – {self.description}"
        return text

    def __str__(self) -> str:
        return self._message()


class OryNotFound(OryError):
    summary = "not found"


class OryConflict(OryError):
    summary = "conflict"


class OryGone(OryError):
    summary = "gone"


class OryBadRequest(OryError):
    summary = "bad request"


class OryUnauthorized(OryError):
    summary = "unauthorized"


class OryForbidden(OryError):
    summary = "forbidden"


class OryUnavailable(OryError):
    summary = "unavailable"


@dataclass(frozen=True)
class ErrorFamily:
    """The concrete exception classes one service raises (e.g. HydraNotFound, HydraConflict …)."""

    base: type[OryError]
    not_found: type[OryNotFound]
    conflict: type[OryConflict]
    gone: type[OryGone]
    bad_request: type[OryBadRequest]
    unauthorized: type[OryUnauthorized]
    forbidden: type[OryForbidden]
    unavailable: type[OryUnavailable]

    def for_status(self, status: int) -> type[OryError]:
        if status >= 500:
            return self.unavailable
        by_status: dict[int, type[OryError]] = {
            400: self.bad_request,
            401: self.unauthorized,
            403: self.forbidden,
            404: self.not_found,
            409: self.conflict,
            410: self.gone,
            422: self.bad_request,
        }
        return by_status.get(status, self.base)


@dataclass(frozen=True)
class Service:
    """Which settings a service reads (at call time, so tests can override them) and what it raises."""

    name: str
    errors: ErrorFamily
    admin_url_setting: str
    public_url_setting: str
    timeout_setting: str

    def timeout(self) -> tuple[float, float]:
        seconds = float(getattr(settings, self.timeout_setting, FALLBACK_TIMEOUT) or FALLBACK_TIMEOUT)
        return (min(seconds, CONNECT_TIMEOUT_CAP), seconds)

    def admin_url(self, path: str) -> str:
        return self._url(self.admin_url_setting, path)

    def public_url(self, path: str) -> str:
        return self._url(self.public_url_setting, path)

    def _url(self, setting: str, path: str) -> str:
        base = str(getattr(settings, setting, "") or "").rstrip("/")
        if not base:
            raise self.errors.unavailable(description=f"{setting} is not configured")
        return base + path


def segment(value: str) -> str:
    """Quote one path segment (client ids and key set names may contain '/' or '?')."""
    return quote(value, safe="")


# --- Session ----------------------------------------------------------------------------------------------


class _IdempotentOnlyRetry(Retry):
    """urllib3 retries connection errors for *every* method; writes must never be replayed, so refuse.

    Read timeouts are not retried either: the server is busy with the request, and replaying it only
    multiplies latency and load.
    """

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: ConnectionPool | None = None,
        _stacktrace: TracebackType | None = None,
    ) -> Self:
        if isinstance(error, ReadTimeoutError):
            # Re-raised as-is, like urllib3 does for non-retryable read errors: requests maps it to ReadTimeout.
            raise error.with_traceback(_stacktrace)
        idempotent = method is not None and method.upper() in IDEMPOTENT_METHODS
        if error is not None and not idempotent:
            # An exhausted budget makes urllib3 raise the way requests expects (MaxRetryError or the error).
            return Retry.increment(self.new(total=0), method, url, response, error, _pool, _stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


def _retry_policy() -> Retry:
    return _IdempotentOnlyRetry(
        total=2,
        connect=2,
        read=2,
        status=2,
        other=0,
        redirect=0,
        allowed_methods=IDEMPOTENT_METHODS,
        status_forcelist=RETRY_STATUSES,
        backoff_factor=0.1,
        # Hand back the last 5xx response instead of raising, so its body can be mapped like any other.
        raise_on_status=False,
        # A Retry-After of minutes would stall a page render; our own short backoff is enough.
        respect_retry_after_header=False,
    )


class _TimeoutAdapter(HTTPAdapter):
    """Pooled adapter that never sends without a timeout."""

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        if timeout is None:
            timeout = (min(FALLBACK_TIMEOUT, CONNECT_TIMEOUT_CAP), FALLBACK_TIMEOUT)
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies
        )


def _build_session() -> requests.Session:
    session = requests.Session()
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    # The session is shared by all users served by this thread: never remember a cookie that Kratos sets
    # (whoami refreshes, CSRF cookies), or it would be sent along with the next user's request.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    adapter = _TimeoutAdapter(pool_connections=4, pool_maxsize=4, max_retries=_retry_policy())
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # requests re-reads the proxy variables, NO_PROXY and ~/.netrc on every call when trust_env is on (a
    # sizeable part of a fast Hydra call: bench/RESULTS.md, introspection). The environment does not change
    # while the process runs, so it is read once per origin instead (`_environment_for`), with the same outcome.
    session.trust_env = False
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return session


@functools.lru_cache(maxsize=32)
def _environment_for(origin: str) -> tuple[dict[str, str], tuple[str, str] | None]:
    """What requests' trust_env would add for this scheme://host:port: proxies (NO_PROXY honoured) and .netrc
    credentials."""
    proxies = requests.utils.get_environ_proxies(origin)
    return proxies, requests.utils.get_netrc_auth(origin)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


_local = threading.local()


def session() -> requests.Session:
    """This thread's session (requests.Session is not thread-safe; a pool per thread keeps connections warm)."""
    current: requests.Session | None = getattr(_local, "session", None)
    if current is None:
        current = _build_session()
        _local.session = current
    return current


# --- Time spent waiting on Hydra/Kratos (Server-Timing, metrics) ------------------------------------------

# The (start, end) of every upstream call made for the current request (truss.middleware.RequestIdMiddleware
# sets it for every request: metrics and Server-Timing). A contextvar, so calls made on a thread pool on the
# request's behalf (copied contexts) count too.
upstream_calls: contextvars.ContextVar[list[tuple[float, float]] | None] = contextvars.ContextVar(
    "truss_upstream_calls", default=None
)


def upstream_wall_ms(calls: list[tuple[float, float]]) -> float:
    """Wall time covered by the calls (overlapping concurrent calls count once), in ms."""
    total, end = 0.0, float("-inf")
    for start, stop in sorted(calls):
        if stop <= end:
            continue
        total += stop - max(start, end)
        end = stop
    return total * 1000


# --- Which operation a call is (metrics) -------------------------------------------------------------------

_CLIENT_MODULES = frozenset({"truss.ory.hydra", "truss.ory.kratos"})


def operation() -> str:
    """The public ``truss.ory.hydra``/``kratos`` function this call is made for (``get_login_request``,
    ``whoami``): the nearest such caller on the stack, skipping private helpers (``_json``) and this module.
    A name from the code, never from input, so the metrics' ``operation`` label stays bounded; ``other`` when
    the call came from elsewhere."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") in _CLIENT_MODULES:
            name = frame.f_code.co_name
            if not name.startswith(("_", "<")):
                return name
        frame = frame.f_back
    return metrics.OTHER


# --- Requests and error mapping ---------------------------------------------------------------------------

ErrorHook = Callable[[int, Any], OryError | None]


@dataclass(frozen=True)
class ErrorDetails:
    error: str | None = None
    description: str | None = None
    redirect_to: str | None = None
    use_flow_id: str | None = None


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value[:MAX_DESCRIPTION]
    return None


def error_details(body: Any) -> ErrorDetails:
    """Read the documented error fields from Hydra's or Kratos's error bodies, and nothing else.

    Hydra:  {"error": "invalid_request", "error_description": "…"} and, on 410, {"redirect_to": "…"}.
    Kratos: {"error": {"id", "code", "status", "reason", "message", "details": {"redirect_to"}},
             "redirect_browser_to": "…", "use_flow_id": "…"}.
    """
    if not isinstance(body, Mapping):
        return ErrorDetails()
    raw_error = body.get("error")
    redirect_to = _text(body.get("redirect_to")) or _text(body.get("redirect_browser_to"))
    if isinstance(raw_error, Mapping):
        details = raw_error.get("details")
        if redirect_to is None and isinstance(details, Mapping):
            redirect_to = _text(details.get("redirect_to"))
        return ErrorDetails(
            error=_text(raw_error.get("id")) or _text(raw_error.get("status")),
            description=_text(raw_error.get("reason")) or _text(raw_error.get("message")),
            redirect_to=redirect_to,
            use_flow_id=_text(body.get("use_flow_id")),
        )
    return ErrorDetails(
        error=_text(raw_error),
        description=_text(body.get("error_description")),
        redirect_to=redirect_to,
        use_flow_id=_text(body.get("use_flow_id")),
    )


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _path(url: str) -> str:
    # Log the path only: query strings carry challenges and logout tokens.
    return urlsplit(url).path


def request(
    service: Service,
    method: str,
    url: str,
    *,
    params: Mapping[str, str | int] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    allow_redirect_status: bool = False,
    on_error: ErrorHook | None = None,
    timeout: float | None = None,
) -> requests.Response:
    """Send one request and return the 2xx response, or raise the service's exception for the outcome.

    ``on_error`` may build a more specific exception from (status, parsed body); returning None falls back
    to the status mapping. Redirects are never followed: these are API calls, a 3xx is unexpected unless
    ``allow_redirect_status`` says otherwise (Kratos's browser logout answers 303).
    """
    errors = service.errors
    calls = upstream_calls.get()
    proxies, netrc_auth = _environment_for(_origin(url))
    rid = logs.request_id.get()
    if rid:  # Hydra's and Kratos's logs then name the request that caused the call
        headers = {**headers, "X-Request-ID": rid} if headers else {"X-Request-ID": rid}
    outcome = "error"
    started = time.perf_counter()
    try:
        response = session().request(
            method,
            url,
            params=params,
            json=json,
            data=data,
            headers=headers,
            auth=auth or netrc_auth,
            proxies=proxies,
            timeout=timeout or service.timeout(),  # longer for slow work (4096-bit RSA key generation)
            allow_redirects=False,
        )
        outcome = str(response.status_code)
    except requests.Timeout as exc:
        outcome = "timeout"
        metrics.upstream_unavailable(service.name, "timeout")
        log.warning("%s %s %s timed out", service.name, method, _path(url))
        raise errors.unavailable(description="timed out") from exc
    except requests.ConnectionError as exc:
        outcome = "connection_error"
        metrics.upstream_unavailable(service.name, "connection")
        # The type only: the exception text repeats the whole URL, query (challenges, tokens) included.
        log.warning("%s %s %s connection failed: %s", service.name, method, _path(url), type(exc).__name__)
        raise errors.unavailable(description="connection failed") from exc
    except requests.RequestException as exc:
        raise errors.base(description="request failed") from exc
    finally:
        ended = time.perf_counter()
        if calls is not None:
            calls.append((started, ended))
        metrics.upstream_call(service.name, operation(), outcome, ended - started)

    status = response.status_code
    if 200 <= status < 300 or (allow_redirect_status and 300 <= status < 400):
        return response
    if 300 <= status < 400:
        raise errors.base(status, description="unexpected redirect")

    if status >= 500:
        metrics.upstream_unavailable(service.name, "server_error")
    body = _json_or_none(response)
    if on_error is not None:
        custom = on_error(status, body)
        if custom is not None:
            raise custom
    info = error_details(body)
    if status >= 500:
        log.warning("%s %s %s answered %s", service.name, method, _path(url), status)
    raise errors.for_status(status)(
        status, info.error, info.description, redirect_to=info.redirect_to, use_flow_id=info.use_flow_id
    )


def json_body(service: Service, response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise service.errors.base(response.status_code, "invalid_response", "response is not JSON") from exc


def request_json(service: Service, method: str, url: str, **kwargs: Any) -> Any:
    """request() for endpoints that answer with a JSON body."""
    return json_body(service, request(service, method, url, **kwargs))


def is_ready(service: Service, path: str = "/health/ready") -> bool:
    """GET {admin}{path}: False instead of raising, for health pages."""
    try:
        request(service, "GET", service.admin_url(path))
    except OryError:
        return False
    return True


def get_version(service: Service, path: str = "/version") -> str:
    """GET {admin}{path} -> {"version": "v2.3.0"}."""
    data = request_json(service, "GET", service.admin_url(path))
    version = data.get("version") if isinstance(data, Mapping) else None
    if not isinstance(version, str):
        raise service.errors.base(None, "invalid_response", "version missing from /version")
    return version


def parse(service: Service, model: type[M], data: Any) -> M:
    """Validate upstream JSON into a model; a shape mismatch is the upstream's fault, not the caller's."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise service.errors.base(None, "invalid_response", f"unexpected {model.__name__} shape") from exc


@functools.cache
def _list_adapter(model: type[M]) -> TypeAdapter[list[M]]:
    # Building the adapter compiles a validator: once per model instead of once per list call.
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def parse_list_response(service: Service, model: type[M], response: requests.Response) -> list[M]:
    """parse_list straight from the body's bytes: pydantic reads the JSON itself (one pass, in Rust), instead of
    json.loads building Python objects first; ~3× cheaper for a page of 25 clients."""
    if response.content.strip() in (b"", b"null"):  # Go encodes an empty slice as null in a few handlers
        return []
    try:
        return _list_adapter(model).validate_json(response.content)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise service.errors.base(
                response.status_code, "invalid_response", "response is not JSON"
            ) from exc
        raise service.errors.base(
            None, "invalid_response", f"unexpected {model.__name__} list shape"
        ) from exc


def parse_list(service: Service, model: type[M], data: Any) -> list[M]:
    if data is None:  # Go encodes an empty slice as null in a few handlers
        return []
    try:
        return _list_adapter(model).validate_python(data)
    except ValidationError as exc:
        raise service.errors.base(
            None, "invalid_response", f"unexpected {model.__name__} list shape"
        ) from exc


def next_page_token(response: requests.Response, *, page_size: int, count: int) -> str | None:
    """The ``page_token`` of the ``Link: <…>; rel="next"`` header, or None on the last page.

    A short page is the last one whatever the header says: Hydra v2's offset pagination computes its
    links from a total that ignores the owner/client_name filters.
    """
    if count < page_size:
        return None
    link = response.links.get("next")
    if not link or not link.get("url"):
        return None
    tokens = parse_qs(urlsplit(link["url"]).query).get("page_token")
    return tokens[0] if tokens else None


class OryModel(BaseModel):
    """Base for upstream models: never echo input values (secrets, private keys) in validation errors."""

    model_config = ConfigDict(hide_input_in_errors=True, validate_by_name=True, serialize_by_alias=True)


def none_as_empty_list(value: Any) -> Any:
    # Go encodes empty slices as null.
    return [] if value is None else value


StrList = Annotated[list[str], BeforeValidator(none_as_empty_list)]
