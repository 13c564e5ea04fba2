from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from truss.audit import CheckpointError, OutboxStuck, drain_outbox, read_checkpoints, verify_chain


class Command(BaseCommand):
    help = (
        "Verify every audit chain (one per tenant, one for events without a tenant, the legacy one); exits "
        "non-zero at the first broken link. A chain retention archived is verified from its latest signed cut. "
        "With --checkpoint, also checks that no chain was cut back before the position the latest signed "
        "checkpoint in FILE recorded for it. With --archive, also verifies every archive file retention wrote "
        "(against its signed cut, every hash recomputed), so the whole history from genesis."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoint",
            metavar="FILE",
            help="checkpoints from `manage.py audit_checkpoint` (JSON lines; log lines holding them work too)",
        )
        parser.add_argument(
            "--archive",
            metavar="DIR",
            help="the audit archive directory (AUDIT_ARCHIVE_DIR) or a copy of it: verify the archived history",
        )

    def handle(
        self, *args: Any, checkpoint: str | None = None, archive: str | None = None, **options: Any
    ) -> None:
        points = []
        if checkpoint:
            try:
                points = read_checkpoints(Path(checkpoint).read_text().splitlines())
            except (OSError, CheckpointError) as exc:
                raise CommandError(f"Cannot read checkpoints from {checkpoint}: {exc}") from exc
            if not points:
                raise CommandError(f"No audit checkpoint found in {checkpoint}.")
        if archive and not Path(archive).is_dir():
            raise CommandError(f"No archive directory at {archive}.")
        # Events written ahead by a process that died before chaining them are chained first (exactly once),
        # so the verdict covers everything that was recorded.
        try:
            drained = drain_outbox()
        except OutboxStuck as exc:
            raise CommandError(f"{exc}; see the log for why, then run verify_audit again.") from exc
        if drained:
            self.stdout.write(f"Chained {drained} event(s) waiting in the audit outbox first.")
        try:
            report = verify_chain(points, archive_dir=archive)
        except CheckpointError as exc:
            raise CommandError(f"Checkpoint rejected: {exc}") from exc
        if not report.ok:
            where = f"event #{report.broken_at}" if report.broken_at else "its start"
            raise CommandError(
                f"Audit chain {report.chain!r} broken at {where} ({report.reason}); "
                f"{report.checked + report.archived} events before it verified."
            )
        anchored = f", against {len(points)} signed checkpoint(s)" if points else ""
        cut = f", {report.cuts} of them from a signed retention cut" if report.cuts else ""
        self.stdout.write(
            f"Audit chain intact: {report.checked} events verified in {report.chains} chain(s){cut}{anchored}."
        )
        if archive:
            self.stdout.write(
                f"Archive intact: {report.archived} archived events verified in {report.archives} file(s)."
            )
        elif report.cuts:
            self.stdout.write("Older events are archived: verify them with --archive AUDIT_ARCHIVE_DIR.")
