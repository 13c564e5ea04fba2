"""Log lines: the request id on every one, JSON lines with ``LOG_FORMAT=json``, and one line per request.

No model imports: logging loads this module before the apps. Secrets are scrubbed by ``truss.redaction``'s
filter on every handler before a formatter sees the record; the JSON formatter scrubs exception text too.
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from typing import Any

from django.core import signals

from truss.redaction import redact_text

# The request being served by this thread (or by a pool thread working for it: the bridge copies the context).
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("truss_request_id", default="")

NO_REQUEST = "-"
# What the request log line carries besides its message; the JSON formatter writes these keys when a record has
# them (``extra=``).
REQUEST_FIELDS = ("method", "route", "status", "duration_ms", "tenant", "actor", "client_ip")

request_log = logging.getLogger("truss.request")


def forget_request_id(**kwargs: Any) -> None:
    """The request is over (request_finished, after its other receivers: truss.middleware connects it) or a new
    one starts on this thread (request_started): its id no longer applies."""
    request_id.set("")


signals.request_started.connect(forget_request_id, dispatch_uid="truss.logs.request_started")


class RequestIdFilter(logging.Filter):
    """Gives every record ``request_id``: the current request's, or "-" outside a request (start-up, the audit
    drainer thread, management commands)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id.get() or NO_REQUEST
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, pid, and the request
    fields of the request log line; an exception as ``exc`` text (scrubbed like the message)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _utc(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id.get() or NO_REQUEST,
            "pid": record.process,
        }
        for key in REQUEST_FIELDS:  # the request line has them all (null: no tenant), other lines none
            if key in record.__dict__:
                out[key] = record.__dict__[key]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exc"] = redact_text(record.exc_text)
        if record.stack_info:
            out["stack"] = redact_text(self.formatStack(record.stack_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def _utc(created: float) -> str:
    seconds = int(created)
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int((created - seconds) * 1000):03d}Z"
    )


def log_request(
    *,
    method: str,
    route: str,
    status: int,
    duration_ms: float,
    tenant: str | None,
    actor: str,
    client_ip: str,
) -> None:
    """The request log line (logger ``truss.request``, INFO): the route's name, never the raw path, whose query
    carries login/consent challenges."""
    if not request_log.isEnabledFor(logging.INFO):
        return
    request_log.info(
        "%s %s %s %.1fms tenant=%s actor=%s ip=%s",
        method,
        route,
        status,
        duration_ms,
        tenant or NO_REQUEST,
        actor,
        client_ip or NO_REQUEST,
        extra={
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(duration_ms, 2),
            "tenant": tenant,
            "actor": actor,
            "client_ip": client_ip,
        },
    )
