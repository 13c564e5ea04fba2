"""Building events: what one audit row holds (redacted, storable, bound to its chain) and the hash over it."""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import threading
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest

from truss import metrics, proxies
from truss.audit import actions
from truss.models import AuditEvent, Tenant
from truss.redaction import redact, redact_text

logger = logging.getLogger("truss.audit")

GENESIS = "0" * 64
LEGACY_CHAIN = (
    "legacy"  # rows written before per-tenant chains (migration 0004), verified as they were chained
)
GLOBAL_CHAIN = "global"  # events without a tenant


def chain_for(tenant_id: int | None) -> str:
    return f"tenant:{tenant_id}" if tenant_id else GLOBAL_CHAIN


def _canonical(event: AuditEvent) -> bytes:
    payload = {
        "tenant": event.tenant_id,
        "created_at": event.created_at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "target": event.target,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "ip": event.ip,
        "before": event.before,
        "after": event.after,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
    }
    if (
        event.chain != LEGACY_CHAIN
    ):  # legacy rows were hashed without it; every newer row is bound to its chain
        payload["chain"] = event.chain
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def jsonable(value: Any) -> Any:
    """Exactly what the JSON column will hold, so the hash covers what is stored (datetimes become text)."""
    return None if value is None else _storable(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def _storable(value: Any) -> Any:
    """PostgreSQL's text and jsonb refuse NUL characters, which bad input (echoed in a failure's detail) may
    carry: they become U+FFFD, so the event of a refused request is still written."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {_storable(k): _storable(v) for k, v in value.items()}
    return value


def actor_of(request: HttpRequest | None) -> str:
    if request is None:
        return "system"
    api_key = getattr(request, "api_key", None)
    if api_key is not None:
        return f"apikey:{api_key.prefix}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.get_username()}"
    return "anonymous"


def build(
    request: HttpRequest | None,
    action: str,
    *,
    tenant: Tenant | None,
    target: str,
    outcome: str,
    before: Any,
    after: Any,
    detail: str,
    actor: str | None,
) -> AuditEvent:
    """The event as it will be stored (not yet chained: no created_at, prev_hash or hash). The action must be
    one of the registry's (truss/audit/actions.py)."""
    actions.check(action)
    return AuditEvent(
        tenant=tenant,
        actor=_storable(actor or actor_of(request)),
        action=str(action),
        target=_storable(target[:300]),
        outcome=outcome,
        request_id=getattr(request, "request_id", "") if request is not None else "",
        ip=(proxies.client_ip(request) or None) if request is not None else None,
        before=jsonable(redact(before)),
        after=jsonable(redact(after)),
        detail=_storable(redact_text(detail)[:2000]),
        chain=chain_for(tenant.pk if tenant is not None else None),
    )


# --- Refusals that name nothing real ---------------------------------------------------------------------------
#
# Some endpoints answer anyone (the bridge's consent API). A refusal there that names no challenge, subject or
# tenant anyone has is not chained: anyone could send thousands a second and bury the real events. Each one is
# a log line and a count per (action, reason) here, for a metrics exporter to read.

_not_chained: collections.Counter[tuple[str, str]] = collections.Counter()
_not_chained_lock = threading.Lock()


def not_chained(action: str, reason: str) -> None:
    """Count (and log) one refusal that names nothing real. ``reason``: a short fixed word, never input."""
    with _not_chained_lock:
        _not_chained[(action, reason)] += 1
    metrics.AUDIT_NOT_CHAINED.labels(action, reason).inc()
    logger.info("refused, not chained (names nothing real): %s %s", action, reason)


def not_chained_counts() -> dict[tuple[str, str], int]:
    """Refusals counted instead of chained since this process started, per (action, reason)."""
    with _not_chained_lock:
        return dict(_not_chained)
