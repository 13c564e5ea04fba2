"""Audit retention: each chain's events older than the retention window are archived, then removed.

Per chain, the closed segment is the run of events after the chain's latest cut that are all older than the
cutoff and already delivered by every configured stream sink (truss/audit/stream.py). It is

1. written to AUDIT_ARCHIVE_DIR as gzip JSON lines (one file per chain per cut, each line an event as the stream
   sends it: every stored field and both hashes, so every hash recomputes), checked link by link as it is
   written (a broken segment is never archived nor removed), fsynced, then renamed into place;
2. recorded as an ``AuditCut`` (the last event's id and hash, the file's name and sha256) signed with the
   checkpoint key (truss/audit/verify.py), and logged as a line like a checkpoint;
3. removed from the table in batches by id, each batch its own short transaction (no table lock; appends to the
   chain, which take only its head row, never wait for it), with an optional pause between batches.

A run stopped anywhere resumes on the next: a file without its cut is written again (crash leftovers of the same
segment are removed once the cut exists); a cut whose events are still in the table has them removed first,
once its file is checked against the cut. Two runs at once are safe: the cut is made under a per-chain lock and
only if no other run cut the chain meanwhile. Each chain a run changed gets one AUDIT_ARCHIVE event with the
counts. Daily rollups (AuditDailyCount) are kept: charts stay right.

``run()`` is the entry point (``manage.py archive_audit`` and the benchmarks call it).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Min
from django.utils import timezone

from truss import sql
from truss.audit import stream
from truss.audit.actions import Action
from truss.audit.events import GENESIS, chain_for, compute_hash, logger
from truss.audit.recording import record
from truss.audit.verify import cut_body, file_sha256, sign_cut
from truss.models import AuditCut, AuditEvent, Tenant

BATCH_SIZE = 5000  # events removed per transaction (and read per query while archiving)
ARCHIVE_MODE = 0o640  # archives hold what the audit log holds: readable by the owner and its group only
STALE_PARTIAL = 3600  # seconds after which a .partial file nobody writes to any more is a killed run's
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")

Progress = Callable[[str], None]


class RetentionError(Exception):
    """Retention cannot run at all (no archive directory it can write, a bad setting)."""


@dataclass
class ChainRun:
    """What a run did to one chain."""

    chain: str
    archived: int = 0  # events written to a new archive (and cut)
    deleted: int = 0  # events removed from the table (a resumed cut's included)
    cut: AuditCut | None = None  # the cut this run made, if any
    archive: str = ""  # its file, relative to the archive directory
    held_back: str = ""  # why old events stayed (a stream sink has not delivered them)
    error: str = ""
    archive_seconds: float = 0.0
    delete_seconds: float = 0.0
    batches: int = 0
    longest_batch: float = 0.0  # seconds of the longest delete transaction

    @property
    def changed(self) -> bool:
        return bool(self.archived or self.deleted)


@dataclass
class RetentionReport:
    cutoff: datetime
    chains: list[ChainRun] = field(default_factory=list)
    dry_run: bool = False

    @property
    def archived(self) -> int:
        return sum(c.archived for c in self.chains)

    @property
    def deleted(self) -> int:
        return sum(c.deleted for c in self.chains)

    @property
    def delete_seconds(self) -> float:
        return sum(c.delete_seconds for c in self.chains)

    @property
    def archive_seconds(self) -> float:
        return sum(c.archive_seconds for c in self.chains)

    @property
    def rows_per_second(self) -> float:
        """Events removed per second of deleting."""
        return self.deleted / self.delete_seconds if self.delete_seconds else 0.0

    @property
    def archived_per_second(self) -> float:
        return self.archived / self.archive_seconds if self.archive_seconds else 0.0

    @property
    def longest_batch(self) -> float:
        return max((c.longest_batch for c in self.chains), default=0.0)

    @property
    def ok(self) -> bool:
        return not any(c.error for c in self.chains)


# --- Settings -------------------------------------------------------------------------------------------------


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    if days < 1:
        raise RetentionError("the retention window must be at least one day")
    return (now or timezone.now()) - timedelta(days=days)


def archive_dir() -> Path:
    return Path(settings.AUDIT_ARCHIVE_DIR)


def _writable(directory: Path) -> Path:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise RetentionError(f"cannot write to the archive directory {directory}: {exc}") from exc
    return directory


# --- Which events may go ------------------------------------------------------------------------------------


def latest_cut(chain: str) -> AuditCut | None:
    return AuditCut.objects.filter(chain=chain).order_by("-last_id").first()


def delivered_up_to() -> tuple[int | None, str]:
    """The id up to which every configured stream sink has delivered (None: no sink is configured), and which
    sink holds it there."""
    sinks = stream.status()
    if not sinks:
        return None, ""
    slowest = min(sinks, key=lambda s: s.position)
    return slowest.position, slowest.kind


def segment_end(chain: str, cutoff: datetime, after_id: int, limit: int | None) -> AuditEvent | None:
    """The last event of the closed segment after ``after_id``: every event up to it is older than ``cutoff``
    (the first younger event ends the segment, whatever comes after it) and has id ≤ ``limit``."""
    events = AuditEvent.objects.filter(chain=chain, id__gt=after_id)
    young = events.filter(created_at__gte=cutoff).aggregate(first=Min("id"))["first"]
    closed = events.filter(created_at__lt=cutoff)
    if young is not None:
        closed = closed.filter(id__lt=young)
    if limit is not None:
        closed = closed.filter(id__lte=limit)
    return closed.order_by("-id").first()


def chains_with_old_events(cutoff: datetime) -> list[str]:
    """Chains with an event older than the cutoff or a cut whose events are still in the table."""
    old = set(AuditEvent.objects.filter(created_at__lt=cutoff).values_list("chain", flat=True).distinct())
    return sorted(old | set(AuditCut.objects.values_list("chain", flat=True).distinct()))


# --- Writing an archive ---------------------------------------------------------------------------------------


def archive_name(chain: str, first_id: int, last_id: int) -> str:
    """The file of one cut, relative to the archive directory: one folder per chain."""
    safe = _SAFE.sub("-", chain)
    return f"{safe}/{safe}-{first_id:012d}-{last_id:012d}.jsonl.gz"


def _segment(chain: str, after_id: int, last_id: int, batch_size: int) -> Iterator[list[AuditEvent]]:
    """The segment's events in id order, in keyset batches (no long-lived cursor)."""
    position = after_id
    while True:
        batch = list(
            AuditEvent.objects.filter(chain=chain, id__gt=position, id__lte=last_id).order_by("id")[
                :batch_size
            ]
        )
        if batch:
            yield batch
        if len(batch) < batch_size:
            return
        position = batch[-1].pk


