"""Verification and checkpoints: walk each chain from its genesis (or its latest cut); signed checkpoints anchor it
outside the table.

The head row only detects removal of a chain's newest rows while it is itself intact: signed checkpoints
(`checkpoint()`, `manage.py audit_checkpoint`, logged every AUDIT_CHECKPOINT_EVERY events) are the anchor outside
the table that `verify_chain(checkpoints=…)` checks truncation against.

Retention (truss/audit/retention.py) archives a chain's oldest events and removes them; where it cut, an
``AuditCut`` row signed with the checkpoint key names the last archived event and its hash. The live chain is
verified from the cut's hash instead of genesis; with the archive directory, every archive file is verified too
(its sha256 against the cut, every line's hash recomputed, each line linked to the one before, the first to
genesis or the previous cut, the last to the cut), so the whole history verifies.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from truss.audit.events import GENESIS, compute_hash
from truss.models import AuditChainHead, AuditCut, AuditEvent

CHECKPOINT_KIND = "truss.audit.checkpoint"
CUT_KIND = "truss.audit.cut"


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None  # id of the first event whose link does not hold (0: no row to name)
    reason: str = ""
    chain: str = ""
    chains: int = 0
    cuts: int = 0  # chains verified from a retention cut rather than from genesis
    archived: int = 0  # archived events verified (with an archive directory)
    archives: int = 0  # archive files verified

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _events(chain: str) -> Iterator[AuditEvent]:
    return AuditEvent.objects.filter(chain=chain).order_by("id").iterator(chunk_size=5000)


def chains() -> list[str]:
    """Every chain that has rows, a head row or a retention cut."""
    names = set(AuditEvent.objects.values_list("chain", flat=True).distinct())
    names |= set(AuditChainHead.objects.values_list("chain", flat=True))
    return sorted(names | set(AuditCut.objects.values_list("chain", flat=True).distinct()))


def _cuts(chain: str) -> list[AuditCut]:
    return list(AuditCut.objects.filter(chain=chain).order_by("last_id"))


@dataclass
class _Walk:
    """A chain walked so far: the hash the next event must link to and the events checked."""

    prev: str
    checked: int = 0
    last_id: int = 0
    first_live: int | None = None  # the chain's first row in the table (the archive walk notes its link)
    before_live: str = ""  # the hash of the archived event just before that row


def _verify_live(
    chain: str, anchors: dict[int, str], cuts: list[AuditCut], before_live: str = ""
) -> tuple[int, ChainReport | None]:
    """Walk the chain's rows in the table. Without cuts from genesis; with cuts from the hash of the latest cut
    before its first row (rows of a cut whose removal was interrupted are still there and checked against the
    cut). `anchors` maps event ids a checkpoint vouches for to their hashes; those at or before the cut the walk
    starts from are the archive's (checked by `_verify_archives`).

    While a cut's removal is under way (or was stopped), the first row is inside the cut: it links to an event
    that is only in the archive, ``before_live`` (its hash, when the archive was verified).
    """
    pending = {cut.last_id: cut.last_hash for cut in cuts}
    walk: _Walk | None = None
    for event in _events(chain):
        if walk is None:
            walk = _start(event.pk, cuts, pending, anchors)
        if walk.checked == 0 and event.prev_hash != walk.prev and _inside_a_cut(event.pk, cuts):
            if before_live and event.prev_hash != before_live:
                return 0, ChainReport(
                    0, event.pk, "it does not link to the archived event before it: rows were edited", chain
                )
            walk.prev = event.prev_hash  # the rest of the cut's rows still lead to the cut's own hash
        if event.prev_hash != walk.prev:
            reason = "previous hash does not match: a row before it was removed or edited"
            if walk.checked == 0 and walk.prev != GENESIS:
                reason = "it does not link to the retention cut before it: rows after the cut were removed"
            return walk.checked, ChainReport(walk.checked, event.pk, reason, chain)
        if compute_hash(event) != event.hash:
            return walk.checked, ChainReport(
                walk.checked, event.pk, "row content does not match its hash: it was edited", chain
            )
        if event.pk in pending and pending.pop(event.pk) != event.hash:
            return walk.checked, ChainReport(
                walk.checked, event.pk, "the chain differs from the signed retention cut", chain
            )
        if event.pk in anchors and anchors.pop(event.pk) != event.hash:
            return walk.checked, ChainReport(
                walk.checked, event.pk, "the chain differs from the signed checkpoint", chain
            )
        walk.prev, walk.last_id = event.hash, event.pk
        walk.checked += 1
    if walk is None:  # no row left: the chain ends where its latest cut is
        walk = _start(None, cuts, pending, anchors)
    checked = walk.checked
    if pending:
        missing = min(pending)
        return checked, ChainReport(
            checked, missing, f"event #{missing} of a retention cut is missing: rows were removed", chain
        )
    if anchors:
        missing = min(anchors)
        return checked, ChainReport(
            checked, missing, f"event #{missing} of a signed checkpoint is missing: rows were removed", chain
        )
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and head.last_hash != walk.prev:
        return checked, ChainReport(
            checked, walk.last_id, "the newest rows were removed: the chain head does not match", chain
        )
    return checked, None


def _start(
    first_id: int | None, cuts: list[AuditCut], pending: dict[int, str], anchors: dict[int, str]
) -> _Walk:
    """Where the walk of the table starts: the latest cut before ``first_id`` (every cut without rows), or
    genesis. The cuts and anchors it passes are settled (the archive's part)."""
    passed = [cut for cut in cuts if first_id is None or cut.last_id < first_id]
    if not passed:
        return _Walk(GENESIS)
    cut = passed[-1]
    for position in [p for p in pending if p <= cut.last_id]:
        del pending[position]
    for position in [p for p in anchors if p <= cut.last_id]:
        del anchors[position]
    return _Walk(cut.last_hash, last_id=cut.last_id)


def _inside_a_cut(event_id: int, cuts: list[AuditCut]) -> bool:
    """Whether the event belongs to a cut whose rows are being (or were left half) removed."""
    return any(cut.last_id >= event_id for cut in cuts)


def _signature_problem(chain: str, cuts: list[AuditCut]) -> ChainReport | None:
    for cut in cuts:
        if not cut_signature_ok(cut):
            return ChainReport(
                0,
                cut.last_id,
                f"the retention cut at #{cut.last_id} is not signed with the checkpoint key: forged or altered",
                chain,
            )
    return None


def verify_chain(
    checkpoints: Iterable[dict[str, Any]] = (), archive_dir: Path | str | None = None
) -> ChainReport:
    """Verify every chain, and that each chain still reaches the position the latest checkpoint recorded for it.
    A chain that retention cut is verified from its latest cut; with ``archive_dir``, its archive files too, from
    genesis (checkpoints older than the cut are then checked against the archive).

    Raises CheckpointError for a checkpoint whose signature does not hold (forged or for another key)."""
    anchors: dict[str, dict[int, str]] = {}
    latest: dict[str, str] = {}
    for point in checkpoints:
        check_signature(point)
        for name, position in point["chains"].items():
            if point["created_at"] >= latest.get(name, ""):
                latest[name] = point["created_at"]
                anchors[name] = {int(position["last_id"]): str(position["last_hash"])}
    total = archived = files = cut_chains = 0
    names = sorted(set(chains()) | set(anchors))
    for name in names:
        cuts = _cuts(name)
        result = _verify_chain(name, dict(anchors.get(name, {})), cuts, archive_dir)
        total, archived, cut_chains = (
            total + result.checked,
            archived + result.archived,
            cut_chains + bool(cuts),
        )
        files += result.archives
        if not result.ok:
            return ChainReport(
                total, result.broken_at, result.reason, name, len(names), cut_chains, archived, files
            )
    return ChainReport(total, None, chains=len(names), cuts=cut_chains, archived=archived, archives=files)


def _verify_chain(
    name: str, anchors: dict[int, str], cuts: list[AuditCut], archive_dir: Path | str | None
) -> ChainReport:
    """One chain: its cuts' signatures, its archive files (with ``archive_dir``), then its rows."""
    problem = _signature_problem(name, cuts)
    if problem is not None:
        return problem
    archived, before_live = _Walk(GENESIS), ""
    if archive_dir is not None and cuts:
        first_live = AuditEvent.objects.filter(chain=name).order_by("id").values_list("id", flat=True)
        archived.first_live = first_live.first()
        problem = _verify_archives(name, cuts, Path(archive_dir), anchors, archived)
        if problem is not None:
            return ChainReport(0, problem.broken_at, problem.reason, name, archived=archived.checked)
        before_live = archived.before_live
    checked, problem = _verify_live(name, anchors, cuts, before_live)
    files = len(cuts) if archive_dir is not None else 0
    if problem is not None:
        return ChainReport(checked, problem.broken_at, problem.reason, name, archived=archived.checked)
    return ChainReport(checked, None, chain=name, archived=archived.checked, archives=files)


# --- Archives: what retention removed, verified against its signed cuts -----------------------------------------


class ArchiveError(ValueError):
    """An archive file that cannot be read (not gzip, cut short, a line that is not an event)."""


def archived_event(line: dict[str, Any]) -> AuditEvent:
    """An event from one archive line: the inverse of ``truss.audit.stream.serialize`` (what retention writes),
    with every field the hash covers, so ``compute_hash`` recomputes it."""
    return AuditEvent(
        pk=int(line["id"]),
        chain=str(line["chain"]),
        tenant_id=line["tenant"],
        created_at=datetime.fromisoformat(str(line["created_at"])),
        actor=line["actor"],
        action=line["action"],
        target=line["target"],
        outcome=line["outcome"],
        request_id=line["request_id"],
        ip=line["ip"],
        before=line["before"],
        after=line["after"],
        detail=line["detail"],
        prev_hash=str(line["prev_hash"]),
        hash=str(line["hash"]),
    )


def read_archive(path: Path) -> Iterator[tuple[int, AuditEvent]]:
    """(line number, event) of each line of a gzip JSON-lines archive. Raises ArchiveError for a file that is
    not one (naming the line)."""
    number = 0
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):  # noqa: B007 (named in the message below)
                yield number, _parse_line(number, line)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise ArchiveError(f"not a complete gzip file (after line {number}): {exc}") from exc


