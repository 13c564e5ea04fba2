from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from truss.audit import rollup
from truss.models import Tenant


class Command(BaseCommand):
    help = (
        "The audit log's daily rollup (events per tenant, UTC day, action and outcome; the overview's charts read "
        "it). --check compares it with the events and exits non-zero where they differ; --rebuild recounts it from "
        "the events (idempotent, safe while events are written): once after upgrading to the release that added "
        "it, or to repair it. Days partly archived by retention are left as they are."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--rebuild", action="store_true", help="recount the rollup from the audit events")
        what.add_argument("--check", action="store_true", help="compare the rollup with the audit events")
        parser.add_argument("--tenant", metavar="SLUG", action="append", help="only this tenant (repeatable)")

    def handle(
        self, *args: Any, rebuild: bool, check: bool, tenant: list[str] | None, **options: Any
    ) -> None:
        tenants = list(Tenant.objects.order_by("pk"))
        if tenant:
            tenants = [t for t in tenants if t.slug in tenant]
            missing = sorted(set(tenant) - {t.slug for t in tenants})
            if missing:
                raise CommandError(f"No such tenant: {', '.join(missing)}")
        if rebuild:
            for slug, groups in rollup.rebuild_all(tenants).items():
                self.stdout.write(f"{slug}: {groups} group(s) counted")
            return
        wrong = 0
        for one in tenants:
            for group, (rolled, counted) in sorted(rollup.differences(one).items()):
                wrong += 1
                self.stdout.write(
                    f"{one.slug} {group.day} {group.action} {group.outcome}: rollup {rolled}, events {counted}"
                )
        if wrong:
            raise CommandError(f"{wrong} group(s) differ; `manage.py audit_rollup --rebuild` recounts them.")
        self.stdout.write(f"The rollup matches the events of {len(tenants)} tenant(s).")