class BrokenSegment(Exception):
    """The segment does not verify: it is neither archived nor removed."""


def _line(event: AuditEvent) -> bytes:
    return json.dumps(stream.serialize(event), sort_keys=True, separators=(",", ":"), default=str).encode()


def write_archive(
    directory: Path, chain: str, after: AuditCut | None, last_id: int, batch_size: int = BATCH_SIZE
) -> tuple[str, str, int, AuditEvent]:
    """Write the events after ``after`` up to ``last_id`` to their archive file, each checked against the one
    before it (from genesis or ``after``'s hash) and its own hash. Returns (name, sha256, events, last event).
    The file is complete and fsynced once it has its name; a broken segment raises BrokenSegment."""
    after_id, prev = (after.last_id, after.last_hash) if after else (0, GENESIS)
    first = (
        AuditEvent.objects.filter(chain=chain, id__gt=after_id).order_by("id").values_list("id", flat=True)
    )
    first_id = first.first() or 0
    name = archive_name(chain, first_id, last_id)
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.partial")
    count, last = 0, None
    try:
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, ARCHIVE_MODE), "wb") as raw:
            # Level 6: nearly level 9's size at about half its time. No name or time in the header: the same
            # events always give the same bytes (a rewritten run replaces a leftover with an identical file).
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as out:
                for batch in _segment(chain, after_id, last_id, batch_size):
                    for event in batch:
                        if event.prev_hash != prev or compute_hash(event) != event.hash:
                            raise BrokenSegment(
                                f"event #{event.pk} does not verify: run verify_audit; nothing was archived"
                            )
                        prev = event.hash
                    out.write(b"".join(_line(event) + b"\n" for event in batch))
                    last, count = batch[-1], count + len(batch)
            raw.flush()
            os.fsync(raw.fileno())
        if last is None or last.pk != last_id:
            raise BrokenSegment(f"the segment did not end at #{last_id}: rows were removed meanwhile")
        os.replace(partial, path)
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return name, file_sha256(path), count, last


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- The cut ------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _chain_lock(chain: str) -> Iterator[None]:
    """Within a transaction: one retention run at a time cuts ``chain``. PostgreSQL: a transaction-scoped
    advisory lock (appends, which lock the head row, do not wait for it); SQLite: its transactions already
    take the write lock when they begin (transaction_mode IMMEDIATE)."""
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.sha256(f"truss.audit.retention:{chain}".encode()).digest()[:8], "big")
        sql.run("SELECT pg_advisory_xact_lock(%s)", [key - (1 << 63)])
    yield