def _parse_line(number: int, line: str) -> AuditEvent:
    try:
        value = json.loads(line)
        if not isinstance(value, dict):
            raise TypeError("not an object")
        return archived_event(value)
    except (ValueError, KeyError, TypeError) as exc:
        raise ArchiveError(f"line {number} is not an event ({type(exc).__name__}: {exc})") from exc


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify_archives(
    chain: str, cuts: list[AuditCut], directory: Path, anchors: dict[int, str], walk: _Walk
) -> ChainReport | None:
    """Walk the chain through its archive files, one per cut in order, from genesis to the latest cut."""
    for cut in cuts:
        problem = _verify_archive(chain, cut, directory, walk, anchors)
        if problem is not None:
            return ChainReport(walk.checked, problem[0], problem[1], chain)
    covered = cuts[-1].last_id
    missing = [p for p in anchors if p <= covered]
    if missing:
        return ChainReport(
            walk.checked,
            min(missing),
            f"event #{min(missing)} of a signed checkpoint is in no archive: rows were removed",
            chain,
        )
    return None


def _verify_archive(
    chain: str, cut: AuditCut, directory: Path, walk: _Walk, anchors: dict[int, str]
) -> tuple[int, str] | None:
    """(event id or 0, reason) of the first problem of one cut's archive file, or None; ``walk`` moves on."""
    name = cut.archive
    path = directory / name
    if not path.is_file():
        return cut.last_id, f"archive {name} of the cut at #{cut.last_id} is missing from {directory}"
    count = 0
    try:
        for number, event in read_archive(path):
            where = f"archive {name}, line {number} (event #{event.pk})"
            if event.chain != chain:
                return event.pk, f"{where} belongs to chain {event.chain!r}: the file was swapped"
            if event.pk <= walk.last_id:
                return event.pk, f"{where} is out of order or repeated"
            if event.prev_hash != walk.prev:
                before = "the line before it" if count else "genesis or the previous cut"
                return event.pk, f"{where} does not link to {before}: a line was removed or reordered"
            if compute_hash(event) != event.hash:
                return event.pk, f"{where} does not match its hash: it was edited"
            if event.pk in anchors and anchors.pop(event.pk) != event.hash:
                return event.pk, f"{where} differs from the signed checkpoint"
            walk.prev, walk.last_id = event.hash, event.pk
            if walk.first_live is not None and event.pk < walk.first_live:
                walk.before_live = event.hash
            walk.checked += 1
            count += 1
    except ArchiveError as exc:
        return walk.last_id, f"archive {name} is unreadable: {exc}"
    if walk.last_id != cut.last_id:
        return cut.last_id, (
            f"archive {name} ends at #{walk.last_id}, not at its cut's #{cut.last_id}: lines were removed"
        )
    if walk.prev != cut.last_hash:
        return cut.last_id, (
            f"archive {name} does not end in its cut's hash: the file was rewritten (hashes recomputed)"
        )
    if count != cut.events:
        return cut.last_id, f"archive {name} holds {count} events, its cut {cut.events}: lines were removed"
    if file_sha256(path) != cut.archive_sha256:
        return cut.last_id, f"archive {name} is not the file its cut signed (sha256 differs): it was replaced"
    return None


