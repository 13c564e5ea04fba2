from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from truss.audit import retention


class Command(BaseCommand):
    help = (
        "Audit retention: archive each chain's events older than AUDIT_RETENTION_DAYS (or --days) to "
        "AUDIT_ARCHIVE_DIR as gzip JSON lines with a signed cut, then remove them from the table in short "
        "batches. Events a configured stream sink has not delivered stay. A run stopped anywhere finishes on the "
        "next. Schedule it (cron, systemd timer); `verify_audit --archive DIR` verifies the whole history."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="keep this many days (default: AUDIT_RETENTION_DAYS)")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=retention.BATCH_SIZE,
            help=f"events removed per transaction (default {retention.BATCH_SIZE})",
        )
        parser.add_argument(
            "--pause", type=float, default=0.0, help="seconds to wait between delete batches (default 0)"
        )
        parser.add_argument("--archive-dir", help="where archives go (default: AUDIT_ARCHIVE_DIR)")
        parser.add_argument("--chain", action="append", help="only this chain (repeatable), e.g. tenant:3")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be archived; change nothing"
        )

    def handle(
        self,
        *args: Any,
        days: int | None = None,
        batch_size: int = retention.BATCH_SIZE,
        pause: float = 0.0,
        archive_dir: str | None = None,
        chain: list[str] | None = None,
        dry_run: bool = False,
        **options: Any,
    ) -> None:
        keep = settings.AUDIT_RETENTION_DAYS if days is None else days
        if not keep:
            self.stdout.write("Audit retention is off (AUDIT_RETENTION_DAYS is 0): nothing archived.")
            return
        if pause < 0:
            raise CommandError("--pause must not be negative")
        try:
            report = retention.run(
                retention.cutoff_for(keep),
                batch_size=batch_size,
                pause=pause,
                directory=Path(archive_dir) if archive_dir else None,
                chains=chain,
                dry_run=dry_run,
                progress=self.stdout.write,
            )
        except retention.RetentionError as exc:
            raise CommandError(str(exc)) from exc
        self._summary(report, keep)

    def _summary(self, report: retention.RetentionReport, keep: int) -> None:
        when = report.cutoff.strftime("%Y-%m-%d %H:%M UTC")
        for outcome in report.chains:
            if outcome.held_back:
                self.stdout.write(f"{outcome.chain}: {outcome.held_back}")
            if outcome.error:
                self.stderr.write(f"{outcome.chain}: {outcome.error}")
        if report.dry_run:
            self.stdout.write(
                f"Dry run: {report.archived:,} events older than {when} ({keep} days) would go."
            )
            return
        self.stdout.write(
            f"Archived {report.archived:,} and removed {report.deleted:,} events older than {when} "
            f"({keep} days) in {sum(c.changed for c in report.chains)} chain(s); "
            f"{report.rows_per_second:,.0f} rows/s removed, longest batch {report.longest_batch:.3f} s."
        )
        if not report.ok:
            raise CommandError(
                "Audit retention failed for some chains (above); nothing of theirs was removed."
            )