def make_cut(
    chain: str, after: AuditCut | None, last: AuditEvent, events: int, name: str, sha256: str
) -> AuditCut | None:
    """Record the signed cut, unless another run cut the chain since ``after`` (then None)."""
    with transaction.atomic(), _chain_lock(chain):
        current = latest_cut(chain)
        if (current.last_id if current else 0) != (after.last_id if after else 0):
            return None
        cut = AuditCut.objects.create(
            chain=chain,
            last_id=last.pk,
            last_hash=last.hash,
            last_created_at=last.created_at,
            events=events,
            archive=name,
            archive_sha256=sha256,
        )
        cut.signature = sign_cut(cut)
        cut.save(update_fields=["signature"])
    logger.info("%s", json.dumps(describe(cut), sort_keys=True))
    return cut


def _remove_leftovers(directory: Path, cut: AuditCut) -> None:
    """Files of the same segment start that no cut names (a run stopped before its cut), and partial files
    no run has written to for STALE_PARTIAL seconds (a run killed while writing)."""
    named = set(AuditCut.objects.filter(chain=cut.chain).values_list("archive", flat=True))
    path = directory / cut.archive
    start = path.name.rsplit("-", 1)[0]  # "<chain>-<first id>"
    for other in path.parent.glob(f"{start}-*.jsonl.gz"):
        if other.relative_to(directory).as_posix() not in named:
            logger.info("removing %s: an archive left without its cut", other)
            other.unlink(missing_ok=True)
    for partial in path.parent.glob(".*.partial"):
        with contextlib.suppress(FileNotFoundError):
            if time.time() - partial.stat().st_mtime > STALE_PARTIAL:
                logger.info("removing %s: a partial archive of a run that was killed", partial)
                partial.unlink()


# --- Removing archived events ---------------------------------------------------------------------------------