# --- Signed checkpoints: the anchor outside the table ----------------------------------------------------------


class CheckpointError(ValueError):
    """A checkpoint that is malformed or whose signature does not hold."""


def _checkpoint_key() -> bytes:
    if settings.AUDIT_CHECKPOINT_KEY:
        return str(settings.AUDIT_CHECKPOINT_KEY).encode()
    return hashlib.sha256(b"truss.audit.checkpoint:" + str(settings.SECRET_KEY).encode()).digest()


def _signature(body: dict[str, Any]) -> str:
    unsigned = {k: v for k, v in body.items() if k != "signature"}
    message = json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(_checkpoint_key(), message, hashlib.sha256).hexdigest()


def checkpoint(only: Iterable[str] | None = None) -> dict[str, Any]:
    """A signed statement of where each chain's head is now: {chain: {last_id, last_hash}}."""
    wanted = set(only) if only is not None else None
    positions: dict[str, dict[str, Any]] = {}
    with transaction.atomic():  # heads and their rows are written together, so read them together
        for head in AuditChainHead.objects.order_by("chain"):
            if (wanted is not None and head.chain not in wanted) or head.last_hash == GENESIS:
                continue
            last_id = AuditEvent.objects.filter(hash=head.last_hash).values_list("id", flat=True).first()
            if last_id is not None:
                positions[head.chain] = {"last_id": last_id, "last_hash": head.last_hash}
    body: dict[str, Any] = {
        "kind": CHECKPOINT_KIND,
        "created_at": timezone.now().isoformat(),
        "chains": positions,
    }
    body["signature"] = _signature(body)
    return body


