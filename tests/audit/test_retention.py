"""Audit retention: old events archived to gzip JSON lines with a signed cut, removed in batches, and the whole
history still verifying (the live chain from the cut, the archive from genesis); tampering with the archive or
the cut is found and named; a run stopped anywhere finishes on the next."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from truss import audit, sql
from truss.audit import GENESIS, Action, chain_for, compute_hash, retention, stream
from truss.audit.verify import archived_event, cut_signature_ok, read_archive, verify_chain
from truss.models import AuditChainHead, AuditCut, AuditEvent, AuditStreamCursor, Tenant

pytestmark = pytest.mark.django_db

YEAR_AGO = timezone.now() - dt.timedelta(days=500)
CUTOFF = timezone.now() - dt.timedelta(days=400)


def old_events(
    tenant: Tenant | None, n: int, start: dt.datetime = YEAR_AGO, *, batch: int = 5000, chain: str = ""
) -> int:
    """``n`` properly chained events appended to the tenant's chain (or the global one) with created_at from
    ``start`` on, one second apart: built and hashed in Python, inserted with executemany in batches (fast on
    both databases). Returns the last id."""
    chain = chain or chain_for(tenant.pk if tenant else None)
    head, _ = AuditChainHead.objects.get_or_create(chain=chain, defaults={"last_hash": GENESIS})
    prev = head.last_hash
    pending: list[AuditEvent] = []
    for i in range(n):
        event = AuditEvent(
            tenant=tenant,
            chain=chain,
            created_at=start + dt.timedelta(seconds=i),
            actor="user:alice" if i % 3 else "apikey:truss_sk_ab12cd34",
            action=Action.CLIENT_UPDATE,
            target=f"client-{i % 50}",
            outcome="success" if i % 7 else "failure",
            request_id=f"req-{i}",
            ip="192.0.2.7" if i % 2 else None,
            before={"name": f"old {i}", "scopes": ["openid"]},
            after={"name": f"new {i} – ünïcode", "n": i, "nested": {"ok": True, "x": 1.5}},
            detail="" if i % 7 else "Hydra: unavailable (503)",
            prev_hash=prev,
        )
        event.hash = prev = compute_hash(event)
        pending.append(event)
        if len(pending) == batch:
            _insert(pending)
            pending = []
    _insert(pending)
    AuditChainHead.objects.filter(chain=chain).update(last_hash=prev)
    return int(AuditEvent.objects.filter(chain=chain).order_by("-id").values_list("id", flat=True)[0])


_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


def _insert(events: list[AuditEvent]) -> None:
    """One executemany of a plain INSERT, each value adapted by its field as a save() adapts it."""
    if not events:
        return
    names = sql.names(AuditEvent)
    statement = (
        f"INSERT INTO {names.table} ({', '.join(names.c[f.name] for f in _FIELDS)}) "
        f"VALUES ({sql.marks(len(_FIELDS))})"
    )
    rows = [[f.get_db_prep_save(getattr(e, f.attname), connection) for f in _FIELDS] for e in events]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(statement, rows)


def young_events(tenant: Tenant | None, n: int = 2) -> list[AuditEvent]:
    return [audit.record(None, Action.CLIENT_CREATE, tenant=tenant, target=f"young-{i}") for i in range(n)]


def run(tmp_path: Path, **kwargs: Any) -> retention.RetentionReport:
    kwargs.setdefault("batch_size", 50)
    return retention.run(CUTOFF, directory=tmp_path, **kwargs)


def lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def write_lines(path: Path, rows: list[dict[str, Any]]) -> None:
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant, tmp_path: Path) -> dict[str, Any]:
    """Two tenants and the global chain, each with old events (some older than the cutoff) and young ones."""
    old_events(tenant, 120)
    old_events(other_tenant, 30)
    old_events(None, 10)
    young_events(tenant, 3)
    young_events(other_tenant, 1)
    return {"tenant": tenant, "other": other_tenant, "dir": tmp_path}


class TestRun:
    def test_it_archives_old_events_removes_them_and_the_whole_history_verifies(self, world, capsys):
        tenant, tmp_path = world["tenant"], world["dir"]
        report = run(tmp_path)
        assert report.ok and report.archived == report.deleted == 160
        assert report.rows_per_second > 0 and report.longest_batch > 0
        assert not AuditEvent.objects.filter(created_at__lt=CUTOFF).exists()
        young = AuditEvent.objects.filter(tenant=tenant).exclude(action=Action.AUDIT_ARCHIVE).count()
        assert young == 3

        cuts = {c.chain: c for c in AuditCut.objects.all()}
        assert set(cuts) == {chain_for(tenant.pk), chain_for(world["other"].pk), audit.GLOBAL_CHAIN}
        cut = cuts[chain_for(tenant.pk)]
        assert cut.events == 120 and cut_signature_ok(cut)
        archived = lines(tmp_path / cut.archive)
        assert len(archived) == 120 and archived[-1]["id"] == cut.last_id
        assert archived[-1]["hash"] == cut.last_hash and archived[0]["prev_hash"] == GENESIS
        assert all(compute_hash(archived_event(row)) == row["hash"] for row in archived)

        live = verify_chain()
        assert live.ok and live.cuts == 3 and live.checked == AuditEvent.objects.count()
        whole = verify_chain(archive_dir=tmp_path)
        assert whole.ok and whole.archived == 160 and whole.archives == 3
        call_command("verify_audit", archive=str(tmp_path))
        out = capsys.readouterr().out
        assert "3 of them from a signed retention cut" in out
        assert "160 archived events verified in 3 file(s)" in out

    def test_it_records_one_archive_event_per_chain_in_that_chains_log(self, world):
        tenant, tmp_path = world["tenant"], world["dir"]
        run(tmp_path)
        events = AuditEvent.objects.filter(action=Action.AUDIT_ARCHIVE)
        assert events.count() == 3
        mine = events.get(tenant=tenant)
        cut = AuditCut.objects.get(chain=chain_for(tenant.pk))
        assert mine.target == cut.archive and mine.outcome == "success"
        assert mine.after["archived"] == mine.after["deleted"] == 120
        assert mine.after["archive_sha256"] == cut.archive_sha256

    def test_a_second_run_changes_nothing_and_a_later_one_cuts_again_after_the_first_cut(self, world):
        tenant, tmp_path = world["tenant"], world["dir"]
        run(tmp_path)
        again = run(tmp_path)
        assert again.archived == again.deleted == 0
        assert (
            AuditCut.objects.count() == 3
            and AuditEvent.objects.filter(action=Action.AUDIT_ARCHIVE).count() == 3
        )

        old_events(tenant, 20, start=CUTOFF + dt.timedelta(days=1))  # a day younger than the first cutoff
        later = retention.run(
            CUTOFF + dt.timedelta(days=2), directory=tmp_path, chains=[chain_for(tenant.pk)]
        )
        # Everything up to the first young event is closed: the 3 young events (and the archive event) from
        # before stay, so the chain's new old events are not a closed segment yet.
        assert later.archived == 0
        later = retention.run(timezone.now() + dt.timedelta(seconds=1), directory=tmp_path)
        assert later.ok and later.archived > 0
        first, second = AuditCut.objects.filter(chain=chain_for(tenant.pk)).order_by("last_id")
        assert lines(tmp_path / second.archive)[0]["prev_hash"] == first.last_hash
        assert verify_chain(archive_dir=tmp_path).ok

    def test_it_stops_the_segment_at_the_first_event_younger_than_the_cutoff(self, tenant, tmp_path):
        old_events(tenant, 10)
        young_events(tenant, 1)
        report = run(tmp_path)
        assert report.archived == 10
        assert AuditEvent.objects.filter(tenant=tenant).exclude(action=Action.AUDIT_ARCHIVE).count() == 1

    def test_it_keeps_events_a_stream_sink_has_not_delivered(self, tenant, tmp_path, settings):
        last = old_events(tenant, 40)
        settings.AUDIT_STREAM_FILE = str(tmp_path / "stream.jsonl")
        AuditStreamCursor.objects.create(sink=stream.FILE, top=last - 15, position=last - 15)
        report = run(tmp_path / "archive")
        assert report.archived == 25
        assert "not yet delivered to the file stream" in report.chains[0].held_back
        assert AuditEvent.objects.exclude(action=Action.AUDIT_ARCHIVE).count() == 15
        assert verify_chain(archive_dir=tmp_path / "archive").ok

    def test_a_sink_that_never_delivered_holds_everything(self, tenant, tmp_path, settings):
        old_events(tenant, 10)
        settings.AUDIT_STREAM_FILE = str(tmp_path / "stream.jsonl")
        assert run(tmp_path).archived == 0 and AuditEvent.objects.count() == 10

    def test_it_neither_archives_nor_removes_a_broken_segment(self, tenant, tmp_path):
        old_events(tenant, 30)
        victim = AuditEvent.objects.order_by("id")[10]
        AuditEvent.objects.filter(pk=victim.pk).update(target="rewritten")
        report = run(tmp_path)
        assert not report.ok and f"event #{victim.pk} does not verify" in report.chains[0].error
        assert AuditEvent.objects.exclude(action=Action.AUDIT_ARCHIVE).count() == 30
        assert not AuditCut.objects.exists() and not list(tmp_path.rglob("*.gz"))
        failure = AuditEvent.objects.get(action=Action.AUDIT_ARCHIVE)
        assert failure.outcome == "failure" and "does not verify" in failure.detail

    def test_it_archives_the_legacy_chain_as_it_was_hashed(self, tenant, tmp_path):
        old_events(tenant, 12, chain=audit.LEGACY_CHAIN)  # hashed without the chain's name
        report = run(tmp_path)
        assert report.ok and report.archived == 12
        assert AuditCut.objects.get().chain == audit.LEGACY_CHAIN
        assert AuditEvent.objects.get(action=Action.AUDIT_ARCHIVE).chain == audit.GLOBAL_CHAIN
        assert verify_chain(archive_dir=tmp_path).ok

    def test_a_dry_run_counts_and_changes_nothing(self, world):
        report = run(world["dir"], dry_run=True)
        assert report.archived == 160 and report.deleted == 0
        assert not AuditCut.objects.exists() and not list(world["dir"].rglob("*.gz"))
        assert not AuditEvent.objects.filter(action=Action.AUDIT_ARCHIVE).exists()


class TestTampering:
    @pytest.fixture
    def archived(self, world):
        run(world["dir"])
        cut = AuditCut.objects.get(chain=chain_for(world["tenant"].pk))
        return world["dir"], cut, world["dir"] / cut.archive

    def _fails(self, tmp_path: Path, *patterns: str) -> str:
        report = verify_chain(archive_dir=tmp_path)
        assert not report.ok
        for pattern in patterns:
            assert pattern in report.reason, report.reason
        with pytest.raises(CommandError, match="broken"):
            call_command("verify_audit", archive=str(tmp_path))
        return report.reason

    def test_it_names_a_changed_field(self, archived):
        tmp_path, cut, path = archived
        rows = lines(path)
        rows[17]["actor"] = "user:mallory"
        write_lines(path, rows)
        reason = self._fails(tmp_path, cut.archive, "line 18", f"event #{rows[17]['id']}", "edited")
        assert verify_chain().ok  # the table alone still verifies: the archive is what was touched
        assert reason

    def test_it_names_a_removed_line(self, archived):
        tmp_path, cut, path = archived
        rows = lines(path)
        del rows[40]
        write_lines(path, rows)
        self._fails(tmp_path, cut.archive, "line 41", "a line was removed")

    def test_it_finds_the_last_lines_removed(self, archived):
        tmp_path, cut, path = archived
        write_lines(path, lines(path)[:-2])
        self._fails(tmp_path, cut.archive, "lines were removed")

    def test_it_finds_a_file_swapped_for_another_chains(self, archived, world):
        tmp_path, cut, path = archived
        other = AuditCut.objects.get(chain=chain_for(world["other"].pk))
        shutil.copy(tmp_path / other.archive, path)
        self._fails(tmp_path, cut.archive, "the file was swapped")

    def test_it_finds_a_consistently_rewritten_archive(self, archived):
        tmp_path, cut, path = archived
        rows, prev = lines(path), GENESIS
        for row in rows:  # an edit with every hash after it recomputed: only the signed cut can tell
            row["prev_hash"] = prev
            if row["id"] == rows[5]["id"]:
                row["detail"] = "nothing to see"
            row["hash"] = prev = compute_hash(archived_event(row))
        write_lines(path, rows)
        self._fails(tmp_path, cut.archive, "rewritten")

    def test_it_finds_a_recompressed_file_with_the_same_events(self, archived):
        tmp_path, cut, path = archived
        write_lines(path, lines(path))  # same events, other bytes: not the file the cut signed
        self._fails(tmp_path, cut.archive, "sha256 differs")

    def test_it_finds_a_missing_or_truncated_file(self, archived):
        tmp_path, cut, path = archived
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        self._fails(tmp_path, cut.archive, "unreadable")
        path.unlink()
        self._fails(tmp_path, cut.archive, "missing")

    def test_it_rejects_a_cut_altered_in_the_table_even_without_the_archive(self, archived):
        tmp_path, cut, _ = archived
        AuditCut.objects.filter(pk=cut.pk).update(events=cut.events - 1)
        report = verify_chain()
        assert not report.ok and "not signed with the checkpoint key" in report.reason

    def test_it_finds_the_cut_removed_or_rows_after_it_removed(self, archived, world):
        tmp_path, cut, _ = archived
        first_live = AuditEvent.objects.filter(chain=cut.chain).order_by("id").first()
        AuditEvent.objects.filter(pk=first_live.pk).delete()
        report = verify_chain()
        assert not report.ok and "does not link to the retention cut" in report.reason
        AuditCut.objects.filter(pk=cut.pk).delete()
        assert not verify_chain().ok  # without its cut the live chain no longer starts at genesis

    def test_a_checkpoint_from_before_retention_still_verifies(self, world, tmp_path):
        point = audit.checkpoint()
        early = audit.checkpoint()
        chain = chain_for(world["tenant"].pk)
        first = AuditEvent.objects.filter(chain=chain).order_by("id")[5]
        early["chains"][chain] = {"last_id": first.pk, "last_hash": first.hash}
        early["signature"] = audit.verify._signature(early)  # type: ignore[attr-defined]
        run(world["dir"])
        assert verify_chain([point]).ok and verify_chain([early]).ok
        assert verify_chain([point, early], archive_dir=world["dir"]).ok
        # The archived event the early checkpoint vouches for is compared with the archive.
        path = world["dir"] / AuditCut.objects.get(chain=chain).archive
        rows = lines(path)
        write_lines(path, [r for r in rows if r["id"] != first.pk])
        assert not verify_chain([early], archive_dir=world["dir"]).ok


class TestResume:
    def test_a_run_killed_between_archive_and_cut_writes_it_again_once(self, tenant, tmp_path, monkeypatch):
        old_events(tenant, 60)
        real = retention.make_cut
        monkeypatch.setattr(retention, "make_cut", lambda *a, **k: (_ for _ in ()).throw(SystemExit(9)))
        with pytest.raises(SystemExit):
            run(tmp_path)
        assert len(list(tmp_path.rglob("*.jsonl.gz"))) == 1 and not AuditCut.objects.exists()
        assert AuditEvent.objects.count() == 60  # nothing removed without its cut
        killed = next(tmp_path.rglob("*.jsonl.gz")).with_name(".killed-while-writing.partial")
        killed.write_bytes(b"\x1f\x8b")  # and another run was killed while writing, long ago
        os.utime(killed, (0, 0))

        old_events(tenant, 5, start=YEAR_AGO + dt.timedelta(days=1))  # the segment grew meanwhile
        monkeypatch.setattr(retention, "make_cut", real)
        report = run(tmp_path)
        assert report.ok and report.archived == report.deleted == 65
        cut = AuditCut.objects.get()
        assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.jsonl.gz")] == [cut.archive]
        assert (tmp_path / cut.archive).stat().st_mode & 0o777 == 0o640
        assert not killed.exists()
        assert verify_chain(archive_dir=tmp_path).ok

    def test_a_run_killed_mid_delete_finishes_on_the_next_without_a_second_cut(
        self, tenant, tmp_path, monkeypatch
    ):
        old_events(tenant, 100)
        real, calls = retention.delete_batch, []

        def dies_after_two(*args: Any) -> int:
            calls.append(args)
            if len(calls) > 2:
                raise SystemExit(9)
            return real(*args)

        monkeypatch.setattr(retention, "delete_batch", dies_after_two)
        with pytest.raises(SystemExit):
            run(tmp_path, batch_size=20)
        assert AuditEvent.objects.count() == 60 and AuditCut.objects.count() == 1
        halfway = verify_chain(
            archive_dir=tmp_path
        )  # half removed: still verifies, live rows against the cut
        assert halfway.ok and halfway.checked == 60 and halfway.archived == 100
        assert verify_chain().ok

        monkeypatch.setattr(retention, "delete_batch", real)
        report = run(tmp_path, batch_size=20)
        assert report.ok and report.deleted == 60 and report.archived == 0
        assert AuditCut.objects.count() == 1 and not AuditEvent.objects.exclude(action=Action.AUDIT_ARCHIVE)
        event = AuditEvent.objects.get(action=Action.AUDIT_ARCHIVE)
        assert event.after["deleted"] == 60
        assert verify_chain(archive_dir=tmp_path).ok

    def test_it_does_not_finish_a_cut_whose_archive_is_gone(self, tenant, tmp_path, monkeypatch):
        old_events(tenant, 30)
        monkeypatch.setattr(retention, "delete_batch", lambda *a: (_ for _ in ()).throw(SystemExit(9)))
        with pytest.raises(SystemExit):
            run(tmp_path)
        monkeypatch.undo()
        (tmp_path / AuditCut.objects.get().archive).unlink()
        report = run(tmp_path)
        assert not report.ok and "is missing" in report.chains[0].error
        assert AuditEvent.objects.exclude(action=Action.AUDIT_ARCHIVE).count() == 30


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_cut_each_segment_once(tenant, other_tenant, tmp_path):
    old_events(tenant, 300)
    old_events(other_tenant, 300)
    reports: list[retention.RetentionReport] = []

    def one() -> None:
        try:
            reports.append(run(tmp_path, batch_size=25))
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(reports) == 2
    assert AuditCut.objects.count() == 2
    assert sum(r.archived for r in reports) == 600 and sum(r.deleted for r in reports) == 600
    assert not AuditEvent.objects.exclude(action=Action.AUDIT_ARCHIVE).exists()
    assert len(list(tmp_path.rglob("*.jsonl.gz"))) == 2
    assert verify_chain(archive_dir=tmp_path).ok


class TestCommand:
    def test_it_is_off_by_default(self, tenant, capsys, settings):
        old_events(tenant, 5)
        assert settings.AUDIT_RETENTION_DAYS == 0
        call_command("archive_audit")
        assert "retention is off" in capsys.readouterr().out and AuditEvent.objects.count() == 5

    def test_it_archives_with_progress_and_verifies(self, tenant, tmp_path, capsys, settings):
        settings.AUDIT_RETENTION_DAYS, settings.AUDIT_ARCHIVE_DIR = 400, str(tmp_path)
        old_events(tenant, 30)
        call_command("archive_audit", batch_size=10, pause=0.001)
        out = capsys.readouterr().out
        assert "archived 30 events" in out and "rows/s" in out and "removed 30/30 events" in out
        assert "Archived 30 and removed 30 events" in out
        call_command("verify_audit")
        assert "verify them with --archive" in capsys.readouterr().out

    def test_it_does_one_chain_or_only_counts(self, world, capsys):
        tenant, tmp_path = world["tenant"], world["dir"]
        call_command("archive_audit", days=400, archive_dir=str(tmp_path), dry_run=True)
        assert "Dry run: 160 events" in capsys.readouterr().out and not AuditCut.objects.exists()
        call_command("archive_audit", days=400, archive_dir=str(tmp_path), chain=[chain_for(tenant.pk)])
        assert list(AuditCut.objects.values_list("chain", flat=True)) == [chain_for(tenant.pk)]

    def test_verify_audit_refuses_a_missing_archive_directory(self, tmp_path):
        with pytest.raises(CommandError, match="No archive directory"):
            call_command("verify_audit", archive=str(tmp_path / "nowhere"))

    def test_it_refuses_an_archive_directory_it_cannot_write(self, tenant, tmp_path):
        old_events(tenant, 5)
        blocker = tmp_path / "file"
        blocker.write_text("")
        with pytest.raises(CommandError, match="cannot write to the archive directory"):
            call_command("archive_audit", days=400, archive_dir=str(blocker / "sub"))
        assert AuditEvent.objects.count() == 5

    def test_it_fails_when_a_chain_failed(self, tenant, tmp_path):
        old_events(tenant, 5)
        AuditEvent.objects.filter(pk=AuditEvent.objects.order_by("id")[2].pk).update(detail="x")
        with pytest.raises(CommandError, match="failed for some chains"):
            call_command("archive_audit", days=400, archive_dir=str(tmp_path))

    def test_it_reads_an_archive_line_back_into_the_same_hash(self, tenant, tmp_path):
        old_events(tenant, 3)
        run(tmp_path)
        path = next(tmp_path.rglob("*.jsonl.gz"))
        assert [e.hash == compute_hash(e) for _, e in read_archive(path)] == [True] * 3


class TestPage:
    def test_it_says_where_older_events_are(self, world, console, settings):
        settings.AUDIT_ARCHIVE_DIR = str(world["dir"])
        run(world["dir"])
        cut = AuditCut.objects.get(chain=chain_for(world["tenant"].pk))
        html = console("viewer").get(reverse("console:audit:log")).content.decode()
        assert "Older events are archived: 120 events up to" in html
        assert cut.archive in html and cut.last_created_at.strftime("%Y-%m-%d") in html
        oldest = AuditEvent.objects.filter(tenant=world["tenant"]).order_by("id").first()
        assert f'the oldest event here is from\n    <time datetime="{oldest.created_at.isoformat()}' in html
        assert str(world["dir"]) not in html  # the server's directory: admins only
        assert str(world["dir"]) in console("admin").get(reverse("console:audit:log")).content.decode()

    def test_it_says_nothing_of_archives_before_any_cut(self, tenant, console):
        young_events(tenant, 1)
        assert (
            "Older events are archived"
            not in console("viewer").get(reverse("console:audit:log")).content.decode()
        )
