"""Mark ledger entries whose consent Hydra no longer has (and revive those it has again). Run nightly.

Walks the ledger person by person in constant memory and resumes a stopped run where it stopped; prints a
progress line every --every people."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauth2_admin.consents import ledger
from oauth2_admin.consents.models import ReconcileRun
from truss.models import Tenant
from truss.ory import http as ory_http

WORKERS = 4  # Hydra lists one person's consents per call: a few calls at once


class Command(BaseCommand):
    help = "Check the consent ledger against Hydra: entries Hydra no longer has become 'gone'."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="only this tenant (slug)")
        parser.add_argument("--client", help="only this client id")
        parser.add_argument(
            "--every", type=int, default=ledger.RECONCILE_CHUNK, help="a progress line every N people"
        )
        parser.add_argument(
            "--workers", type=int, default=WORKERS, help="people asked of Hydra at once (1-16)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = None
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"No tenant {options['tenant']!r}.")
        if options["every"] < 1:
            raise CommandError("--every must be at least 1.")
        if not 1 <= options["workers"] <= 16:
            raise CommandError("--workers must be between 1 and 16.")
        started, baseline = time.monotonic(), [-1]

        def progress(run: ReconcileRun) -> None:
            if baseline[0] < 0:  # the first call, before any person: where this run starts
                baseline[0] = run.subjects
            seconds = max(time.monotonic() - started, 1e-6)
            what = (
                f"{run.subjects} of {run.expected} people" if run.running else f"{run.subjects} people, done"
            )
            self.stdout.write(
                f"progress\t{what}\t{run.gone} gone\t{run.back} back\t"
                f"{(run.subjects - baseline[0]) / seconds:.0f} people/s\t{seconds:.1f} s"
            )

        try:
            report = ledger.reconcile(
                tenant,
                options["client"] or None,
                progress=progress,
                every=options["every"],
                workers=options["workers"],
            )
        except ory_http.OryError as exc:
            raise CommandError(f"Hydra: {exc} (run it again: it resumes where it stopped)") from exc
        except ledger.ReconcileBusy as exc:
            raise CommandError(str(exc)) from exc
        if report.resumed_at:
            self.stdout.write(f"resumed a stopped run after {report.resumed_at} people")
        self.stdout.write(
            f"checked {report.subjects} people: {report.gone} consents gone from Hydra, {report.back} back"
        )
