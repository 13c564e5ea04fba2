"""Recording: the one way code writes an audit event (``record``) or audits a mutation (``mutation``)."""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest

from truss.audit.chain import append_with_retries
from truss.audit.events import actor_of, build, jsonable, logger
from truss.audit.outbox import write_ahead
from truss.models import AuditEvent, Tenant
from truss.redaction import redact


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
    soon: bool = False,
) -> AuditEvent:
    """Append one event. Call it for every mutation, failed ones included (outcome="failure").

    ``soon``: for the bridge's redirects, the event is written ahead (durable now, one INSERT into the outbox)
    and chained right after the answer is sent; the event returned is not chained yet (no id, no hash)."""
    event = build(
        request,
        action,
        tenant=tenant,
        target=target,
        outcome=outcome,
        before=before,
        after=after,
        detail=detail,
        actor=actor,
    )
    if soon:
        write_ahead(event)
        return event
    return append_with_retries(event)


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
        record(
            self.request,
            self.action,
            tenant=self.tenant,
            target=self.target,
            before=self.before,
            outcome=outcome,
            detail=detail,
        )
        self.done = True

    def success(self, *, after: Any = None, target: str | None = None) -> None:
        """Record the success of a change already made upstream. It never raises: the change happened, so the
        caller must hear so. Lock waits and transient errors are retried for about a minute; should the
        database stay unwritable, the event is logged (CRITICAL, redacted) to be re-entered from the log."""
        self.done = True
        try:
            record(
                self.request,
                self.action,
                tenant=self.tenant,
                target=target or self.target,
                before=self.before,
                after=after,
            )
        except DatabaseError:
            logger.critical(
                "audit event NOT WRITTEN for a change that was applied: %s",
                json.dumps(
                    {
                        "tenant": self.tenant.pk if self.tenant else None,
                        "actor": actor_of(self.request),
                        "action": self.action,
                        "target": target or self.target,
                        "outcome": "success",
                        "after": jsonable(redact(after)),
                    },
                    sort_keys=True,
                ),
                exc_info=True,
            )


def mutation(request: HttpRequest | None, action: str, tenant: Tenant | None, target: str = "") -> Mutation:
    """The one way console, API and bridge code audits a mutation (see Mutation)."""
    return Mutation(request, action, tenant, target)