def check_signature(point: dict[str, Any]) -> None:
    if point.get("kind") != CHECKPOINT_KIND or not isinstance(point.get("chains"), dict):
        raise CheckpointError("not a Truss audit checkpoint")
    if not hmac.compare_digest(str(point.get("signature", "")), _signature(point)):
        raise CheckpointError(
            "the checkpoint's signature does not match: forged, altered or signed with another key"
        )


def read_checkpoints(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Checkpoints from a file of JSON lines or log lines containing them (other lines are skipped)."""
    found: list[dict[str, Any]] = []
    for line in lines:
        start = line.find("{")
        if start < 0 or CHECKPOINT_KIND not in line:
            continue
        try:
            point = json.loads(line[start:])
        except ValueError as exc:
            raise CheckpointError(f"unreadable checkpoint line: {exc}") from exc
        if isinstance(point, dict):
            found.append(point)
    return found


# --- Retention cuts: signed like checkpoints ------------------------------------------------------------------


def cut_body(cut: AuditCut) -> dict[str, Any]:
    """What a cut's signature covers: every field of the row but its id and the signature."""
    return {
        "kind": CUT_KIND,
        "chain": cut.chain,
        "last_id": cut.last_id,
        "last_hash": cut.last_hash,
        "last_created_at": cut.last_created_at.isoformat(),
        "events": cut.events,
        "archive": cut.archive,
        "archive_sha256": cut.archive_sha256,
        "created_at": cut.created_at.isoformat(),
    }


def sign_cut(cut: AuditCut) -> str:
    """The cut's signature: HMAC-SHA256 with the checkpoint key, as a checkpoint is signed."""
    return _signature(cut_body(cut))


def cut_signature_ok(cut: AuditCut) -> bool:
    return hmac.compare_digest(str(cut.signature), sign_cut(cut))
