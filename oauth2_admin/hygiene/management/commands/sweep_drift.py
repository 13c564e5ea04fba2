"""Compare every tenant's clients in Hydra with Truss's last known versions; print and record the drifted ones."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauth2_admin.hygiene import drift, snapshot
from oauth2_admin.hygiene.service import all_clients
from truss.models import Tenant
from truss.ory import http as ory_http


class Command(BaseCommand):
    help = (
        "Find clients changed in Hydra outside Truss (admin API, hydra CLI); audit each new drift once; refresh "
        "the hygiene report's findings snapshot from the same listing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="only this tenant's slug")
        parser.add_argument("--dry-run", action="store_true", help="print only; record no audit events")

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.order_by("slug")
        if options["tenant"]:
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"No tenant {options['tenant']!r}.")
        total = 0
        for tenant in tenants:
            try:
                listed = all_clients(tenant)
                found = drift.sweep(tenant, record=not options["dry_run"], listed=listed)
                if not options["dry_run"]:  # the same listing refreshes the report's findings snapshot
                    snapshot.refresh(
                        tenant, listed=listed, drifted={i.client_id: i.fields for i in found}, source="sweep"
                    )
            except ory_http.OryError as exc:
                raise CommandError(f"Hydra could not be read for tenant {tenant.slug}: {exc}") from exc
            for item in found:
                total += 1
                mark = "recorded" if item.recorded else "known"
                self.stdout.write(
                    f"{tenant.slug}\t{item.client_id}\t{item.name}\t{','.join(item.fields)}\t{mark}"
                )
        self.stdout.write(f"{total} drifted client(s)")