def delete_batch(chain: str, up_to: int, batch_size: int) -> int:
    """Remove the chain's oldest events up to ``up_to``, at most ``batch_size``, in one short transaction."""
    with transaction.atomic():
        ids = list(
            AuditEvent.objects.filter(chain=chain, id__lte=up_to)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return 0
        removed, _ = AuditEvent.objects.filter(chain=chain, id__gte=ids[0], id__lte=ids[-1]).delete()
        return int(removed)


def _delete_cut(outcome: ChainRun, cut: AuditCut, batch_size: int, pause: float, progress: Progress) -> None:
    """Remove the cut's events batch by batch; ``delete_seconds`` counts the transactions, not the pauses."""
    remaining = AuditEvent.objects.filter(chain=cut.chain, id__lte=cut.last_id).count()
    while True:
        begun = time.monotonic()
        removed = delete_batch(cut.chain, cut.last_id, batch_size)
        took = time.monotonic() - begun
        outcome.longest_batch = max(outcome.longest_batch, took)
        outcome.delete_seconds += took
        outcome.deleted += removed
        outcome.batches += bool(removed)
        if removed:
            rate = outcome.deleted / outcome.delete_seconds if outcome.delete_seconds else 0.0
            progress(f"{cut.chain}: removed {outcome.deleted:,}/{remaining:,} events ({rate:,.0f} rows/s)")
        if removed < batch_size:
            return
        if pause:
            time.sleep(pause)


def _archive_checked(directory: Path, cut: AuditCut) -> str:
    """Why the cut's archive file cannot be relied on (missing, or not the file the cut recorded), or ""."""
    path = directory / cut.archive
    if not path.is_file():
        return f"its archive {cut.archive} is missing from {directory}"
    if file_sha256(path) != cut.archive_sha256:
        return f"its archive {cut.archive} is not the file the cut recorded (sha256 differs)"
    return ""


# --- A run --------------------------------------------------------------------------------------------------


def retain_chain(
    chain: str,
    cutoff: datetime,
    *,
    directory: Path,
    batch_size: int = BATCH_SIZE,
    pause: float = 0.0,
    delivered: tuple[int | None, str] = (None, ""),
    dry_run: bool = False,
    progress: Progress = lambda _line: None,
) -> ChainRun:
    """Archive and remove one chain's closed segment (and finish a cut an earlier run left in the table)."""
    outcome = ChainRun(chain)
    cut = latest_cut(chain)
    if cut is not None and AuditEvent.objects.filter(chain=chain, id__lte=cut.last_id).exists():
        problem = _archive_checked(directory, cut)
        if problem:
            outcome.error = f"the cut at #{cut.last_id} was not finished and {problem}; nothing removed"
            return outcome
        if not dry_run:
            progress(f"{chain}: finishing the cut at #{cut.last_id} ({cut.archive})")
            _delete_cut(outcome, cut, batch_size, pause, progress)
    limit, sink = delivered
    end = segment_end(chain, cutoff, cut.last_id if cut else 0, limit)
    if limit is not None:
        older = segment_end(chain, cutoff, cut.last_id if cut else 0, None)
        if older is not None and (end is None or older.pk > end.pk):
            outcome.held_back = f"events after #{limit} are not yet delivered to the {sink} stream"
    if end is None or dry_run:
        if end is not None:
            outcome.archived = AuditEvent.objects.filter(
                chain=chain, id__gt=cut.last_id if cut else 0, id__lte=end.pk
            ).count()
        return outcome
    begun = time.monotonic()
    try:
        name, sha, count, last = write_archive(directory, chain, cut, end.pk, batch_size)
    except BrokenSegment as exc:
        outcome.error = str(exc)
        return outcome
    outcome.archive_seconds = time.monotonic() - begun
    progress(
        f"{chain}: archived {count:,} events (#{cut.last_id + 1 if cut else 1}–#{last.pk}) to {name} "
        f"({count / outcome.archive_seconds if outcome.archive_seconds else 0:,.0f} rows/s)"
    )
    made = make_cut(chain, cut, last, count, name, sha)
    if made is None:
        outcome.error = "another retention run cut this chain meanwhile; left to it"
        if not AuditCut.objects.filter(chain=chain, archive=name).exists():
            (directory / name).unlink(missing_ok=True)
        return outcome
    outcome.cut, outcome.archive, outcome.archived = made, name, count
    _remove_leftovers(directory, made)
    _delete_cut(outcome, made, batch_size, pause, progress)
    return outcome


def _audit(outcome: ChainRun, cutoff: datetime) -> None:
    """One AUDIT_ARCHIVE event for a chain the run changed or failed on, in that chain's tenant's log."""
    if not outcome.changed and not outcome.error:
        return
    tenant = None
    if outcome.chain.startswith("tenant:"):
        tenant = Tenant.objects.filter(pk=int(outcome.chain.removeprefix("tenant:"))).first()
    cut = outcome.cut or latest_cut(outcome.chain)
    record(
        None,
        Action.AUDIT_ARCHIVE,
        tenant=tenant,
        target=outcome.archive or (cut.archive if cut else ""),
        outcome=AuditEvent.Outcome.FAILURE if outcome.error else AuditEvent.Outcome.SUCCESS,
        after={
            "chain": outcome.chain,
            "cutoff": cutoff.isoformat(),
            "archived": outcome.archived,
            "deleted": outcome.deleted,
            "cut_last_id": cut.last_id if cut else None,
            "archive_sha256": cut.archive_sha256 if cut else None,
        },
        detail=outcome.error,
    )


def run(
    cutoff: datetime,
    *,
    batch_size: int = BATCH_SIZE,
    pause: float = 0.0,
    directory: Path | None = None,
    chains: list[str] | None = None,
    dry_run: bool = False,
    progress: Progress = lambda _line: None,
) -> RetentionReport:
    """Archive and remove every chain's events older than ``cutoff`` (those a stream sink has not delivered
    stay). ``chains``: only these. ``pause``: seconds between delete batches. ``dry_run``: count only."""
    if batch_size < 1:
        raise RetentionError("the batch size must be at least 1")
    folder = directory or archive_dir()
    if not dry_run:
        _writable(folder)
    report = RetentionReport(cutoff, dry_run=dry_run)
    delivered = delivered_up_to()
    for chain in chains if chains is not None else chains_with_old_events(cutoff):
        try:
            outcome = retain_chain(
                chain,
                cutoff,
                directory=folder,
                batch_size=batch_size,
                pause=pause,
                delivered=delivered,
                dry_run=dry_run,
                progress=progress,
            )
        except (OSError, DatabaseError) as exc:
            logger.exception("audit retention of %s failed", chain)
            outcome = ChainRun(chain, error=f"{type(exc).__name__}: {exc}"[:500])
        report.chains.append(outcome)
        if not dry_run:
            _audit(outcome, cutoff)
    return report


# --- Where older events are (the audit log page) ------------------------------------------------------------


@dataclass(frozen=True)
class ArchivedState:
    """Where a tenant's older events are: the oldest event still in the table and the cuts before it."""

    oldest_live: datetime | None
    cuts: list[AuditCut]
    directory: str

    @property
    def archived(self) -> int:
        return sum(c.events for c in self.cuts)


def archived_for(tenant: Tenant) -> ArchivedState:
    """The tenant chain's cuts and its oldest live event (two indexed queries)."""
    cuts = list(AuditCut.objects.filter(chain=chain_for(tenant.pk)).order_by("last_id"))
    oldest = (
        AuditEvent.objects.filter(tenant=tenant).order_by("id").values_list("created_at", flat=True).first()
        if cuts
        else None
    )
    return ArchivedState(oldest, cuts, str(archive_dir()))


def describe(cut: AuditCut) -> dict[str, Any]:
    """A cut as a signed, self-contained JSON object (the line retention logs)."""
    return {**cut_body(cut), "signature": cut.signature}
