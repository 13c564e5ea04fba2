"""Sign-ins through the real bridge while retention removes many old events of the same tenant's chain: no
sign-in fails, their audit events are chained after the cut, and the whole history still verifies.

The old events are generated (properly chained, bulk-inserted); set TRUSS_RETENTION_LOAD_EVENTS to change how
many (default: 200,000 on PostgreSQL, 40,000 on SQLite)."""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.audit.test_retention import CUTOFF, old_events
from tests.bridge.oauth import Browser
from truss.audit import Action, chain_for, retention
from truss.audit.verify import verify_chain
from truss.models import AuditCut, AuditEvent, Tenant

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True), pytest.mark.timeout(600)]

# The test stack's Hydra keeps its data in an in-memory SQLite database, which refuses parallel writes
# ("database is locked" after 5 s, an error page at the callback): sign-ins run one after another by default.
# Against a Hydra on PostgreSQL, raise it with TRUSS_RETENTION_LOAD_THREADS.
SIGN_IN_THREADS = int(os.environ.get("TRUSS_RETENTION_LOAD_THREADS", "1"))


def _events_to_generate() -> int:
    default = 200_000 if connection.vendor == "postgresql" else 40_000
    return int(os.environ.get("TRUSS_RETENTION_LOAD_EVENTS", default))


def _sign_in(browser: Browser, app: dict[str, Any], person: dict[str, Any]) -> None:
    """One complete sign-in: Hydra → bridge login → Kratos → bridge consent → Hydra → code → tokens."""
    auth, login_page = browser.authorize(app["client_id"])
    consent_page = browser.sign_in(login_page, person["email"], person["password"])
    assert consent_page.status_code == 200, (consent_page.status_code, consent_page.url)
    result = browser.callback(browser.answer_consent(consent_page))
    assert result["state"] == auth.state
    assert "access_token" in browser.tokens(app["client_id"], result["code"], auth)


class _Load:
    """Sign-ins in threads until stopped: each a fresh browser (a full login and consent every time)."""

    def __init__(self, ory: Any, app: dict[str, Any], person: dict[str, Any]) -> None:
        self.ory, self.app, self.person = ory, app, person
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.done: list[tuple[float, float]] = []  # (finished at, seconds)
        self.threads = [threading.Thread(target=self._loop) for _ in range(SIGN_IN_THREADS)]

    def _loop(self) -> None:
        while not self.stop.is_set():
            begun = time.monotonic()
            try:
                _sign_in(Browser(self.ory), self.app, self.person)
            except Exception as exc:  # every failure counts, whatever it is
                self.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            else:
                self.done.append((time.monotonic(), time.monotonic() - begun))

    def __enter__(self) -> _Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


class _LockWaits:
    """PostgreSQL: samples pg_stat_activity for sessions waiting on a lock (every 50 ms) while it runs."""

    def __init__(self) -> None:
        self.samples = self.waiting = self.most = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop)

    def _loop(self) -> None:
        from django.db import connection as own

        try:
            while not self.stop.wait(0.05):
                with own.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"
                    )
                    (n,) = cursor.fetchone()
                self.samples += 1
                self.waiting += bool(n)
                self.most = max(self.most, int(n))
        finally:
            own.close()

    def __enter__(self) -> _LockWaits:
        if connection.vendor == "postgresql":
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(10)


def test_sign_ins_during_a_retention_run_see_no_errors(
    make_app, make_identity, tenant: Tenant, live_bridge, tmp_path: Path
) -> None:
    generated = _events_to_generate()
    begun = time.monotonic()
    old_events(tenant, generated)
    generating = time.monotonic() - begun
    person, app = make_identity(name="Load"), make_app()
    _sign_in(Browser(live_bridge), app, person)  # warm: the bridge, Hydra and Kratos answer

    window: dict[str, float] = {}

    def progress(line: str) -> None:
        if "removed" in line:
            window.setdefault("removing", time.monotonic())

    with _Load(live_bridge, app, person) as load, _LockWaits() as locks:
        time.sleep(1.0)  # the sign-ins are under way before retention starts
        window["start"] = time.monotonic()
        report = retention.run(CUTOFF, directory=tmp_path, batch_size=5000, progress=progress)
        window["end"] = time.monotonic()
        time.sleep(0.5)
    assert load.errors == [], load.errors[:5]
    assert report.ok and report.archived == report.deleted == generated
    during = [took for at, took in load.done if window["start"] <= at <= window["end"]]
    removing = [took for at, took in load.done if window["removing"] <= at <= window["end"] + 0.5]
    assert during, "no sign-in finished while retention ran"

    chain = chain_for(tenant.pk)
    assert AuditCut.objects.filter(chain=chain).count() == 1
    cut = AuditCut.objects.get(chain=chain)
    live = AuditEvent.objects.filter(chain=chain)
    assert not live.filter(id__lte=cut.last_id).exists()
    accepted = live.filter(action__in=[Action.LOGIN_ACCEPT, Action.CONSENT_ACCEPT]).count()
    assert accepted >= 2 * (len(load.done) + 1)
    assert AuditEvent.objects.filter(action=Action.AUDIT_ARCHIVE, tenant=tenant).count() == 1
    whole = verify_chain(archive_dir=tmp_path)
    assert whole.ok and whole.archived == generated, whole

    latencies = [took for _, took in load.done]
    before = [took for at, took in load.done if at < window["start"]] or [0.0]
    print(  # noqa: T201 (numbers for the report: pytest -s)
        f"\nretention load ({connection.vendor}): generated {generated:,} chained events in {generating:.1f} s; "
        f"archived {report.archived:,} in {report.archive_seconds:.1f} s ({report.archived_per_second:,.0f} rows/s), "
        f"removed {report.deleted:,} in {report.delete_seconds:.1f} s ({report.rows_per_second:,.0f} rows/s), "
        f"longest batch {report.longest_batch * 1000:.0f} ms; sign-ins: {len(load.done)} ok "
        f"({len(during)} during the run, {len(removing)} while removing), 0 errors, median {statistics.median(latencies):.2f} s, "
        f"max {max(latencies):.2f} s (before the run: median {statistics.median(before):.2f} s); lock-wait samples {locks.waiting}/{locks.samples} (most {locks.most})"
    )
