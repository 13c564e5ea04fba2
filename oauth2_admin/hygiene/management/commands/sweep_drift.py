"""Walk every tenant's clients in Hydra, page by page: print and record the drifted ones, refresh the findings
snapshot and the client counts. Resumable: a sweep that was stopped goes on where it stopped."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauth2_admin.hygiene import drift, fleet
from oauth2_admin.hygiene.models import SweepRun
from truss.models import Tenant
from truss.ory import http as ory_http
from truss.ory import hydra

WAIT_SECONDS = 2


class Command(BaseCommand):
    help = (
        "Find clients changed in Hydra outside Truss (admin API, hydra CLI); audit each new drift once; refresh "
        "the hygiene report's findings snapshot and the client counts from the same walk. Walks Hydra page by "
        "page in constant memory and resumes a stopped sweep where it stopped; prints progress lines."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="only this tenant's slug")
        parser.add_argument("--dry-run", action="store_true", help="print only; record and store nothing")
        parser.add_argument(
            "--page-size", type=int, default=hydra.FLEET_PAGE, help="clients per Hydra page (1-500)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenants = Tenant.objects.order_by("slug")
        if options["tenant"]:
            tenants = tenants.filter(slug=options["tenant"])
            if not tenants.exists():
                raise CommandError(f"No tenant {options['tenant']!r}.")
        size = options["page_size"]
        if not 1 <= size <= hydra.FLEET_PAGE:
            raise CommandError(f"--page-size must be between 1 and {hydra.FLEET_PAGE}.")
        total = 0
        for tenant_id in list(tenants.values_list("pk", flat=True)):
            tenant = Tenant.objects.get(pk=tenant_id)
            try:
                if options["dry_run"]:
                    found = drift.sweep(tenant, record=False)
                    self.print_found(found)
                    total += len(found)
                else:
                    total += self.walk(tenant, size)
            except ory_http.OryError as exc:
                raise CommandError(
                    f"Hydra could not be read for tenant {tenant.slug}: {exc} (run the sweep again: it resumes)"
                ) from exc
        self.stdout.write(f"{total} drifted client(s)")

    def walk(self, tenant: Tenant, size: int) -> int:
        under_way = fleet.running(tenant)
        if under_way is not None and under_way.records:
            self.stdout.write(
                f"progress\t{tenant.slug}\tresuming at client {under_way.done} (page {under_way.pages + 1})"
            )
        started, at_start = time.monotonic(), under_way.done if under_way and under_way.records else 0
        drifted = 0

        def found(items: Sequence[drift.SweepResult]) -> None:
            nonlocal drifted
            drifted += len(items)
            self.print_found(items)

        def progress(run: SweepRun) -> None:
            seconds = max(time.monotonic() - started, 1e-6)
            rate = (run.done - at_start) / seconds
            what = (
                f"{run.done} of about {max(run.expected, run.done)} clients"
                if run.running
                else f"{run.done} clients, done"
            )
            self.stdout.write(
                f"progress\t{tenant.slug}\t{what}\t{run.pages} pages\t{run.drifted} drifted\t"
                f"{rate:.0f} clients/s\t{seconds:.1f} s"
            )

        while True:
            try:
                run = fleet.walk(
                    tenant, source="sweep", records=True, page_size=size, progress=progress, found=found
                )
            except fleet.Lost:
                self.stdout.write(f"progress\t{tenant.slug}\ttaken over by another process")
                return drifted
            if not run.running:
                return drifted
            # Another process holds the walk: wait for it to end, or for its lease to run out (then resume it).
            self.stdout.write(
                f"progress\t{tenant.slug}\tanother process is walking it ({run.done} done); waiting"
            )
            time.sleep(WAIT_SECONDS)
            if not SweepRun.objects.filter(pk=run.pk, state=SweepRun.State.RUNNING).exists():
                return drifted

    def print_found(self, found: Sequence[drift.SweepResult]) -> None:
        for item in found:
            mark = "recorded" if item.recorded else "known"
            self.stdout.write(
                f"{item.tenant.slug}\t{item.client_id}\t{item.name}\t{','.join(item.fields)}\t{mark}"
            )
