"""Leases on a row that one process at a time works through (a fleet walk, a reconcile run): one conditional
UPDATE takes or renews the lease, so two processes never both hold it; a holder that died is replaced once its
lease has run out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone


def take(rows: QuerySet[Any], owner: str, length: timedelta, **also: Any) -> bool:
    """Lease ``rows`` (one row) to ``owner`` for ``length`` if it is free, expired or already theirs, setting
    ``also`` with it; whether it was taken."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lte=now) | Q(lease_owner=owner)
    return bool(rows.filter(free).update(lease_owner=owner, lease_until=now + length, **also))


def release(rows: QuerySet[Any], owner: str) -> None:
    """Give the lease back, if ``owner`` still holds it."""
    rows.filter(lease_owner=owner).update(lease_owner="", lease_until=None)
