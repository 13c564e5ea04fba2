"""Delete in Hydra the trusted jwt-bearer issuers whose expiry passed (Hydra v2.3.0 does not enforce it for an
assertion naming the key's kid). Schedule it often: the time between two runs is how long an expired trust still
works. Each removal is audited (``oauth2.trust.expire``, actor ``system``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oauth2_admin.trust import service as trust
from truss.models import Tenant


class Command(BaseCommand):
    help = "Delete expired trusted jwt-bearer issuers in Hydra (each removal audited as oauth2.trust.expire)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", help="only this tenant's trusts (slug)")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = None
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"No tenant {options['tenant']!r}.")
        report = trust.expire_due(tenant, via="expire_trusts")
        self.stdout.write(f"removed {len(report.removed)} expired trusts from Hydra")
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} expired trusts could not be removed (Hydra unreachable?); "
                "they are retried on the next run: " + ", ".join(report.failed)
            )
