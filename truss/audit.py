"""The audit log: one append-only, hash-chained event per mutation, with secrets redacted.

Each row's hash is SHA-256 over its canonical JSON and the previous row's hash, so editing, deleting or
reordering rows breaks the chain from that point on; `manage.py verify_audit` finds the first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from truss.models import AuditChainHead, AuditEvent, Tenant
from truss.redaction import redact, redact_text

GENESIS = "0" * 64


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
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def _jsonable(value: Any) -> Any:
    """Exactly what the JSON column will hold, so the hash covers what is stored (datetimes become text)."""
    return None if value is None else json.loads(json.dumps(value, cls=DjangoJSONEncoder))


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


def record(
    request: HttpRequest | None,
    action: str,
    *,
    tenant: Tenant | None,
    target: str = "",
    outcome: str = AuditEvent.Outcome.SUCCESS,
    before: Any = None,
    after: Any = None,
    detail: str = "",
    actor: str | None = None,
) -> AuditEvent:
    """Append one event. Call it for every mutation, failed ones included (outcome="failure")."""
    event = AuditEvent(
        tenant=tenant,
        actor=actor or actor_of(request),
        action=action,
        target=target[:300],
        outcome=outcome,
        request_id=getattr(request, "request_id", "") if request is not None else "",
        ip=request.META.get("REMOTE_ADDR") if request is not None else None,
        before=_jsonable(redact(before)),
        after=_jsonable(redact(after)),
        detail=redact_text(detail)[:2000],
    )
    for _attempt in range(3):
        try:
            return _append(event)
        except IntegrityError:  # two first-ever appends raced to create the head row; try again
            continue
    return _append(event)


class Mutation:
    """One audited mutation: ``with audit.mutation(...) as event:`` records a failure event for any error
    escaping the block (bad input included), and ``event.success(...)`` records the success. Exactly one
    event either way."""

    def __init__(self, request: HttpRequest | None, action: str, tenant: Tenant | None, target: str) -> None:
        self.request, self.action, self.tenant, self.target = request, action, tenant, target
        self.before: Any = None
        self.done = False

    def __enter__(self) -> Mutation:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None and not self.done:
            detail = getattr(exc, "fields", None) or str(exc)
            self.failure(str(detail))

    def failure(self, detail: str, *, outcome: str = AuditEvent.Outcome.FAILURE) -> None:
        record(self.request, self.action, tenant=self.tenant, target=self.target, before=self.before,
               outcome=outcome, detail=detail)  # fmt: skip
        self.done = True

    def success(self, *, after: Any = None, target: str | None = None) -> None:
        record(self.request, self.action, tenant=self.tenant, target=target or self.target,
               before=self.before, after=after)  # fmt: skip
        self.done = True


def mutation(request: HttpRequest | None, action: str, tenant: Tenant | None, target: str = "") -> Mutation:
    """The one way console, API and bridge code audits a mutation (see Mutation)."""
    return Mutation(request, action, tenant, target)


def _append(event: AuditEvent) -> AuditEvent:
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None:
            head = AuditChainHead.objects.create(pk=1, last_hash=GENESIS)
        event.pk = None
        event.created_at = timezone.now()
        event.prev_hash = head.last_hash
        event.hash = compute_hash(event)
        event.save(force_insert=True)
        head.last_hash = event.hash
        head.save(update_fields=["last_hash"])
    return event


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None  # id of the first event whose link does not hold
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _events() -> Iterator[AuditEvent]:
    return AuditEvent.objects.order_by("id").iterator(chunk_size=5000)


def verify_chain() -> ChainReport:
    prev = GENESIS
    checked = 0
    last_id: int | None = None
    for event in _events():
        if event.prev_hash != prev:
            return ChainReport(
                checked, event.pk, "previous hash does not match: a row before it was removed or edited"
            )
        if compute_hash(event) != event.hash:
            return ChainReport(checked, event.pk, "row content does not match its hash: it was edited")
        prev = event.hash
        last_id = event.pk
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and head.last_hash != prev:
        return ChainReport(
            checked, last_id or 0, "the newest rows were removed: the chain head does not match"
        )
    return ChainReport(checked, None)
