"""Verification and checkpoints: walk each chain from its genesis; signed checkpoints anchor it outside the table.

The head row only detects removal of a chain's newest rows while it is itself intact: signed checkpoints
(`checkpoint()`, `manage.py audit_checkpoint`, logged every AUDIT_CHECKPOINT_EVERY events) are the anchor outside
the table that `verify_chain(checkpoints=…)` checks truncation against.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from truss.audit.events import GENESIS, compute_hash
from truss.models import AuditChainHead, AuditEvent

CHECKPOINT_KIND = "truss.audit.checkpoint"


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None  # id of the first event whose link does not hold (0: no row to name)
    reason: str = ""
    chain: str = ""
    chains: int = 0

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def _events(chain: str) -> Iterator[AuditEvent]:
    return AuditEvent.objects.filter(chain=chain).order_by("id").iterator(chunk_size=5000)


def chains() -> list[str]:
    """Every chain that has rows or a head row."""
    names = set(AuditEvent.objects.values_list("chain", flat=True).distinct())
    return sorted(names | set(AuditChainHead.objects.values_list("chain", flat=True)))


def _verify_one(chain: str, anchors: dict[int, str]) -> tuple[int, ChainReport | None]:
    """Walk one chain from its genesis; `anchors` maps event ids a checkpoint vouches for to their hashes."""
    prev = GENESIS
    checked = 0
    last_id: int | None = None
    for event in _events(chain):
        if event.prev_hash != prev:
            return checked, ChainReport(
                checked,
                event.pk,
                "previous hash does not match: a row before it was removed or edited",
                chain,
            )
        if compute_hash(event) != event.hash:
            return checked, ChainReport(
                checked, event.pk, "row content does not match its hash: it was edited", chain
            )
        if event.pk in anchors and anchors.pop(event.pk) != event.hash:
            return checked, ChainReport(
                checked, event.pk, "the chain differs from the signed checkpoint", chain
            )
        prev = event.hash
        last_id = event.pk
        checked += 1
    if anchors:
        missing = min(anchors)
        return checked, ChainReport(
            checked, missing, f"event #{missing} of a signed checkpoint is missing: rows were removed", chain
        )
    head = AuditChainHead.objects.filter(chain=chain).first()
    if head is not None and head.last_hash != prev:
        return checked, ChainReport(
            checked, last_id or 0, "the newest rows were removed: the chain head does not match", chain
        )
    return checked, None


def verify_chain(checkpoints: Iterable[dict[str, Any]] = ()) -> ChainReport:
    """Verify every chain, and that each chain still reaches the position the latest checkpoint recorded for it.

    Raises CheckpointError for a checkpoint whose signature does not hold (forged or for another key)."""
    anchors: dict[str, dict[int, str]] = {}
    latest: dict[str, str] = {}
    for point in checkpoints:
        check_signature(point)
        for name, position in point["chains"].items():
            if point["created_at"] >= latest.get(name, ""):
                latest[name] = point["created_at"]
                anchors[name] = {int(position["last_id"]): str(position["last_hash"])}
    total = 0
    names = sorted(set(chains()) | set(anchors))
    for name in names:
        checked, problem = _verify_one(name, dict(anchors.get(name, {})))
        total += checked
        if problem is not None:
            return ChainReport(total, problem.broken_at, problem.reason, name, len(names))
    return ChainReport(total, None, chains=len(names))


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
