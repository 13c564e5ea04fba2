"""Cross-cutting behaviour: request ids, metrics and the request log, htmx messages/redirects, and upstream
outages as friendly pages."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Callable

from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers
from django.utils.functional import SimpleLazyObject, empty

from truss import logs, metrics, proxies, upstream
from truss.ory import http as ory_http

log = logging.getLogger(__name__)
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """What every request gets, around everything else: a request id, a log line, metrics.

    - **Request id**: a sane ``X-Request-ID`` is taken only from a trusted proxy (``TRUSTED_PROXIES``), otherwise
      one is made. It is echoed back, stored in audit events, put on every log line written while the request is
      served (``truss.logs.request_id``) and sent to Hydra and Kratos with every call (``truss.ory.http``).
    - **Metrics** (``truss.metrics``): count, total time, Truss's own time and the wait on Hydra/Kratos, by route
      name; a 429 counts as a throttle refusal.
    - **Log**: one line per request (``truss.request``): method, route name (never the raw path: its query
      carries challenges), status, duration, tenant, actor, client address.

    With ``TRUSS_SERVER_TIMING=1`` (benchmarks, profiling; off by default: timings are nobody else's business)
    every response also says how its time split: ``Server-Timing: app;dur=<Truss's own ms>,
    upstream;dur=<ms waiting on Hydra/Kratos>`` (concurrent upstream calls count once)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.timing = os.environ.get("TRUSS_SERVER_TIMING", "").lower() in ("1", "true", "yes")
        # The request's id is forgotten by request_finished's receiver connected after truss.audit's, so that
        # the audit drain after the response still logs it (receivers run in the order they were connected).
        # Here, not at import: logging's configuration imports this module before the apps are loaded.
        from truss import audit  # noqa: F401

        request_finished.connect(logs.forget_request_id, dispatch_uid="truss.middleware.forget_request_id")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = _request_id(request)
        request.request_id = request_id  # type: ignore[attr-defined]
        # Left set after the answer: what still belongs to this request logs it too (Django's 4xx/5xx line, the
        # audit drain after the response) until request_finished's receiver (connected in __init__) forgets it.
        logs.request_id.set(request_id)
        calls: list[tuple[float, float]] = []
        calls_token = ory_http.upstream_calls.set(calls)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            ory_http.upstream_calls.reset(calls_token)
        seconds = time.perf_counter() - started
        upstream = ory_http.upstream_wall_ms(calls) / 1000 if calls else 0.0
        route = route_name(request)
        metrics.request_done(route, request.method or "", response.status_code, seconds, upstream)
        if self.timing:
            response["Server-Timing"] = (
                f"app;dur={(seconds - upstream) * 1000:.2f}, upstream;dur={upstream * 1000:.2f}, "
                f"calls;dur={len(calls)}"
            )
        response["X-Request-ID"] = request_id
        logs.log_request(
            method=request.method or "",
            route=route,
            status=response.status_code,
            duration_ms=seconds * 1000,
            tenant=_tenant(request),
            actor=_actor(request),
            client_ip=proxies.client_ip(request),
        )
        return response


def _request_id(request: HttpRequest) -> str:
    incoming = str(request.META.get("HTTP_X_REQUEST_ID", ""))
    if incoming and _REQUEST_ID_RE.match(incoming) and proxies.is_trusted_proxy(request):
        return incoming
    return uuid.uuid4().hex


def route_name(request: HttpRequest) -> str:
    """The matched URL pattern's name (``bridge:login``, ``console:clients:detail``): bounded, free of ids and
    challenges; ``unmatched`` when no route matched."""
    match = request.resolver_match
    if match is None:
        return metrics.UNMATCHED
    return match.view_name or match.route or metrics.UNMATCHED


def _tenant(request: HttpRequest) -> str | None:
    tenant = getattr(request, "tenant", None)
    return getattr(tenant, "slug", None)


def _actor(request: HttpRequest) -> str:
    """Who acted, as the audit log names them, without looking anyone up: "-" when the request never needed to
    know who its user was (the bridge, health probes)."""
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return f"apikey:{api_key.prefix}"
    user = request.__dict__.get("user")
    if user is None or (isinstance(user, SimpleLazyObject) and user._wrapped is empty):
        return logs.NO_REQUEST
    if user.is_authenticated:
        return f"user:{user.get_username()}"
    return "anonymous"


class HtmxMessagesMiddleware:
    """htmx responses vary on HX-Request and carry pending messages as an out-of-band swap."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        patch_vary_headers(response, ("HX-Request",))
        if not getattr(request, "htmx", False) or response.streaming or "HX-Location" in response:
            return response
        if response.get("Content-Type", "").startswith("text/html") and 200 <= response.status_code < 300:
            storage = get_messages(request)
            if len(storage):
                html = render_to_string(
                    "components/messages.html", {"messages": storage, "oob": True}, request
                )
                response.content += html.encode()
        return response


class HtmxRedirectMiddleware:
    """Turns a redirect answering a fragment (non-boosted) htmx request into HX-Location, so htmx navigates
    instead of swapping a whole page into the fragment. Boosted requests keep the plain redirect: the XHR follows
    it with the same headers, gets the full page and htmx records the final URL."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        htmx = getattr(request, "htmx", None)
        if htmx and not htmx.boosted and response.status_code in (301, 302, 303, 307, 308):
            location = response["Location"]
            response = HttpResponse(status=204)
            response["HX-Location"] = location
        return response


class UpstreamUnavailableMiddleware:
    """Hydra or Kratos errors that a view did not handle become a clear page, never a 500."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, ory_http.OryError):
            return None
        answer = upstream.answer_for(exc)
        log.warning("%s error during %s: %s", answer.service, request.path, exc)
        if answer.unavailable:
            response = TemplateResponse(
                request, "truss/unavailable.html", {"service": answer.service}, status=503
            )
        else:
            response = TemplateResponse(
                request, "truss/upstream_error.html", {"error": exc, "answer": answer}, status=answer.status
            )
        for name, value in answer.headers.items():
            response[name] = value
        return response.render()


class ExpectedRefusalFilter(logging.Filter):
    """Logging filter (settings.LOGGING): a 403 the app raised on purpose (PermissionDenied: a role too low) is
    logged as one line, without the traceback Django attaches; real errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], PermissionDenied):
            record.exc_info = None
            record.exc_text = None
        return True
