"""Cross-cutting behaviour: request ids, htmx messages/redirects, and upstream outages as friendly pages."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid
from collections.abc import Callable

from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.cache import patch_vary_headers

from truss import upstream
from truss.ory import http as ory_http

log = logging.getLogger(__name__)
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")

Handler = Callable[[HttpRequest], HttpResponse]


class RequestIdMiddleware:
    """Takes a sane X-Request-ID from the proxy or makes one; it is echoed back and stored in audit events.

    With ``TRUSS_SERVER_TIMING=1`` (benchmarks, profiling; off by default: timings are nobody else's business)
    every response also says how its time split: ``Server-Timing: app;dur=<Truss's own ms>,
    upstream;dur=<ms waiting on Hydra/Kratos>`` (concurrent upstream calls count once)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.timing = os.environ.get("TRUSS_SERVER_TIMING", "").lower() in ("1", "true", "yes")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex  # type: ignore[attr-defined]
        if not self.timing:
            response = self.get_response(request)
        else:
            calls: list[tuple[float, float]] = []
            token = ory_http.upstream_calls.set(calls)
            started = time.perf_counter()
            try:
                response = self.get_response(request)
            finally:
                ory_http.upstream_calls.reset(token)
            total = (time.perf_counter() - started) * 1000
            upstream_ms = ory_http.upstream_wall_ms(calls)
            response["Server-Timing"] = (
                f"app;dur={total - upstream_ms:.2f}, upstream;dur={upstream_ms:.2f}, calls;dur={len(calls)}"
            )
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


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
            response = TemplateResponse(request, "truss/upstream_error.html", {"error": exc, "answer": answer},
                                        status=answer.status)  # fmt: skip
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
