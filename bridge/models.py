"""What the bridge keeps of its own: which consent flows it has accepted (tenants and claims live in truss.models)."""

from __future__ import annotations

import functools
import hashlib
from datetime import timedelta

from django.db import models
from django.utils import timezone

from truss import sql

# Hydra forgets a login/consent request after `ttl.login_consent_request` (30 minutes by default); a day of
# marks is more than enough to recognise every replay Hydra would still describe.
KEEP_MARKS = timedelta(days=1)
_PRUNE_EVERY = 256


class AnsweredConsent(models.Model):
    """A consent flow this bridge accepted. A replay is recognised by one indexed lookup here; only a flow that
    has a mark costs the slower question to Hydra (was the flow completed?)."""

    flow = models.CharField(max_length=64, unique=True)  # SHA-256 of Hydra's flow id, never the challenge
    answered_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"consent flow {self.flow[:12]}… answered {self.answered_at:%Y-%m-%d %H:%M}"


def _key(flow_id: str) -> str:
    return hashlib.sha256(flow_id.encode()).hexdigest()


def was_answered(flow_id: str) -> bool:
    return AnsweredConsent.objects.filter(flow=_key(flow_id)).exists()


@functools.cache
def _mark() -> str:
    """One statement (truss/sql.py), no savepoint, in or outside the caller's transaction: a row comes back only
    when it was inserted."""
    m = sql.names(AnsweredConsent)
    return (
        f"INSERT INTO {m.table} ({m.c['flow']}, {m.c['answered_at']}) VALUES (%s, %s) "
        f"ON CONFLICT ({m.c['flow']}) DO NOTHING RETURNING {m.c['id']}"
    )


def mark_answered(flow_id: str) -> bool:
    """Record the flow as answered; False if it already was (by this request's twin, or a replay)."""
    inserted = sql.first(_mark(), [_key(flow_id), sql.moment(timezone.now())])
    if inserted is None:
        return False
    if inserted[0] % _PRUNE_EVERY == 0:  # keep the table small without a scheduled job
        AnsweredConsent.objects.filter(answered_at__lt=timezone.now() - KEEP_MARKS).delete()
    return True
