"""Mark ledger entries whose consent Hydra no longer has (and revive those it has again). Run nightly."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauth2_admin.consents import ledger
from truss.models import Tenant
from truss.ory import http as ory_http


class Command(BaseCommand):
    help = "Check the consent ledger against Hydra: entries Hydra no longer has become 'gone'."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="only this tenant (slug)")
        parser.add_argument("--client", help="only this client id")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = None
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"No tenant {options['tenant']!r}.")
        try:
            report = ledger.reconcile(tenant, options["client"] or None)
        except ory_http.OryError as exc:
            raise CommandError(f"Hydra: {exc}") from exc
        self.stdout.write(
            f"checked {report.subjects} people: {report.gone} consents gone from Hydra, {report.back} back"
        )
