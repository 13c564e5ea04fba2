"""reconcile_consents at scale: it walks the ledger a chunk of people at a time (memory does not grow with the
ledger), resumes a stopped run with the next person (each person checked once, counters moved once), says how
far it is, and never marks gone a consent decided after it asked Hydra."""

from __future__ import annotations

import threading
import tracemalloc
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import LedgerEntry, ReconcileRun
from tests.consents.test_ledger import _decide, _people, seed
from truss.ory import hydra

pytestmark = [pytest.mark.integration]

CHUNK = 50


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger, "RECONCILE_CHUNK", CHUNK)


def counting_hydra(monkeypatch: pytest.MonkeyPatch, fail_at: int | None = None) -> list[str]:
    """Hydra's consent list, asked for each person (the real one); the `fail_at`-th call finds Hydra gone."""
    real = hydra.list_consent_sessions
    asked: list[str] = []
    failed: list[str] = []

    def listing(subject: str, **kwargs: Any) -> list[hydra.ConsentSession]:
        asked.append(subject)
        if fail_at is not None and len(asked) == fail_at and not failed:
            failed.append(subject)
            raise hydra.HydraUnavailable(status=503, error="unavailable", description="Hydra went away")
        return real(subject, **kwargs)

    monkeypatch.setattr(hydra, "list_consent_sessions", listing)
    return asked


@pytest.mark.django_db
def test_it_reconciles_in_memory_that_does_not_grow_with_the_ledger(ory, make_tenant, monkeypatch):
    monkeypatch.setattr(ledger, "RECONCILE_CHUNK", 25)
    peaks = {}
    for n in (100, 400):
        tenant = make_tenant()
        seed(tenant, "app-1", n)
        tracemalloc.start()
        try:
            report = ledger.reconcile(tenant)
            peaks[n] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert report.subjects == report.gone == n
        assert _people(tenant) == 0
    assert peaks[400] < 1.5 * peaks[100], peaks  # four times the people; one chunk held either way


@pytest.mark.django_db
def test_it_resumes_a_stopped_run_with_the_next_person(ory, tenant, small_chunks, monkeypatch):
    rows = seed(tenant, "app-1", 300)  # Hydra has none of these consents
    real = hydra.list_consent_sessions
    counting_hydra(monkeypatch, fail_at=121)
    with pytest.raises(CommandError, match="resumes"):
        call_command("reconcile_consents", "--tenant", tenant.slug, "--workers", "1", stdout=StringIO())
    run = ReconcileRun.objects.get(scope=f"tenant:{tenant.pk}")
    assert run.running and run.subjects == 120 and run.gone == 120 and "went away" in run.last_error
    assert not run.lease_owner
    assert LedgerEntry.objects.filter(tenant=tenant, state="gone").count() == 120

    monkeypatch.setattr(hydra, "list_consent_sessions", real)
    out = StringIO()
    call_command("reconcile_consents", "--tenant", tenant.slug, stdout=out)
    assert "resumed a stopped run after 120 people" in out.getvalue()
    assert "checked 300 people: 300 consents gone from Hydra, 0 back" in out.getvalue()
    assert LedgerEntry.objects.filter(tenant=tenant, state="gone").count() == 300
    assert _people(tenant) == 0  # each person's counters moved once: not negative
    run.refresh_from_db()
    assert not run.running and run.subjects == 300
    assert {r.subject for r in rows} == set(
        LedgerEntry.objects.filter(tenant=tenant).values_list("subject", flat=True)
    )


@pytest.mark.django_db
def test_it_asks_hydra_once_per_person_across_a_resume(ory, tenant, small_chunks, monkeypatch):
    seed(tenant, "app-1", 130)
    asked = counting_hydra(monkeypatch, fail_at=71)
    with pytest.raises(hydra.HydraError):
        ledger.reconcile(tenant)
    first = asked[:70]  # the 71st was not answered
    asked.clear()
    report = ledger.reconcile(tenant)
    assert report.resumed_at == 70 and report.subjects == 130
    assert asked[0] > first[-1]  # went on after the last person it had finished
    assert len(first) + len(asked) == 130 and not set(first) & set(asked)
    assert ledger.reconcile(tenant).resumed_at == 0  # a finished run is not resumed: the next one starts over


@pytest.mark.django_db
def test_it_asks_several_people_at_once_and_still_handles_each_once(ory, tenant, small_chunks, monkeypatch):
    seed(tenant, "app-1", 130)
    asked = counting_hydra(monkeypatch, fail_at=71)
    with pytest.raises(hydra.HydraError):
        ledger.reconcile(tenant, workers=4)
    stopped = ReconcileRun.objects.get(scope=f"tenant:{tenant.pk}")
    assert stopped.subjects < 80 and len(asked) <= stopped.subjects + 2 * 4  # asked at most a window ahead
    report = ledger.reconcile(tenant, workers=4)
    assert report.resumed_at == stopped.subjects and report.subjects == report.gone == 130
    assert LedgerEntry.objects.filter(tenant=tenant, state="gone").count() == 130
    assert _people(tenant) == 0  # counters moved once per person


@pytest.mark.django_db
def test_it_prints_progress(ory, tenant, small_chunks):
    seed(tenant, "app-1", 120)
    out = StringIO()
    call_command("reconcile_consents", "--tenant", tenant.slug, "--every", "50", stdout=out)
    lines = [line.split("\t") for line in out.getvalue().splitlines() if line.startswith("progress\t")]
    assert [line[1] for line in lines] == [
        "0 of 120 people",
        "50 of 120 people",
        "100 of 120 people",
        "120 people, done",
    ]
    assert lines[-1][2] == "120 gone" and lines[-1][4].endswith("people/s")


@pytest.mark.django_db
def test_it_leaves_a_consent_decided_while_it_asked_hydra(ory, tenant, monkeypatch):
    seed(tenant, "app-1", 1)
    person = LedgerEntry.objects.get(tenant=tenant).subject
    real = hydra.list_consent_sessions

    def meanwhile(subject: str, **kwargs: Any) -> list[hydra.ConsentSession]:
        answer = real(subject, **kwargs)  # Hydra has no consent for them yet...
        _decide(
            tenant, subject, after={"grant_scope": ["openid"], "audience": [], "remember_for": 0}
        )  # ...now
        return answer

    monkeypatch.setattr(hydra, "list_consent_sessions", meanwhile)
    report = ledger.reconcile(tenant)
    assert report.gone == 0
    assert LedgerEntry.objects.get(tenant=tenant, subject=person).state == "active"


@pytest.mark.django_db(transaction=True)
def test_it_holds_no_lock_a_sign_in_needs_while_it_asks_hydra(ory, tenant, monkeypatch):
    seed(tenant, "app-1", 3)
    people = sorted(LedgerEntry.objects.filter(tenant=tenant).values_list("subject", flat=True))
    real, signed_in = hydra.list_consent_sessions, []

    def sign_in_meanwhile(subject: str, **kwargs: Any) -> list[hydra.ConsentSession]:
        def decide() -> None:
            try:
                _decide(
                    tenant, people[0], after={"grant_scope": ["openid"], "audience": [], "remember_for": 0}
                )
                signed_in.append(timezone.now())
            finally:
                connection.close()

        worker = threading.Thread(target=decide)
        worker.start()
        worker.join(timeout=20)
        assert not worker.is_alive(), "a sign-in waited for the reconcile"
        return real(subject, **kwargs)

    monkeypatch.setattr(hydra, "list_consent_sessions", sign_in_meanwhile)
    ledger.reconcile(tenant)
    assert len(signed_in) == 3
