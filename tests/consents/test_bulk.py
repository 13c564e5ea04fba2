"""Revoke a client for everyone: 1,000 ledger entries, 30 of them real Hydra consents (see the README: the
other 970 subjects have no consent in Hydra, whose DELETE answers 204 for them, exactly as for a consent that
expired meanwhile; what is measured is the job, its progress and its resumption)."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from oauth2_admin.consents import jobs
from oauth2_admin.consents.models import LedgerEntry, RevokeJob
from tests.consents.test_ledger import _people, seed
from truss.models import AuditEvent

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_it_revokes_a_client_for_1000_people_with_progress_and_leaves_hydra_consistent(
    console, tenant, other_tenant, make_app, grant, in_hydra, active
):
    app, theirs = make_app(tenant, client_name="Old App"), make_app(other_tenant)
    people = [str(uuid.uuid4()) for _ in range(30)]
    tokens = [grant(app, p) for p in people]
    survivor = grant(theirs, people[0])
    now = timezone.now()
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                tenant=tenant,
                client_id=app["client_id"],
                subject=p,
                decision="accepted",
                state="active",
                scopes=["openid", "offline_access"],
                first_at=now,
                last_at=now,
            )
            for p in people
        ]
    )
    seed(tenant, app["client_id"], 970)
    from oauth2_admin.consents import ledger

    ledger.rebuild_counts(tenant, app["client_id"])
    assert _people(tenant, app["client_id"]) == 1000

    member = console("member")
    base = f"/console/consents/clients/{app['client_id']}"
    wrong = member.post(f"{base}/revoke-all", {"confirm": "Old"})
    assert wrong.status_code == 400 and not RevokeJob.objects.exists()
    started = member.post(f"{base}/revoke-all", {"confirm": "Old App"})
    job = RevokeJob.objects.get()
    assert started["Location"] == f"{base}/jobs/{job.pk}/"
    page = member.get(started["Location"]).content.decode()
    assert 'hx-trigger="load delay:300ms"' in page and "0</strong> of 1000" in page

    seen = []
    for _ in range(30):
        step = member.post(f"{base}/jobs/{job.pk}/step", HTTP_HX_REQUEST="true").content.decode()
        seen.append(int(re.search(r'<strong id="job-count">(\d+)</strong>', step).group(1)))
        if 'id="job-done"' in step:
            break
    assert seen == sorted(seen) and len(seen) >= 10 and seen[-1] == 1000  # 100 per poll
    assert "hx-post" not in step  # polling stops when done

    assert all(in_hydra(p) == [] for p in people[1:])
    assert in_hydra(people[0]) == [theirs["client_id"]]
    assert not any(active(t["refresh_token"]) for t in tokens)
    assert active(survivor["refresh_token"])
    assert LedgerEntry.objects.filter(tenant=tenant, state="active").count() == 0
    assert _people(tenant, app["client_id"]) == 0
    events = AuditEvent.objects.filter(tenant=tenant, target=app["client_id"])
    assert sorted(events.values_list("action", flat=True)) == [
        "consent.client.revoke_all",
        "consent.client.revoke_all.start",
        "consent.client.revoke_all.start",
    ]
    assert events.get(action="consent.client.revoke_all").after["revoked"] == 1000


def test_it_resumes_an_interrupted_job_and_redoes_the_half_done_batch(tenant, make_app, grant, in_hydra):
    app = make_app(tenant)
    people = [str(uuid.uuid4()) for _ in range(5)]
    for p in people:
        grant(app, p)
    now = timezone.now()
    LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(
                tenant=tenant,
                client_id=app["client_id"],
                subject=p,
                decision="accepted",
                state="active",
                scopes=["openid"],
                first_at=now,
                last_at=now,
            )
            for p in people
        ]
    )
    seed(tenant, app["client_id"], 195)
    job = jobs.start(None, tenant, app["client_id"])
    job = jobs.run_batch(job, size=50)
    assert (job.processed, job.state) == (50, "running")
    # A request died mid-batch, after Hydra's revocation and before its transaction committed: the lease is still
    # held (expired), the last row is still active and the cursor points before it.
    last = LedgerEntry.objects.get(pk=job.cursor)
    LedgerEntry.objects.filter(pk=last.pk).update(state="active")
    before = LedgerEntry.objects.filter(pk__lt=last.pk, client_id=app["client_id"]).order_by("-pk").first()
    RevokeJob.objects.filter(pk=job.pk).update(lease_until=now, cursor=before.pk, processed=49)
    assert jobs.start(None, tenant, app["client_id"]).pk == job.pk  # one job per client at a time
    call_command("run_consent_jobs")
    job.refresh_from_db()
    assert job.state == "done" and job.processed == 200 and job.failed == 0
    assert all(in_hydra(p) == [] for p in people)
    assert not LedgerEntry.objects.filter(state="active").exists()
