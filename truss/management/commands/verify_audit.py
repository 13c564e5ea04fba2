from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from truss.audit import verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exits non-zero at the first broken link."

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at event #{report.broken_at} ({report.reason}); "
                f"{report.checked} events before it verified."
            )
        self.stdout.write(f"Audit chain intact: {report.checked} events verified.")
