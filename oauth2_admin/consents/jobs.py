"""Bulk revocation ("revoke this client for everyone") as a resumable job over the consent ledger.

No background thread: each polling request of the progress page (and ``manage.py run_consent_jobs``) runs one
batch under a short lease, so a batch dies with its request at worst and the next poll redoes it. The cursor is
the last ledger id handled; revoking an already revoked consent is a no-op in Hydra, so redoing is harmless.
"""

from __future__ import annotations

import datetime as dt
import time

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import LedgerEntry, RevokeJob
from truss import audit
from truss.audit import Action
from truss.models import Tenant
from truss.ory import hydra

BATCH = 100
LEASE = dt.timedelta(seconds=60)


def _pending(job: RevokeJob) -> Q:
    return Q(
        tenant_id=job.tenant_id,
        client_id=job.client_id,
        state=LedgerEntry.State.ACTIVE,
        id__gt=job.cursor,
        id__lte=job.last_entry,
    )


def current(tenant: Tenant, client_id: str) -> RevokeJob | None:
    return RevokeJob.objects.filter(tenant=tenant, client_id=client_id).order_by("-id").first()


def start(request: HttpRequest | None, tenant: Tenant, client_id: str) -> RevokeJob:
    """A new job (or the one already running for this client). Audited once here; the outcome is audited once
    when the job finishes."""
    running = RevokeJob.objects.filter(
        tenant=tenant, client_id=client_id, state=RevokeJob.State.RUNNING
    ).first()
    if running is not None:
        return running
    active = LedgerEntry.objects.filter(tenant=tenant, client_id=client_id, state=LedgerEntry.State.ACTIVE)
    last = active.order_by("-id").values_list("id", flat=True).first() or 0
    job = RevokeJob.objects.create(
        tenant=tenant,
        client_id=client_id,
        actor=audit.actor_of(request),
        total=active.count(),
        last_entry=last,
    )
    with audit.mutation(request, Action.CONSENT_REVOKE_ALL_START, tenant, client_id) as event:
        event.before = {"active_people": job.total}
        event.success(after={"job": job.pk, "to_revoke": job.total})
    return job


def _claim(job: RevokeJob) -> bool:
    """Take the job's lease atomically (one conditional UPDATE): only one request works a job at a time."""
    now = timezone.now()
    taken = RevokeJob.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now), pk=job.pk, state=RevokeJob.State.RUNNING
    ).update(lease_until=now + LEASE)
    return taken == 1


def run_batch(job: RevokeJob, *, size: int = BATCH, budget_seconds: float = 5.0) -> RevokeJob:
    """Work up to ``size`` people (or until the time budget is spent); returns the job as it now stands.

    Hydra unavailable: the batch stops, the error is kept on the job, the next poll tries again."""
    if job.state != RevokeJob.State.RUNNING or not _claim(job):
        job.refresh_from_db()
        return job
    job.refresh_from_db()
    deadline = time.monotonic() + budget_seconds
    try:
        entries = list(LedgerEntry.objects.filter(_pending(job)).order_by("id")[:size])
        for entry in entries:
            revoked = False
            try:
                # Also revokes that consent's access and refresh tokens (see hydra.revoke_consent_sessions).
                hydra.revoke_consent_sessions(entry.subject, client_id=job.client_id)
            except hydra.HydraUnavailable as exc:
                job.last_error = str(exc)[:500]
                job.save(update_fields=["last_error"])
                break
            except hydra.HydraError as exc:  # e.g. a subject Hydra refuses: counted, the job moves on
                job.failed += 1
                job.last_error = f"{entry.subject}: {exc}"[:500]
            else:
                revoked = True
            # The ledger row and the job's cursor move together: a crash leaves both before or both after.
            with transaction.atomic():
                if revoked:
                    fresh = LedgerEntry.objects.select_for_update().filter(pk=entry.pk).first()
                    if fresh is not None:
                        ledger.set_state([fresh], LedgerEntry.State.REVOKED)
                job.cursor, job.processed = entry.pk, job.processed + 1
                job.save(update_fields=["cursor", "processed", "failed", "last_error"])
            if time.monotonic() > deadline:
                break
        else:
            if not LedgerEntry.objects.filter(_pending(job)).exists():
                _finish(job)
    finally:
        RevokeJob.objects.filter(pk=job.pk).update(lease_until=None)
    job.refresh_from_db()
    return job


def _finish(job: RevokeJob) -> None:
    job.state, job.finished_at = RevokeJob.State.DONE, timezone.now()
    job.save(update_fields=["state", "finished_at"])
    # The outcome of the whole job, in the name of the operator who started it.
    audit.record(
        None,
        Action.CONSENT_REVOKE_ALL,
        tenant=job.tenant,
        target=job.client_id,
        actor=job.actor,
        before={"active_people": job.total, "job": job.pk},
        after={
            "revoked": job.processed - job.failed,
            "failed": job.failed,
            "seconds": round((job.finished_at - job.created_at).total_seconds(), 1),
        },
    )


def run_to_completion(job: RevokeJob) -> RevokeJob:
    while job.state == RevokeJob.State.RUNNING:
        before = job.processed
        job = run_batch(job)
        if job.state == RevokeJob.State.RUNNING and job.processed == before:
            break  # leased elsewhere or Hydra down: leave it for the next run
    return job
